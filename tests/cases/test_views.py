"""The lookup page, the case desk and the chat desk's endpoints, as strangers, citizens and officers see them."""

import json
import re

import pytest
from django.urls import reverse

from cases import actions
from cases.models import Case, CaseStatus, TargetKind
from chat.models import Message
from tests import factories

pytestmark = pytest.mark.django_db

LOOKUP = "/cases/lookup/"


@pytest.fixture
def escalation(conversation, officer, police):
    return actions.escalate_conversation(
        conversation=conversation,
        officer=officer,
        target_kind=TargetKind.DEPARTMENT,
        department=police,
        note="内部：请户政处王科长答复",
    )


@pytest.fixture
def handler(police):
    return factories.officer(factories.window(police, name="户政"), username="huzheng")


def lookup(client, number, code, ip="203.0.113.7"):
    return client.post(LOOKUP, {"number": number, "code": code}, REMOTE_ADDR=ip)


# Lookup -----------------------------------------------------------------------------------------


def test_lookup_shows_status_dates_and_reply_without_personal_data(client, escalation, handler, citizen):
    case = escalation.case
    actions.accept_case(case=case, by=handler)
    actions.reply_case(case=case, by=handler, reply="请到原籍派出所办理户口迁入。")
    response = lookup(client, case.tracking_number.lower(), f" {escalation.query_code.lower()} ")
    page = response.content.decode()
    assert response.status_code == 200
    for text in (
        case.tracking_number,
        "已答复",
        "提交时间",
        "办理期限",
        "答复时间",
        "请到原籍派出所办理户口迁入。",
        "省公安厅",
    ):
        assert text in page
    for secret in (citizen.phone, citizen.masked_phone, "毕业三年", "王科长", str(handler), str(case.escalated_by)):
        assert secret not in page


def test_lookup_without_javascript_is_a_plain_form(client):
    page = client.get(LOOKUP).content.decode()
    assert '<form method="post"' in page and 'name="number"' in page and 'name="code"' in page
    assert "<script" not in page


def test_wrong_code_gets_the_same_answer_whether_the_number_exists_or_not(client, escalation):
    case = escalation.case
    wrong_code = "222222" if escalation.query_code != "222222" else "333333"
    unknown_number = case.tracking_number[:-6] + "999999"
    known = lookup(client, case.tracking_number, wrong_code)
    unknown = lookup(client, unknown_number, wrong_code)

    def normalized(response, number):
        page = response.content.decode().replace(number, "NUMBER")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert known.status_code == unknown.status_code == 400
    assert "受理编号或查询码不正确" in known.content.decode()
    # Apart from echoing the number typed in, the two pages are byte for byte the same.
    assert normalized(known, case.tracking_number) == normalized(unknown, unknown_number)
    assert "待受理" not in known.content.decode()


def test_lookup_is_rate_limited_per_address(client, escalation, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public_lookup": (3, 60)}
    for _ in range(3):
        assert lookup(client, escalation.case.tracking_number, "ZZZZZZ").status_code == 400
    refused = lookup(client, escalation.case.tracking_number, escalation.query_code)
    assert refused.status_code == 429
    assert "查询过于频繁" in refused.content.decode()
    assert escalation.case.tracking_number not in refused.content.decode().split("</form>")[-1]
    # Another address is not affected.
    assert lookup(client, escalation.case.tracking_number, escalation.query_code, ip="198.51.100.2").status_code == 200


def test_lookup_asks_for_both_fields(client):
    response = lookup(client, "", "")
    assert response.status_code == 400
    assert "请填写受理编号和查询码" in response.content.decode()


# Case desk --------------------------------------------------------------------------------------


def test_citizen_and_stranger_cannot_open_the_case_desk(client, escalation, citizen, labour_officer):
    assert client.get("/desk/cases/").status_code == 302  # to the login page
    client.force_login(citizen)
    assert client.get("/desk/cases/").status_code == 403
    assert client.get(f"/desk/cases/{escalation.case.id}/").status_code == 403
    client.force_login(labour_officer)
    assert client.get("/desk/cases/").status_code == 200
    assert escalation.case.tracking_number not in client.get("/desk/cases/").content.decode()
    assert client.get(f"/desk/cases/{escalation.case.id}/").status_code == 403
    response = client.post(f"/desk/cases/{escalation.case.id}/", {"step": "accept"})
    assert response.status_code == 403
    assert Case.objects.get(pk=escalation.case.id).status == CaseStatus.PENDING


def test_officer_of_the_lead_unit_works_the_case_from_the_desk(client, escalation, handler, labour, conversation):
    case = escalation.case
    client.force_login(handler)
    listing = client.get("/desk/cases/").content.decode()
    assert case.tracking_number in listing and "待受理" in listing
    detail = client.get(f"/desk/cases/{case.id}/").content.decode()
    assert "请户政处王科长答复" in detail  # the internal note is for staff
    assert "毕业三年户籍还在学校" in detail

    response = client.post(f"/desk/cases/{case.id}/", {"step": "close"}, follow=True)
    assert "尚未答复的转办件不能办结，请先答复。" in response.content.decode()
    client.post(f"/desk/cases/{case.id}/", {"step": "accept"})
    response = client.post(f"/desk/cases/{case.id}/", {"step": "reply", "reply": "请到原籍派出所办理。"}, follow=True)
    assert "答复已发布" in response.content.decode()
    assert Message.objects.filter(
        conversation=conversation, sender_kind="system", body__contains="请到原籍派出所办理。"
    ).exists()
    client.post(f"/desk/cases/{case.id}/", {"step": "close"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert client.get("/desk/cases/?status=closed").content.decode().count(case.tracking_number) == 1
    assert case.tracking_number not in client.get("/desk/cases/?status=pending").content.decode()


def test_return_and_pass_on_from_the_desk(client, escalation, handler, labour):
    case = escalation.case
    client.force_login(handler)
    # Naming the lead unit is the information center's step (in the admin), not the desk's.
    response = client.post(f"/desk/cases/{case.id}/", {"step": "assign", "department": labour.id}, follow=True)
    assert "不支持的操作。" in response.content.decode()
    response = client.post(f"/desk/cases/{case.id}/", {"step": "return", "reason": ""}, follow=True)
    assert "请填写退回原因。" in response.content.decode()
    response = client.post(f"/desk/cases/{case.id}/", {"step": "pass_on", "department": "999999"}, follow=True)
    assert "请选择一个有效的部门。" in response.content.decode()
    client.post(f"/desk/cases/{case.id}/", {"step": "pass_on", "department": labour.id, "note": "养老保险问题"})
    case.refresh_from_db()
    assert case.lead_unit == labour and case.pass_on_count == 1
    # Passed on: the old unit no longer sees it.
    assert client.get(f"/desk/cases/{case.id}/").status_code == 403


def test_overdue_cases_are_marked_on_the_desk(client, escalation, handler):
    import datetime

    from django.utils import timezone

    Case.objects.filter(pk=escalation.case.pk).update(due_at=timezone.now() - datetime.timedelta(days=1))
    client.force_login(handler)
    page = client.get("/desk/cases/?status=overdue").content.decode()
    assert escalation.case.tracking_number in page and "已逾期" in page


# Chat desk endpoints ----------------------------------------------------------------------------


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_escalate_endpoint_sends_the_tracking_message(
    client, conversation, officer, police, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_json(
            client,
            "/desk/cases/api/escalate/",
            {"conversation": conversation.id, "target_kind": "director_mailbox", "department": police.id, "note": "急"},
        )
    assert response.status_code == 201
    data = response.json()
    case = Case.objects.get(tracking_number=data["case"]["tracking_number"])
    assert data["case"]["target"] == "省公安厅厅长信箱"
    message = Message.objects.get(conversation=conversation, seq=data["message"]["seq"])
    assert case.tracking_number in message.body and data["case"]["query_code"] in message.body
    assert callbacks


def test_escalate_endpoint_refusals_are_json_in_chinese(client, conversation, officer, labour_officer, citizen, police):
    url = "/desk/cases/api/escalate/"
    assert post_json(client, url, {"conversation": conversation.id}).status_code == 401
    client.force_login(citizen)
    assert post_json(client, url, {"conversation": conversation.id}).status_code == 403
    client.force_login(labour_officer)
    response = post_json(
        client, url, {"conversation": conversation.id, "target_kind": "department", "department": police.id}
    )
    assert response.status_code == 404 and response.json()["error"] == "没有找到这个会话。"  # as for unknown ids
    client.force_login(officer)
    response = post_json(client, url, {"conversation": conversation.id, "target_kind": "department"})
    assert response.status_code == 400 and response.json()["error"] == "请选择收件部门。"
    response = post_json(client, url, {"conversation": 99999, "target_kind": "governor_mailbox"})
    assert response.status_code == 404
    response = client.post(url, "not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "请求格式不正确。"
    assert not Case.objects.exists()


def test_escalate_endpoint_needs_the_csrf_token(conversation, officer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(officer)
    response = post_json(
        strict, "/desk/cases/api/escalate/", {"conversation": conversation.id, "target_kind": "governor_mailbox"}
    )
    assert response.status_code == 403
    assert not Case.objects.exists()
    strict.get(reverse("chat:desk"))
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        "/desk/cases/api/escalate/",
        json.dumps({"conversation": conversation.id, "target_kind": "governor_mailbox"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201


def test_referral_endpoint_and_directory(client, conversation, officer, labour, labour_window, labour_officer):
    client.force_login(officer)
    directory = client.get("/desk/cases/api/directory/").json()
    names = [d["name"] for d in directory["departments"]]
    assert "省劳动和社会保障厅" in names
    labour_entry = next(d for d in directory["departments"] if d["id"] == labour.id)
    assert labour_entry["windows"] == [{"id": labour_window.id, "name": "养老保险", "duty_hours": "工作日 08:30–17:00"}]
    assert [t["value"] for t in directory["targets"]] == ["governor_mailbox", "director_mailbox", "department"]
    response = post_json(
        client, "/desk/cases/api/referral/", {"conversation": conversation.id, "department": labour.id}
    )
    assert response.status_code == 201
    body = Message.objects.get(conversation=conversation, seq=response.json()["message"]["seq"]).body
    assert "【联系方式】省劳动和社会保障厅" in body and "0571-85101110" in body
    client.force_login(labour_officer)
    assert (
        post_json(
            client, "/desk/cases/api/referral/", {"conversation": conversation.id, "department": labour.id}
        ).status_code
        == 404
    )


def test_my_cases_include_lists_the_citizens_cases_with_the_reply(rf, escalation, handler, citizen):
    from django.template.loader import render_to_string

    from cases import selectors

    actions.accept_case(case=escalation.case, by=handler)
    actions.reply_case(case=escalation.case, by=handler, reply="请到原籍派出所办理。")
    stranger = factories.citizen()
    assert list(selectors.cases_of_citizen(stranger)) == []
    html = render_to_string("cases/_my_cases.html", {"cases": selectors.cases_of_citizen(citizen)})
    for text in (escalation.case.tracking_number, "省公安厅", "已答复", "请到原籍派出所办理。", "/cases/lookup/"):
        assert text in html
    assert "王科长" not in html and escalation.query_code not in html
    assert "暂无转办件" in render_to_string("cases/_my_cases.html", {"cases": selectors.cases_of_citizen(stranger)})
