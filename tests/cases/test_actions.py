"""Cases from escalation to closing: numbers, due dates, the messages the citizen gets, every refusal."""

import datetime
import re

import pytest
from django.utils import timezone

from cases import actions, selectors
from cases.models import Case, CaseEvent, CaseStatus, TargetKind
from chat.models import Message
from departments.actions import seed_calendar_from_package
from departments.calendar import due_moment
from tests import factories

pytestmark = pytest.mark.django_db


def escalate(conversation, officer, target_kind, department=None, **kwargs):
    return actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=target_kind, department=department, **kwargs
    )


def last_message(conversation) -> Message:
    return Message.objects.filter(conversation=conversation).order_by("-seq").first()


def test_escalation_sends_tracking_message_into_chat_after_commit(
    conversation, officer, police, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        escalation = escalate(conversation, officer, TargetKind.DEPARTMENT, police, note="涉及跨省迁移，请户政处答复")
    case = escalation.case
    assert re.fullmatch(rf"ZWT{timezone.localdate():%Y%m%d}-000001", case.tracking_number)
    assert re.fullmatch(r"[23456789A-HJKMNP-Z]{6}", escalation.query_code)
    # Persisted before anything is published: the message row is there, its event waits for the commit.
    message = last_message(conversation)
    assert message.pk == escalation.message.pk
    assert message.sender == officer and message.sender_kind == "officer"
    assert message.client_id == f"case-{case.id}"
    for text in (case.tracking_number, escalation.query_code, "省公安厅", "/cases/lookup/", "我的咨询", "5 个工作日"):
        assert text in message.body
    assert "户政处" not in message.body  # the internal note stays internal
    assert len(callbacks) >= 1
    sent = []
    from chat import events

    original = events._send
    events._send = lambda groups, payload: sent.append((groups, payload))
    try:
        for callback in callbacks:
            callback()
    finally:
        events._send = original
    new_messages = [(groups, p) for groups, p in sent if p["type"] == "message.new"]
    assert len(new_messages) == 1
    groups, payload = new_messages[0]
    assert f"conv.{conversation.id}" in groups
    assert payload["message"]["seq"] == message.seq
    assert case.tracking_number in payload["message"]["body"]


def test_query_code_is_stored_only_as_a_digest(conversation, officer, police):
    escalation = escalate(conversation, officer, TargetKind.DEPARTMENT, police)
    case = Case.objects.get(pk=escalation.case.pk)
    assert escalation.query_code not in case.query_code_hash
    assert len(case.query_code_hash) == 64
    assert selectors.lookup_case(case.tracking_number, escalation.query_code.lower()) == case


def test_department_case_whole_path(conversation, officer, police, labour, django_capture_on_commit_callbacks):
    handler = factories.officer(factories.window(police, name="户政"))
    escalation = escalate(conversation, officer, TargetKind.DEPARTMENT, police)
    case = escalation.case
    assert case.lead_unit == police and case.target_department == police
    assert case.status == CaseStatus.PENDING
    assert case.due_at == due_moment(case.created_at, working_days=5)

    actions.accept_case(case=case, by=handler)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        actions.reply_case(case=case, by=handler, reply="请携带户口迁移证明到原籍派出所办理。")
    notice = last_message(conversation)
    assert notice.sender_kind == "system"
    assert case.tracking_number in notice.body and "请携带户口迁移证明" in notice.body
    assert len(callbacks) >= 1
    actions.close_case(case=case, by=handler)

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.reply == "请携带户口迁移证明到原籍派出所办理。"
    assert case.replied_by == handler and case.replied_at and case.closed_at
    steps = list(case.events.values_list("kind", "from_status", "to_status", "actor"))
    assert steps == [
        ("escalated", "", "pending", officer.id),
        ("accepted", "pending", "processing", handler.id),
        ("replied", "processing", "replied", handler.id),
        ("closed", "replied", "closed", handler.id),
    ]


def test_director_mailbox_case_whole_path(conversation, officer, police):
    handler = factories.officer(factories.window(police, name="厅长信箱"))
    case = escalate(conversation, officer, TargetKind.DIRECTOR_MAILBOX, police).case
    assert case.target_label == "省公安厅厅长信箱"
    assert case.lead_unit == police
    assert case.due_at == due_moment(case.created_at, working_days=15)
    assert "省公安厅厅长信箱" in last_message(conversation).body
    actions.accept_case(case=case, by=handler)
    actions.reply_case(case=case, by=handler, reply="已转户政部门核实，核实后可直接办理。")
    actions.close_case(case=case, by=handler)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def test_governor_mailbox_case_is_led_by_the_information_center(conversation, officer, police, supervisor, settings):
    settings.CASE_DUE_WORKING_DAYS = {"governor_mailbox": 10, "director_mailbox": 15, "department": 5}
    escalation = escalate(conversation, officer, TargetKind.GOVERNOR_MAILBOX, police)
    case = escalation.case
    assert case.target_department is None and case.lead_unit is None
    assert case.due_at == due_moment(case.created_at, working_days=10)
    body = escalation.message.body
    assert "省长信箱" in body and "信息中心" in body and "10 个工作日" in body
    # Nobody but the information center can act on it until a lead unit is named.
    with pytest.raises(actions.CaseError, match="无权"):
        actions.accept_case(case=case, by=officer)
    actions.accept_case(case=case, by=supervisor)
    actions.reply_case(case=case, by=supervisor, reply="省长信箱已收悉，已交省公安厅研究办理。")
    actions.close_case(case=case, by=supervisor)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert "已办结" in last_message(conversation).body


def test_due_date_crosses_national_day_holiday(conversation, officer, police, monkeypatch):
    seed_calendar_from_package()
    escalated = timezone.make_aware(datetime.datetime(2026, 9, 30, 10, 0))
    monkeypatch.setattr(timezone, "now", lambda: escalated)
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    # 10-1..10-7 off, 10-8 Thu, 10-9 Fri, 10-10 Sat make-up working day, 10-11 Sun off, 10-12, 10-13.
    assert timezone.localtime(case.due_at).date() == datetime.date(2026, 10, 13)
    assert case.tracking_number.startswith("ZWT20260930-")
    assert "2026年10月13日" in last_message(conversation).body


def test_closing_a_case_that_was_never_replied_is_refused(conversation, officer, police):
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    handler = factories.officer(factories.window(police))
    with pytest.raises(actions.CaseError, match="尚未答复的转办件不能办结，请先答复。"):
        actions.close_case(case=case, by=handler)
    with pytest.raises(actions.CaseError, match="请先受理，再答复。"):
        actions.reply_case(case=case, by=handler, reply="答复")
    actions.accept_case(case=case, by=handler)
    with pytest.raises(actions.CaseError, match="只有待受理的转办件可以受理"):
        actions.accept_case(case=case, by=handler)
    with pytest.raises(actions.CaseError, match="请填写答复内容。"):
        actions.reply_case(case=case, by=handler, reply="   ")
    with pytest.raises(actions.CaseError, match="尚未答复的转办件不能办结"):
        actions.close_case(case=case, by=handler)
    case.refresh_from_db()
    assert case.status == CaseStatus.PROCESSING
    assert case.events.count() == 2


def test_return_needs_a_reason_and_tells_the_citizen(conversation, officer, police, supervisor, labour):
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    with pytest.raises(actions.CaseError, match="请填写退回原因。"):
        actions.return_case(case=case, by=officer, reason=" ")
    actions.return_case(case=case, by=officer, reason="该问题属于县级公安机关办理范围，请向户籍所在地派出所咨询。")
    case.refresh_from_db()
    assert case.status == CaseStatus.RETURNED
    assert "退回原因：该问题属于县级公安机关" in last_message(conversation).body
    with pytest.raises(actions.CaseError, match="已退回的转办件不能办结"):
        actions.close_case(case=case, by=officer)
    with pytest.raises(actions.CaseError, match="只有信息中心"):
        actions.assign_lead_unit(case=case, by=officer, department=labour)
    # The information center can reopen it with another lead unit.
    actions.assign_lead_unit(case=case, by=supervisor, department=labour, note="请劳动保障厅答复")
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING and case.lead_unit == labour
    event = case.events.order_by("-id").first()
    assert (event.kind, event.from_status, event.to_status, event.department) == (
        "assigned",
        "returned",
        "pending",
        labour,
    )


def test_pass_on_count_and_coordination_flag_at_three(conversation, officer, police, labour):
    units = [labour, factories.department(name="省人事厅"), factories.department(name="省建设厅"), police]
    handlers = {unit.id: factories.officer(factories.window(unit)) for unit in units}
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    current = police
    for count, unit in enumerate(units[:3], start=1):
        actions.pass_on_case(case=case, by=handlers.get(current.id, officer), to_department=unit, note=f"第{count}次")
        current = unit
        case.refresh_from_db()
        assert case.pass_on_count == count
        assert case.needs_coordination is (count >= 3)
        assert (case in Case.objects.filter(selectors.coordination_q())) is (count >= 3)
    assert "已转交省建设厅办理" in last_message(conversation).body
    with pytest.raises(actions.CaseError, match="不能转交给当前承办单位"):
        actions.pass_on_case(case=case, by=handlers[current.id], to_department=current)
    # Once a unit accepts, the information center no longer needs to step in.
    actions.accept_case(case=case, by=handlers[current.id])
    case.refresh_from_db()
    assert not case.needs_coordination
    assert not Case.objects.filter(selectors.coordination_q()).exists()


def test_overdue_cases_are_listed(conversation, officer, police):
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    assert not Case.objects.filter(selectors.overdue_q()).exists()
    later = case.due_at + datetime.timedelta(seconds=1)
    assert list(Case.objects.filter(selectors.overdue_q(later))) == [case]
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    case.refresh_from_db()
    assert case.is_overdue


def test_officer_of_another_department_cannot_act(conversation, officer, police, labour_officer):
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    for step in (
        lambda: actions.accept_case(case=case, by=labour_officer),
        lambda: actions.return_case(case=case, by=labour_officer, reason="不是我们的"),
        lambda: actions.pass_on_case(case=case, by=labour_officer, to_department=police),
    ):
        with pytest.raises(actions.CaseError, match="您无权办理这个转办件。"):
            step()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING and case.events.count() == 1


def test_bad_escalations_save_nothing(conversation, officer, police, labour_officer, citizen):
    before_messages = Message.objects.count()
    refusals = [
        (dict(officer=officer, target_kind="mayor"), "请选择转办对象"),
        (dict(officer=officer, target_kind=TargetKind.DEPARTMENT), "请选择收件部门。"),
        (
            dict(officer=officer, target_kind=TargetKind.DIRECTOR_MAILBOX, department=police, note="备" * 1001),
            "内部备注最多 1000 个字。",
        ),
        (
            dict(officer=labour_officer, target_kind=TargetKind.DEPARTMENT, department=police),
            "您不是这个窗口的值班人员。",
        ),
        (dict(officer=citizen, target_kind=TargetKind.DEPARTMENT, department=police), "您不是这个窗口的值班人员。"),
    ]
    police_inactive = factories.department(name="已撤销的厅", is_active=False)
    refusals.append(
        (dict(officer=officer, target_kind=TargetKind.DEPARTMENT, department=police_inactive), "请选择一个有效的部门。")
    )
    for kwargs, message in refusals:
        with pytest.raises(actions.CaseError, match=message):
            actions.escalate_conversation(conversation=conversation, **kwargs)
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0
    assert Message.objects.count() == before_messages


def test_escalating_twice_to_the_same_target_is_refused(conversation, officer, police):
    first = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    with pytest.raises(actions.CaseError, match=first.tracking_number):
        escalate(conversation, officer, TargetKind.DEPARTMENT, police)
    second = escalate(conversation, officer, TargetKind.GOVERNOR_MAILBOX).case
    assert second.tracking_number.endswith("-000002")


def test_escalating_a_closed_conversation_is_refused_and_rolls_back(conversation, officer, police):
    from chat import actions as chat_actions

    chat_actions.classify_conversation(conversation=conversation, officer=officer, classification="valid")
    chat_actions.close_conversation(conversation=conversation, by=officer)
    with pytest.raises(actions.CaseError, match="该会话已结束"):
        escalate(conversation, officer, TargetKind.DEPARTMENT, police)
    assert not Case.objects.exists()
    # The number was not used up: the next escalation starts from 1 again.
    other = factories.citizen()
    from chat import actions as chat_actions

    fresh = chat_actions.open_conversation(citizen=other, window=conversation.window)
    chat_actions.send_message(conversation=fresh, sender=other, body="问题", client_id="x")
    assert escalate(fresh, officer, TargetKind.DEPARTMENT, police).case.tracking_number.endswith("-000001")


def test_question_defaults_to_the_citizens_messages(conversation, officer, police):
    case = escalate(conversation, officer, TargetKind.DEPARTMENT, police).case
    assert case.question == "毕业三年户籍还在学校，怎么迁回老家？"
    summary = escalate(conversation, officer, TargetKind.GOVERNOR_MAILBOX, question="户籍迁回原籍的办理流程").case
    assert summary.question == "户籍迁回原籍的办理流程"


def test_due_days_come_from_settings(settings):
    settings.CASE_DUE_WORKING_DAYS = {"governor_mailbox": 20, "director_mailbox": 12, "department": 3}
    assert [actions.due_working_days(kind) for kind in TargetKind.values] == [20, 12, 3]
    del settings.CASE_DUE_WORKING_DAYS
    assert [actions.due_working_days(kind) for kind in TargetKind.values] == [15, 15, 5]


def test_referral_sends_the_contact_card_as_the_officer(
    conversation, officer, labour, labour_window, django_capture_on_commit_callbacks
):
    labour.address = "杭州市上城区庆春路 158 号"
    labour.website = "https://ldbzt.zj.gov.cn"
    labour.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = actions.send_referral(
            conversation=conversation, officer=officer, department=labour, window=labour_window
        )
    assert message.sender == officer
    for text in (
        "省劳动和社会保障厅 · 养老保险",
        "电话：0571-85101110",
        "地址：杭州市上城区庆春路 158 号",
        "办公时间：养老保险 工作日 08:30–17:00",
        "网站：https://ldbzt.zj.gov.cn",
    ):
        assert text in message.body
    assert len(callbacks) >= 1
    with pytest.raises(actions.CaseError, match="所选窗口不属于该部门"):
        actions.send_referral(
            conversation=conversation, officer=officer, department=conversation.window.department, window=labour_window
        )


def test_offline_question_can_be_escalated_by_any_officer_of_the_window(window, citizen, police):
    from chat import actions as chat_actions

    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    chat_actions.send_message(conversation=conversation, sender=citizen, body="夜里留言：户口怎么迁？", client_id="n1")
    conversation.refresh_from_db()
    assert conversation.status == "offline"
    next_day_officer = factories.officer(window)
    escalation = escalate(conversation, next_day_officer, TargetKind.DEPARTMENT, police)
    conversation.refresh_from_db()
    assert conversation.officer == next_day_officer and conversation.status == "active"
    assert escalation.case.question == "夜里留言：户口怎么迁？"
    assert escalation.message.sender == next_day_officer
