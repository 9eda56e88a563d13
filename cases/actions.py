"""Writes for cases (转办件). Each action is one transaction; chat lines are published after commit."""

import dataclasses

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from chat import actions as chat_actions
from chat import selectors as chat_selectors
from chat.models import Conversation, Message
from chat.models import Status as ConversationStatus
from departments.calendar import due_moment, due_text
from departments.models import Department, Window
from infra.errors import DomainError
from sms import notices as sms_notices

from . import numbers, referrals, selectors
from .models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, EventKind, TargetKind

# Working days each target has for its answer (办理期限); a deployment may override it with
# settings.CASE_DUE_WORKING_DAYS (same keys).
DUE_WORKING_DAYS = {TargetKind.GOVERNOR_MAILBOX: 15, TargetKind.DIRECTOR_MAILBOX: 15, TargetKind.DEPARTMENT: 5}
QUESTION_MAX = 2000
NOTE_MAX = 1000
REPLY_MAX = 5000
REASON_MAX = 500
# Room left in a chat line (2,000 characters) for the reply after the heading and the pointer.
_NOTICE_REPLY_MAX = 1500


class CaseError(DomainError):
    """A request the case rules refuse."""


@dataclasses.dataclass(frozen=True)
class Escalation:
    case: Case
    query_code: str  # shown once, in the officer's message to the citizen; only its digest is stored
    message: Message


def due_working_days(target_kind: str) -> int:
    """Return the working days a target has to answer: DUE_WORKING_DAYS or the settings' override."""
    days = getattr(settings, "CASE_DUE_WORKING_DAYS", DUE_WORKING_DAYS)
    value = days.get(target_kind, DUE_WORKING_DAYS[target_kind])
    if not isinstance(value, int) or value < 1:
        raise CaseError(f"办理期限配置有误：{target_kind} 必须是正整数。", "config")
    return value


def _text(value, *, field: str, maximum: int, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise CaseError(f"请填写{field}。")
    if len(text) > maximum:
        raise CaseError(f"{field}最多 {maximum} 个字。")
    return text


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("lead_unit", "target_department", "source_conversation")
        .get(pk=case.pk)
    )


def _authorize(user, case: Case) -> None:
    if not selectors.may_handle(user, case):
        raise CaseError("您无权办理这个转办件。", "forbidden")


def _record(case: Case, *, kind: str, actor, from_status: str, note: str = "") -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=case.status,
        department=case.lead_unit,
        note=note,
    )


def _tell_citizen(case: Case, body: str) -> None:
    """Post a system line into the case's source conversation, open or closed: live and in 我的咨询."""
    if case.source_conversation_id is None:
        return
    chat_actions.post_system_notice(conversation=case.source_conversation, body=body)


def _active_department(department) -> Department:
    if not isinstance(department, Department) or not department.is_active:
        raise CaseError("请选择一个有效的部门。")
    return department


# Escalation --------------------------------------------------------------------------------------


def _question_from_chat(conversation: Conversation) -> str:
    bodies = list(chat_selectors.citizen_messages(conversation).order_by("-seq").values_list("body", flat=True)[:10])
    return "\n".join(reversed(bodies))[:QUESTION_MAX]


def _escalation_text(case: Case, query_code: str, days: int) -> str:
    if case.target_kind == TargetKind.GOVERNOR_MAILBOX:
        process = "省政府办公厅信息中心将交有关部门办理，"
    else:
        process = f"{case.lead_unit.name}受理后办理，"
    return (
        f"您的问题已转交{case.target_label}办理。\n"
        f"受理编号：{case.tracking_number}\n"
        f"查询码：{query_code}（请妥善保存，查询办理结果时需要）\n"
        f"办理流程：{process}答复会出现在“我的咨询”中，并在本对话中通知您。\n"
        f"办理期限：{due_text(case.due_at)}（{days} 个工作日内）\n"
        f"查询方式：登录后在“我的咨询”查看，或打开 {reverse('cases:lookup')} 输入受理编号和查询码查询。"
    )


def escalate_conversation(
    *, conversation: Conversation, officer, target_kind, department=None, question="", note=""
) -> Escalation:
    """Turn a consultation into a case addressed to 省长信箱, a 厅长信箱 or a department.

    The officer's message with the tracking number, the query code, the process, the due date and
    the way to look it up is sent into the chat in the same transaction.
    """
    if not officer.is_officer or not chat_selectors.officer_may_serve(officer, conversation.window_id):
        raise CaseError("您不是这个窗口的值班人员。", "forbidden")
    if target_kind not in TargetKind.values:
        raise CaseError("请选择转办对象：省长信箱、厅长信箱或部门。")
    if target_kind == TargetKind.GOVERNOR_MAILBOX:
        department = None
    elif department is None:
        raise CaseError("请选择收件部门。")
    else:
        department = _active_department(department)
    question = _text(question, field="问题摘要", maximum=QUESTION_MAX)
    note = _text(note, field="内部备注", maximum=NOTE_MAX)
    days = due_working_days(target_kind)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",)).select_related("window").get(pk=conversation.pk)
        )
        if conversation.status == ConversationStatus.CLOSED:
            raise CaseError("该会话已结束，不能转为信件办理。", "closed")
        if conversation.officer_id not in (None, officer.id):
            raise CaseError("这个会话由其他值班人员接待。", "forbidden")
        question = question or _question_from_chat(conversation)
        if not question:
            raise CaseError("市民还没有提问，请填写问题摘要。")
        duplicate = (
            Case.objects.filter(
                source_conversation=conversation,
                target_kind=target_kind,
                target_department=department,
                status__in=OPEN_STATUSES,
            )
            .values_list("tracking_number", flat=True)
            .first()
        )
        if duplicate:
            raise CaseError(f"该会话已转为信件办理（受理编号 {duplicate}），请勿重复转办。", "conflict")
        now = timezone.now()
        query_code = numbers.new_query_code()
        tracking_number = numbers.allocate_tracking_number(now)
        case = Case.objects.create(
            tracking_number=tracking_number,
            query_code_hash=numbers.hash_query_code(tracking_number, query_code),
            target_kind=target_kind,
            target_department=department,
            lead_unit=department,
            source_conversation=conversation,
            citizen=conversation.citizen,
            question=question,
            escalated_by=officer,
            internal_note=note,
            due_at=due_moment(now, working_days=days),
            created_at=now,
        )
        _record(case, kind=EventKind.ESCALATED, actor=officer, from_status="", note=note)
        try:
            message, _created = chat_actions.send_message(
                conversation=conversation,
                sender=officer,
                body=_escalation_text(case, query_code, days),
                client_id=f"case-{case.id}",
            )
        except chat_actions.ChatError as error:
            raise CaseError(error.message, error.code) from None
    return Escalation(case=case, query_code=query_code, message=message)


# Workflow of the receiving unit ------------------------------------------------------------------


@transaction.atomic
def accept_case(*, case: Case, by) -> Case:
    """Accept a case (受理): the lead unit starts working on it."""
    case = _locked(case)
    _authorize(by, case)
    if case.status != CaseStatus.PENDING:
        raise CaseError(f"只有待受理的转办件可以受理，当前状态：{case.get_status_display()}。", "conflict")
    if case.lead_unit_id is None and not by.is_supervisor:
        raise CaseError("请先指定承办单位。")
    before = case.status
    case.status = CaseStatus.PROCESSING
    case.accepted_at = timezone.now()
    case.save(update_fields=["status", "accepted_at"])
    _record(case, kind=EventKind.ACCEPTED, actor=by, from_status=before)
    sms_notices.notify_case(case=case, state="accepted")
    unit = case.lead_unit.name if case.lead_unit_id else "省政府办公厅信息中心"
    _tell_citizen(case, f"您的转办件（受理编号 {case.tracking_number}）已由{unit}受理，正在办理。")
    return case


@transaction.atomic
def reply_case(*, case: Case, by, reply) -> Case:
    """Publish the answer (答复): the citizen gets it in the chat, in 我的咨询 and on the lookup page."""
    case = _locked(case)
    _authorize(by, case)
    reply = _text(reply, field="答复内容", maximum=REPLY_MAX, required=True)
    if case.status == CaseStatus.PENDING:
        raise CaseError("请先受理，再答复。", "conflict")
    if case.status != CaseStatus.PROCESSING:
        raise CaseError(f"只有办理中的转办件可以答复，当前状态：{case.get_status_display()}。", "conflict")
    before = case.status
    case.status = CaseStatus.REPLIED
    case.reply = reply
    case.replied_by = by
    case.replied_at = timezone.now()
    case.save(update_fields=["status", "reply", "replied_by", "replied_at"])
    _record(case, kind=EventKind.REPLIED, actor=by, from_status=before)
    sms_notices.notify_case(case=case, state="replied")
    shown = reply if len(reply) <= _NOTICE_REPLY_MAX else reply[:_NOTICE_REPLY_MAX] + "……"
    unit = case.lead_unit.name if case.lead_unit_id else "省政府办公厅信息中心"
    _tell_citizen(
        case,
        f"您的转办件（受理编号 {case.tracking_number}）已答复。\n{unit}答复：\n{shown}\n"
        f"完整答复可在“我的咨询”或 {reverse('cases:lookup')} 查看。",
    )
    return case


@transaction.atomic
def close_case(*, case: Case, by) -> Case:
    """Close a replied case (办结)."""
    case = _locked(case)
    _authorize(by, case)
    if case.status == CaseStatus.CLOSED:
        raise CaseError("该转办件已经办结。", "conflict")
    if case.status == CaseStatus.RETURNED:
        raise CaseError("已退回的转办件不能办结；如需继续办理，请信息中心重新指定承办单位。", "conflict")
    if case.status != CaseStatus.REPLIED:
        raise CaseError("尚未答复的转办件不能办结，请先答复。", "conflict")
    before = case.status
    case.status = CaseStatus.CLOSED
    case.closed_at = timezone.now()
    case.save(update_fields=["status", "closed_at"])
    _record(case, kind=EventKind.CLOSED, actor=by, from_status=before)
    sms_notices.notify_case(case=case, state="closed")
    _tell_citizen(case, f"您的转办件（受理编号 {case.tracking_number}）已办结。感谢您的耐心。")
    return case


@transaction.atomic
def return_case(*, case: Case, by, reason) -> Case:
    """Return a case (退回) with a reason the citizen is told."""
    case = _locked(case)
    _authorize(by, case)
    reason = _text(reason, field="退回原因", maximum=REASON_MAX, required=True)
    if case.status not in OPEN_STATUSES:
        raise CaseError(f"只有待受理或办理中的转办件可以退回，当前状态：{case.get_status_display()}。", "conflict")
    before = case.status
    case.status = CaseStatus.RETURNED
    case.return_reason = reason
    case.returned_at = timezone.now()
    case.save(update_fields=["status", "return_reason", "returned_at"])
    _record(case, kind=EventKind.RETURNED, actor=by, from_status=before, note=reason)
    sms_notices.notify_case(case=case, state="returned")
    _tell_citizen(case, f"您的转办件（受理编号 {case.tracking_number}）已退回。退回原因：{reason}")
    return case


@transaction.atomic
def pass_on_case(*, case: Case, by, to_department, note="") -> Case:
    """Pass a case on (转交) to another department, which must accept it anew."""
    case = _locked(case)
    _authorize(by, case)
    to_department = _active_department(to_department)
    note = _text(note, field="转交说明", maximum=NOTE_MAX)
    if case.status not in OPEN_STATUSES:
        raise CaseError(f"只有待受理或办理中的转办件可以转交，当前状态：{case.get_status_display()}。", "conflict")
    if to_department.id == case.lead_unit_id:
        raise CaseError("不能转交给当前承办单位，请选择其他部门。")
    before = case.status
    case.lead_unit = to_department
    case.status = CaseStatus.PENDING
    case.accepted_at = None
    case.pass_on_count += 1
    case.save(update_fields=["lead_unit", "status", "accepted_at", "pass_on_count"])
    _record(case, kind=EventKind.PASSED_ON, actor=by, from_status=before, note=note)
    _tell_citizen(case, f"您的转办件（受理编号 {case.tracking_number}）已转交{to_department.name}办理。")
    return case


@transaction.atomic
def assign_lead_unit(*, case: Case, by, department, note="") -> Case:
    """Let the information center name the lead unit of a case, or reopen a returned one with a new unit."""
    case = _locked(case)
    if not by.is_authenticated or not by.is_supervisor:
        raise CaseError("只有信息中心可以指定承办单位。", "forbidden")
    department = _active_department(department)
    note = _text(note, field="说明", maximum=NOTE_MAX)
    if case.status not in (CaseStatus.PENDING, CaseStatus.RETURNED):
        raise CaseError(
            f"只有待受理或已退回的转办件可以指定承办单位，当前状态：{case.get_status_display()}。", "conflict"
        )
    before = case.status
    case.lead_unit = department
    case.status = CaseStatus.PENDING
    case.accepted_at = None
    case.save(update_fields=["lead_unit", "status", "accepted_at"])
    _record(case, kind=EventKind.ASSIGNED, actor=by, from_status=before, note=note)
    _tell_citizen(case, f"您的转办件（受理编号 {case.tracking_number}）已交由{department.name}办理。")
    return case


# Referral ---------------------------------------------------------------------------------------


def send_referral(
    *, conversation: Conversation, officer, department, window: Window | None = None, client_id=""
) -> Message:
    """Send the contact card of a unit of the directory into the chat as the officer (推荐联系方式)."""
    if not officer.is_officer:
        raise CaseError("只有值班人员可以推荐联系方式。", "forbidden")
    department = _active_department(department)
    if window is not None and (window.department_id != department.id or not window.is_active):
        raise CaseError("所选窗口不属于该部门。")
    try:
        message, _created = chat_actions.send_message(
            conversation=conversation,
            sender=officer,
            body=referrals.contact_card(department, window),
            client_id=client_id,
        )
    except chat_actions.ChatError as error:
        raise CaseError(error.message, error.code) from None
    return message
