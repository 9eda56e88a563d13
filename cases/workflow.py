"""The workflow steps of a case (转办件) as one table, for the receiving unit's desk and the admin.

Each step reads its fields from a posted form and calls one action; the action checks who may do it
and whether the case's status allows it.
"""

import dataclasses
from collections.abc import Callable, Mapping

from . import actions, selectors
from .models import Case


@dataclasses.dataclass(frozen=True)
class Step:
    run: Callable[[Case, object, Mapping[str, str]], Case]  # (case, by, form) -> the updated case
    done: str  # what the user is told when it worked
    supervisors_only: bool = False  # offered in the admin only, never on the officers' desk


STEPS: dict[str, Step] = {
    "accept": Step(lambda case, by, form: actions.accept_case(case=case, by=by), "已受理。"),
    "reply": Step(
        lambda case, by, form: actions.reply_case(case=case, by=by, reply=form.get("reply", "")),
        "答复已发布，市民会收到通知。",
    ),
    "close": Step(lambda case, by, form: actions.close_case(case=case, by=by), "已办结。"),
    "return": Step(
        lambda case, by, form: actions.return_case(case=case, by=by, reason=form.get("reason", "")),
        "已退回，市民会看到退回原因。",
    ),
    "pass_on": Step(
        lambda case, by, form: actions.pass_on_case(
            case=case,
            by=by,
            to_department=selectors.active_department(form.get("department")),
            note=form.get("note", ""),
        ),
        "已转交。",
    ),
    "assign": Step(
        lambda case, by, form: actions.assign_lead_unit(
            case=case, by=by, department=selectors.active_department(form.get("department")), note=form.get("note", "")
        ),
        "已指定承办单位。",
        supervisors_only=True,
    ),
}


def run_step(name: str, *, case: Case, by, form: Mapping[str, str], desk: bool = False) -> str:
    """Run the step named in a posted form and return what to tell the user.

    desk: the officers' desk, which offers no supervisor-only step. Raise CaseError when the step is
    unknown or the action refuses it.
    """
    step = STEPS.get(name)
    if step is None or (desk and step.supervisors_only):
        raise actions.CaseError("不支持的操作。")
    step.run(case, by, form)
    return step.done
