"""Reads for cases: who may handle a case, the desk's list, the citizen's list, the public lookup."""

import datetime
import functools

from django.core.exceptions import PermissionDenied
from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from departments import selectors as department_selectors
from departments.models import Department

from . import numbers
from .models import COORDINATION_PASS_ONS, OPEN_STATUSES, Case, CaseEvent, CaseStatus

# Compared against when a tracking number is unknown, so a wrong number costs the same as a wrong code.
_DUMMY_NUMBER = "ZWT00000000-000000"


@functools.cache
def _dummy_digest() -> str:
    return numbers.hash_query_code(_DUMMY_NUMBER, numbers.new_query_code())


def officer_department_ids(user) -> set[int]:
    """Return the departments the officer works for: those of their active windows."""
    if not user.is_authenticated or not user.is_officer:
        return set()
    return set(user.windows.filter(is_active=True).values_list("department_id", flat=True))


def may_handle(user, case: Case) -> bool:
    """Return whether the user may work on the case: the information center, or an officer of its lead unit."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_supervisor:
        return True
    return case.lead_unit_id is not None and case.lead_unit_id in officer_department_ids(user)


def access_case(user, case_id) -> Case:
    """Return the case if the user may handle it, else raise (404 unknown, 403 someone else's)."""
    if not user.is_authenticated:
        raise PermissionDenied("请先登录。")
    try:
        case = Case.objects.select_related("lead_unit", "target_department", "citizen", "escalated_by").get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404("没有找到这个转办件。") from None
    if not may_handle(user, case):
        raise PermissionDenied("您无权办理这个转办件。")
    return case


def overdue_q(now: datetime.datetime | None = None) -> Q:
    return Q(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())


def coordination_q() -> Q:
    return Q(status=CaseStatus.PENDING, pass_on_count__gte=COORDINATION_PASS_ONS)


def cases_for_officer(officer, *, status: str = "") -> QuerySet[Case]:
    """Return the cases led by the officer's departments, open ones by due date first."""
    qs = Case.objects.filter(lead_unit_id__in=officer_department_ids(officer)).select_related(
        "lead_unit", "target_department"
    )
    if status == "overdue":
        qs = qs.filter(overdue_q())
    elif status in CaseStatus.values:
        qs = qs.filter(status=status)
    # Cases still owing an answer first, earliest due first; answered and finished ones after them.
    waiting = SqlCase(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.order_by(waiting, "due_at", "id")


def cases_of_citizen(user) -> QuerySet[Case]:
    """Return the citizen's cases, newest first."""
    if not user.is_authenticated:
        return Case.objects.none()
    return Case.objects.filter(citizen=user).select_related("lead_unit", "target_department").order_by("-created_at")


def events_of(case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor", "department").order_by("created_at", "id")


def lookup_case(tracking_number, query_code) -> Case | None:
    """Return the case when both the number and the code are right, else None.

    Exactly one digest is compared whether the number exists or not, so neither the answer nor its
    timing tells a stranger which numbers exist.
    """
    number = numbers.normalize_tracking_number(tracking_number)
    case = None
    if numbers.TRACKING_NUMBER.match(number):
        case = Case.objects.select_related("lead_unit", "target_department").filter(tracking_number=number).first()
    if case is None:
        numbers.query_code_matches(_DUMMY_NUMBER, query_code, _dummy_digest())
        return None
    if not numbers.query_code_matches(case.tracking_number, query_code, case.query_code_hash):
        return None
    return case


def directory() -> QuerySet[Department]:
    """Return the active departments with their active windows, for the desk's pickers."""
    return department_selectors.directory()


def active_department(value) -> Department | None:
    """Return the active department with the id given in a form or a JSON body, or None."""
    try:
        return Department.objects.get(pk=int(value), is_active=True)
    except (Department.DoesNotExist, TypeError, ValueError):
        return None
