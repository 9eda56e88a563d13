"""Controls: one audited way to read message text; account changes by staff are audited; only the system
administrator sets another person's password; the information center reads the audit log."""

import pytest
from django.test import Client

from chat import actions
from oversight.models import AuditLog
from portal.models import Role, User
from tests import factories

pytestmark = pytest.mark.django_db

SECRET = "我的身份证号是 110101199001011234"


@pytest.fixture
def conversation():
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    citizen = factories.citizen()
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.acknowledge_statement(conversation=conversation, citizen=citizen)
    actions.send_message(conversation=conversation, sender=citizen, body=SECRET, client_id="c1")
    return conversation


@pytest.fixture
def supervisor_client():
    client = Client(REMOTE_ADDR="10.1.2.3")
    supervisor = factories.supervisor()
    client.force_login(supervisor)
    client.user = supervisor
    return client


@pytest.fixture
def admin_client_():
    client = Client(REMOTE_ADDR="10.9.9.9")
    admin = factories.supervisor()
    User.objects.filter(pk=admin.pk).update(role=Role.ADMIN, is_superuser=True)
    client.force_login(User.objects.get(pk=admin.pk))
    return client


def test_generic_chat_pages_show_no_message_text(supervisor_client, conversation):
    page = supervisor_client.get(f"/admin/chat/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert SECRET not in text and conversation.citizen.phone not in text
    assert supervisor_client.get("/admin/chat/message/").status_code == 404
    assert not AuditLog.objects.exists()  # nothing was read, so nothing to record


def test_transcript_reads_and_word_searches_are_audited_with_query(supervisor_client, conversation):
    page = supervisor_client.get(f"/admin/oversight/transcript/{conversation.pk}/change/")
    assert SECRET in page.content.decode()
    supervisor_client.get("/admin/oversight/transcript/", {"q": "身份证"})
    entries = {entry.action: entry for entry in AuditLog.objects.all()}
    assert entries["view_transcript"].ip_address == "10.1.2.3"
    assert "身份证" in entries["search_content"].summary
    assert entries["search_content"].actor_name == supervisor_client.user.username


def test_supervisor_cannot_set_another_users_password(supervisor_client, conversation):
    citizen = conversation.citizen
    url = f"/admin/portal/user/{citizen.pk}/password/"
    assert supervisor_client.get(url).status_code == 403
    response = supervisor_client.post(
        url, {"password1": "Take-Over-2026!", "password2": "Take-Over-2026!", "set_usable_password": "true"}
    )
    assert response.status_code == 403
    citizen.refresh_from_db()
    assert not citizen.check_password("Take-Over-2026!")


def test_admin_password_set_and_role_change_are_audited(admin_client_, conversation):
    citizen = conversation.citizen
    response = admin_client_.post(
        f"/admin/portal/user/{citizen.pk}/password/",
        {"password1": "Zheng-Wu-2026!", "password2": "Zheng-Wu-2026!", "set_usable_password": "true"},
    )
    assert response.status_code == 302
    entry = AuditLog.objects.get(action="password_set")
    assert entry.object_id == str(citizen.pk) and entry.ip_address == "10.9.9.9"


def test_window_assignment_change_is_audited(admin_client_):
    window = factories.window(factories.department(name="省人社厅"), name="社保")
    officer = factories.officer(window)
    page = admin_client_.get(f"/admin/departments/window/{window.pk}/change/")
    form = page.context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name not in ("officers",)}
    data["department"] = window.department_id
    data["duty_start"] = "09:00"
    data["duty_end"] = "17:00"
    data["auto_assign"] = "on"
    data["is_active"] = "on"
    data["officers"] = []
    response = admin_client_.post(f"/admin/departments/window/{window.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = AuditLog.objects.get(action="window_assignment")
    assert officer.username in entry.summary and "移出" in entry.summary


def test_information_center_reads_filters_and_exports_the_audit_log(supervisor_client, conversation):
    supervisor_client.get(f"/admin/oversight/transcript/{conversation.pk}/change/")
    assert supervisor_client.get("/admin/oversight/auditlog/", {"action__exact": "view_transcript"}).status_code == 200
    url = "/admin/oversight/auditlog/export/"
    form = supervisor_client.get(url).context["form"]
    columns = {name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "")}
    response = supervisor_client.post(url, {"resource": "0", "format": "1", **columns})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert "查看对话记录" in response.content.decode("utf-8-sig")


def test_supervisor_cannot_promote_anyone_or_themselves_to_system_administrator(supervisor_client):
    supervisor = supervisor_client.user
    page = supervisor_client.get(f"/admin/portal/user/{supervisor.pk}/change/")
    assert 'name="role"' not in page.content.decode()  # their own role is read-only
    officer = factories.officer(factories.window())
    page = supervisor_client.get(f"/admin/portal/user/{officer.pk}/change/")
    assert 'value="admin"' not in page.content.decode()
    assert 'value="supervisor"' in page.content.decode()


def test_case_and_faq_admin_reads_and_searches_are_audited(supervisor_client):
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    from faq.models import Entry

    entry = Entry.objects.create(
        department=window.department, window=window, question="我的身份证丢了", answer="补办", key="k1"
    )
    assert supervisor_client.get(f"/admin/faq/entry/{entry.pk}/change/").status_code == 200
    supervisor_client.get("/admin/faq/entry/", {"q": "身份证"})
    supervisor_client.get("/admin/cases/case/", {"q": "户口"})
    summaries = list(AuditLog.objects.values_list("action", "summary"))
    assert AuditLog.objects.filter(action="view_content", object_id=str(entry.pk)).exists()
    assert (
        sum(
            1
            for action, summary in summaries
            if action == "search_content" and ("身份证" in summary or "户口" in summary)
        )
        == 2
    )


def test_own_password_change_in_the_console_ends_the_other_sessions(supervisor_client):
    from django.contrib.sessions.models import Session

    other = Client()
    other.force_login(supervisor_client.user)
    response = supervisor_client.post(
        "/admin/password_change/",
        {
            "old_password": factories.PASSWORD,
            "new_password1": "Another-Zwt-2026!",
            "new_password2": "Another-Zwt-2026!",
        },
    )
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="password_set", object_id=str(supervisor_client.user.pk)).exists()
    assert not Session.objects.filter(session_key=other.session.session_key).exists()
    assert supervisor_client.get("/admin/").status_code == 200  # the session that changed it stays
    assert other.get("/admin/").status_code == 302
