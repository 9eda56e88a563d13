"""A citizen's rights in 我的咨询: download everything of mine (and nothing of others'), delete my account."""

import io
import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from cases import actions as case_actions
from cases.models import Case, TargetKind
from chat import actions as chat_actions
from chat.models import Conversation, Message
from faq import actions as faq_actions
from faq.models import Entry
from oversight.models import AuditLog
from tests import factories
from tests.browser import PASSWORD


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def consult(citizen, window, officer, question: str, answer: str, case_question: str = "") -> Conversation:
    conversation = chat_actions.open_conversation(citizen=citizen, window=window)
    chat_actions.send_message(conversation=conversation, sender=citizen, body=question, client_id="q")
    chat_actions.take_conversation(officer=officer, conversation=conversation)
    chat_actions.send_message(conversation=conversation, sender=officer, body=answer, client_id="a")
    if case_question:
        case_actions.escalate_conversation(
            conversation=conversation, officer=officer, target_kind=TargetKind.GOVERNOR_MAILBOX, question=case_question
        )
    chat_actions.classify_conversation(conversation=conversation, officer=officer, classification="valid")
    chat_actions.close_conversation(conversation=conversation, by=officer)
    chat_actions.rate_conversation(
        conversation=conversation, citizen=citizen, rating=5, comment="回答很清楚，谢谢王老师"
    )
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def two_citizens(db):
    window = factories.window(factories.department(name="省公安厅"), name="治安户籍")
    officer = factories.officer(window)
    me, other = factories.citizen("13900001111"), factories.citizen("13900002222")
    mine = consult(
        me,
        window,
        officer,
        "我叫李四海，身份证330106199001011234，户口怎么迁？",
        "请到迁入地派出所办理。",
        case_question="李四海的户口迁移问题",
    )
    theirs = consult(other, window, officer, "我是赵秀兰，住文三路123号，户口本丢了", "请到户籍地派出所补领。")
    return {
        "me": me,
        "other": other,
        "mine": mine,
        "theirs": theirs,
        "case": Case.objects.get(citizen=me),
        "officer": officer,
        "window": window,
    }


def test_download_json_holds_everything_of_mine_and_nothing_of_others(client, two_citizens):
    client.force_login(two_citizens["me"])
    assert "下载我的全部数据" in client.get(reverse("portal:my_consultations")).content.decode()
    reply = client.post(reverse("portal:my_data"), {"format": "json"})
    assert reply.status_code == 200 and reply["Content-Disposition"].startswith("attachment;")
    text = reply.content.decode()
    data = json.loads(text)
    assert set(data) == {"账户", "咨询", "消息", "评价", "转办件", "短信通知"}
    assert data["账户"][0]["手机号"] == "13900001111"
    assert [c["咨询编号"] for c in data["咨询"]] == [two_citizens["mine"].pk]
    assert "我叫李四海，身份证330106199001011234，户口怎么迁？" in [m["内容"] for m in data["消息"]]
    assert data["评价"][0]["评价意见"] == "回答很清楚，谢谢王老师"
    assert data["转办件"][0]["受理编号"] == two_citizens["case"].tracking_number
    for other in ("13900002222", "赵秀兰", "文三路123号"):
        assert other not in text
    assert {m["咨询编号"] for m in data["消息"]} == {two_citizens["mine"].pk}
    log = AuditLog.objects.get(action="data_export")
    assert log.actor == two_citizens["me"] and "本人导出个人数据（JSON）" in log.summary


def test_download_xlsx_has_a_sheet_per_kind(client, two_citizens):
    client.force_login(two_citizens["me"])
    reply = client.post(reverse("portal:my_data"), {"format": "xlsx"})
    book = load_workbook(io.BytesIO(reply.content))
    assert book.sheetnames == ["账户", "咨询", "消息", "评价", "转办件", "短信通知"]
    cells = [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row]
    assert any("330106199001011234" in value for value in cells)
    assert not any("赵秀兰" in value for value in cells)
    assert client.post(reverse("portal:my_data"), {"format": "pdf"}).status_code == 302


def test_officers_have_no_data_rights_page(client, two_citizens):
    client.force_login(two_citizens["officer"])
    assert client.get(reverse("portal:my_data")).status_code == 403
    assert client.post(reverse("portal:delete_account"), {"password": PASSWORD, "confirm": "1"}).status_code == 403


def test_delete_account_erases_my_words_and_keeps_the_rest(client, two_citizens):
    me, mine, theirs = two_citizens["me"], two_citizens["mine"], two_citizens["theirs"]
    faq_actions.change_publication_consent(conversation=mine, citizen=me, allowed=True)
    clean = faq_actions.publish_from_conversation(
        conversation=mine,
        officer=two_citizens["officer"],
        question="户口怎么迁？",
        answer="请到迁入地派出所办理。",
        publish=True,
    )
    client.force_login(me)
    wrong = client.post(reverse("portal:delete_account"), {"password": "wrong", "confirm": "1"})
    assert wrong.status_code == 400 and "密码不正确" in wrong.content.decode()
    assert client.post(reverse("portal:delete_account"), {"password": PASSWORD}).status_code == 400

    reply = client.post(reverse("portal:delete_account"), {"password": PASSWORD, "confirm": "1"}, follow=True)
    assert "您的账户已注销" in reply.content.decode()
    me.refresh_from_db()
    assert not me.is_active and me.phone is None and me.username == f"deleted-{me.pk}" and not me.has_usable_password()
    assert not client.login(username="13900001111", password=PASSWORD)
    bodies = list(Message.objects.filter(conversation=mine).values_list("body", flat=True))
    assert not any("李四海" in body or "330106199001011234" in body for body in bodies)
    mine.refresh_from_db()
    assert mine.rating == 5 and mine.rating_comment == "" and mine.closed_at is not None
    case = Case.objects.get(pk=two_citizens["case"].pk)
    assert "李四海" not in case.question
    # The published entry held no personal data: it stays. The other citizen's data is untouched.
    assert Entry.objects.get(pk=clean.pk).is_published
    assert Message.objects.filter(conversation=theirs, body__contains="赵秀兰").exists()
    logs = list(AuditLog.objects.filter(action="account_delete").order_by("id"))
    assert (
        len(logs) == 2 and "申请注销账户 13900001111" in logs[0].summary and "已注销账户 13900001111" in logs[1].summary
    )


def test_a_published_entry_with_personal_data_goes_with_the_account(two_citizens):
    from portal import rights

    me, mine = two_citizens["me"], two_citizens["mine"]
    faq_actions.change_publication_consent(conversation=mine, citizen=me, allowed=True)
    entry = faq_actions.publish_from_conversation(
        conversation=mine,
        officer=two_citizens["officer"],
        question="户口怎么迁？",
        answer="请到迁入地派出所办理。",
        publish=True,
    )
    # An entry published before the detector existed, still naming the citizen's phone number.
    Entry.objects.filter(pk=entry.pk).update(answer="请到迁入地派出所办理，已短信告知 13900001111。")
    rights.delete_account(user=me, by=factories.supervisor(), request_note="2026-11-20 书面申请 第12号")
    assert not Entry.objects.filter(pk=entry.pk).exists()
    summary = AuditLog.objects.filter(action="account_delete").order_by("id").first().summary
    assert "信息中心" in summary and "书面申请 第12号" in summary


def test_information_center_serves_a_written_request_from_the_admin(client, two_citizens, django_user_model):
    admin_user = django_user_model.objects.create_superuser(username="center", password=PASSWORD, role="admin")
    client.force_login(admin_user)
    url = reverse("admin:portal_citizendatarequest_changelist")
    me = two_citizens["me"]
    listing = client.get(url).content.decode()
    assert "139****1111" in listing and "13900001111" in listing  # the account name is the phone number
    asked = client.post(url, {"action": "export_data", "_selected_action": [me.pk]})
    assert asked.status_code == 200 and "书面申请" in asked.content.decode()
    refused = client.post(url, {"action": "export_data", "_selected_action": [me.pk], "apply": "1", "request_note": ""})
    assert "请填写书面申请的编号和收到日期" in refused.content.decode()
    download = client.post(
        url,
        {
            "action": "export_data",
            "_selected_action": [me.pk],
            "apply": "1",
            "request_note": "第 12 号",
            "format": "json",
        },
    )
    assert json.loads(download.content)["账户"][0]["手机号"] == "13900001111"

    client.post(url, {"action": "delete_data", "_selected_action": [me.pk], "apply": "1", "request_note": "第 13 号"})
    me.refresh_from_db()
    assert not me.is_active and me.phone is None
    summaries = list(AuditLog.objects.order_by("id").values_list("actor_name", "summary"))
    assert ("center", "信息中心 center导出个人数据（JSON）；书面申请：第 12 号") in summaries
    assert any(
        actor == "center" and "申请注销账户 13900001111" in text and "第 13 号" in text for actor, text in summaries
    )


def test_guessing_the_password_on_the_delete_page_is_limited(client, two_citizens):
    client.force_login(two_citizens["me"])
    for _ in range(5):
        assert (
            "密码不正确"
            in client.post(reverse("portal:delete_account"), {"password": "x", "confirm": "1"}).content.decode()
        )
    blocked = client.post(reverse("portal:delete_account"), {"password": PASSWORD, "confirm": "1"})
    assert blocked.status_code == 400 and "尝试次数过多" in blocked.content.decode()
    two_citizens["me"].refresh_from_db()
    assert two_citizens["me"].is_active


def test_sms_notices_are_in_my_data_and_go_with_the_account(client, two_citizens, django_capture_on_commit_callbacks):
    from portal import rights
    from sms import notices
    from sms.models import SmsMessage

    me, other = two_citizens["me"], two_citizens["other"]
    with django_capture_on_commit_callbacks(execute=True):
        notices.notify_case(case=two_citizens["case"], state="accepted")
        notices.notify_offline_answered(conversation=two_citizens["theirs"])
    assert SmsMessage.objects.count() == 2
    rows = rights.collect(me)["短信通知"]
    assert len(rows) == 1 and two_citizens["case"].tracking_number in rows[0]["内容"]
    rights.delete_account(user=me, by=me)
    assert list(SmsMessage.objects.values_list("subject", flat=True)) == [f"conversation:{two_citizens['theirs'].pk}"]
    assert rights.collect(other)["短信通知"][0]["手机号"] == "139****2222"
