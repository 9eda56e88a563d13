"""SMS notices: one short text after commit when an answer arrives; never the body; one an hour; opt-out."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from cases import actions as case_actions
from cases.models import TargetKind
from sms.models import SmsMessage, Template
from sms.notices import notify_offline_answered, set_notices
from tests import factories

pytestmark = pytest.mark.django_db

REPLY = "请携带户口簿和身份证原件到户籍所在地派出所办理。"


@pytest.fixture
def case(conversation, officer, police):
    return case_actions.escalate_conversation(
        conversation=conversation, officer=officer, target_kind=TargetKind.DEPARTMENT, department=police
    ).case


@pytest.fixture
def handler(police):
    return factories.officer(factories.window(police, name="户政"))


def notices():
    return list(SmsMessage.objects.filter(template__in=[Template.NOTICE_CASE, Template.NOTICE_ANSWERED]))


def test_case_accepted_sends_one_notice_after_commit(case, handler, citizen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        case_actions.accept_case(case=case, by=handler)
        assert notices() == []
    assert notices() == []  # nothing before the commit
    for callback in callbacks:
        callback()
    [notice] = notices()
    assert notice.phone == citizen.phone and notice.subject == f"case:{case.pk}"
    assert notice.text == (
        f"【政务通】您的转办件{case.tracking_number}已受理，请到“我的咨询”查看：http://127.0.0.1:8000/my/"
    )


def test_answer_within_the_hour_sends_no_second_text_and_never_the_body(
    case, handler, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.accept_case(case=case, by=handler)
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.reply_case(case=case, by=handler, reply=REPLY)
    assert len(notices()) == 1
    SmsMessage.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.close_case(case=case, by=handler)
    texts = [notice.text for notice in notices()]
    assert len(texts) == 2 and "已办结" in texts[0]
    assert all(len(text) <= 70 for text in texts)  # one billed part each
    assert not any(REPLY[:10] in text for text in texts)


def test_returned_case_is_told(case, police, django_capture_on_commit_callbacks):
    supervisor = factories.supervisor()
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.return_case(case=case, by=supervisor, reason="不属于本部门职责")
    [notice] = notices()
    assert "已退回" in notice.text and "不属于" not in notice.text


def test_rolled_back_action_sends_nothing(case, handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            case_actions.accept_case(case=case, by=handler)
            raise RuntimeError
    assert notices() == []


def test_citizen_who_switched_notices_off_gets_none(case, handler, citizen, django_capture_on_commit_callbacks):
    set_notices(user=citizen, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.accept_case(case=case, by=handler)
    assert notices() == []
    set_notices(user=citizen, enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.reply_case(case=case, by=handler, reply=REPLY)
    assert len(notices()) == 1


def test_offline_question_answered_in_ten_lines_sends_one_text(
    conversation, citizen, django_capture_on_commit_callbacks
):
    for _ in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            notify_offline_answered(conversation=conversation)
    [notice] = notices()
    assert notice.template == Template.NOTICE_ANSWERED and notice.subject == f"conversation:{conversation.pk}"
    assert notice.text == "【政务通】您在省公安厅治安户籍的留言已答复，请到“我的咨询”查看：http://127.0.0.1:8000/my/"
    assert "户口迁移" not in notice.text


def test_the_officers_first_answer_to_an_offline_question_sends_one_notice(
    window, citizen, officer, django_capture_on_commit_callbacks
):
    from chat import actions as chat_actions

    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    with django_capture_on_commit_callbacks(execute=True):
        chat_actions.send_message(
            conversation=conversation, sender=citizen, body="户口迁移要带什么材料？", client_id="q"
        )
    conversation.refresh_from_db()
    assert conversation.is_offline_question and notices() == []  # nobody on duty: a 留言, no text yet
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            chat_actions.send_message(
                conversation=conversation, sender=officer, body=f"{REPLY}（{n}）", client_id=f"a{n}"
            )
    [notice] = notices()
    assert notice.subject == f"conversation:{conversation.pk}" and REPLY not in notice.text


def test_a_question_answered_live_sends_no_notice(window, citizen, officer, django_capture_on_commit_callbacks):
    from chat import actions as chat_actions

    chat_actions.desk_connected(officer=officer, channel_name="desk-1")
    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    with django_capture_on_commit_callbacks(execute=True):
        chat_actions.send_message(
            conversation=conversation, sender=citizen, body="户口迁移要带什么材料？", client_id="q"
        )
        chat_actions.take_conversation(officer=officer, conversation=conversation)
        chat_actions.send_message(conversation=conversation, sender=officer, body=REPLY, client_id="a")
    conversation.refresh_from_db()
    assert conversation.answered_live and notices() == []
