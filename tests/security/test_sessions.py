"""Controls: refused sockets reach the client with their close code; ending a session closes its sockets;
a desk follows its window assignments live."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from chat import actions
from departments.actions import notify_officer_windows_changed
from oversight.models import AuditLog
from portal import actions as portal_actions
from tests import factories
from tests.sockets import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def chat_setup():
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    citizen = factories.citizen()
    officer = factories.officer(window)
    conversation = actions.open_conversation(citizen=citizen, window=window)
    return window, citizen, officer, conversation


async def closed_with(communicator) -> int:
    output = await communicator.receive_output(timeout=5)
    while output["type"] != "websocket.close":
        output = await communicator.receive_output(timeout=5)
    return output.get("code")


@pytest.mark.asyncio
async def test_refused_sockets_are_accepted_then_closed_with_4401_or_4403(close_consumer_connections):
    _, citizen, officer, conversation = await chat_setup()
    stranger = await sync_to_async(factories.citizen)()
    cases = [
        (f"/ws/chat/{conversation.id}/", None, 4401),
        ("/ws/desk/", None, 4401),
        (f"/ws/chat/{conversation.id}/", stranger, 4403),
        (f"/ws/chat/{conversation.id + 1000}/", citizen, 4403),  # unknown: the same answer as not yours
        ("/ws/desk/", citizen, 4403),
        (f"/ws/chat/{conversation.id}/", officer, 4403),
    ]
    for path, user, code in cases:
        communicator, accepted, _ = await connect(path, user)
        assert accepted, path  # accepted first, so the browser sees the code and not 1006
        assert await closed_with(communicator) == code, (path, user)


@pytest.mark.asyncio
async def test_logout_closes_that_sessions_sockets_with_4401_and_spares_other_sessions(close_consumer_connections):
    _, citizen, _, conversation = await chat_setup()
    client = Client()
    await sync_to_async(client.force_login)(citizen)
    cookie = client.cookies["sessionid"].value
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", cookie=cookie)
    other, other_ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)  # the citizen's phone
    assert ok and other_ok
    await sync_to_async(client.post)("/accounts/logout/")
    assert await closed_with(chat) == 4401
    await other.send_json_to({"type": "ping"})
    assert (await receive_until(other, "pong"))["type"] == "pong"
    await other.disconnect()


@pytest.mark.asyncio
async def test_deactivation_and_password_set_end_every_session_and_socket(close_consumer_connections):
    _, citizen, officer, conversation = await chat_setup()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    desk, desk_ok, _ = await connect("/ws/desk/", officer)
    assert ok and desk_ok
    admin = await sync_to_async(factories.supervisor)()
    await sync_to_async(lambda: admin.__class__.objects.filter(pk=admin.pk).update(role="admin", is_superuser=True))()
    console = Client()
    await sync_to_async(console.force_login)(await sync_to_async(admin.__class__.objects.get)(pk=admin.pk))

    # The officer is switched off in the console: the open desk closes with 4401 and stores nothing more.
    await sync_to_async(_deactivate)(console, officer)
    assert await closed_with(desk) == 4401
    entry = await sync_to_async(lambda: AuditLog.objects.get(action="account_change", object_id=str(officer.pk)))()
    assert "启用：是 → 否" in entry.summary and entry.actor_id == admin.pk

    # The citizen's password is set by the system administrator: every session of the citizen ends.
    response = await sync_to_async(console.post)(
        f"/admin/portal/user/{citizen.pk}/password/",
        {"password1": "Zheng-Wu-2026!", "password2": "Zheng-Wu-2026!", "set_usable_password": "true"},
    )
    assert response.status_code == 302
    assert await closed_with(chat) == 4401
    assert not await sync_to_async(_has_session)(citizen)


def _has_session(user) -> bool:
    return any(s.get_decoded().get("_auth_user_id") == str(user.pk) for s in Session.objects.all())


def _deactivate(console: Client, officer) -> None:
    page = console.get(f"/admin/portal/user/{officer.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: form.initial.get(name)
        for name in (
            "username",
            "role",
            "display_name",
            "phone",
            "first_name",
            "last_name",
            "email",
            "last_login",
            "date_joined",
        )
    }
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data.update({"is_active": "", "is_staff": "", "_save": "保存"})
    if data["last_login"]:
        data["last_login_0"], data["last_login_1"] = "", ""
    response = console.post(f"/admin/portal/user/{officer.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    officer.refresh_from_db()
    assert not officer.is_active


@pytest.mark.asyncio
async def test_role_change_closes_sockets_with_4403(close_consumer_connections):
    _, _, officer, _ = await chat_setup()
    desk, ok, _ = await connect("/ws/desk/", officer)
    assert ok
    await sync_to_async(_change_role)(officer)
    assert await closed_with(desk) == 4403


def _change_role(officer):
    before = officer.__class__.objects.get(pk=officer.pk)
    officer.role = "citizen"
    officer.save()
    portal_actions.record_account_change(request=None, before=before, user=officer)


@pytest.mark.asyncio
async def test_desk_follows_window_removal_live(close_consumer_connections):
    window, citizen, officer, _ = await chat_setup()
    other = await sync_to_async(factories.window)(name="治安户籍")
    await sync_to_async(other.officers.add)(officer)
    desk, ok, _ = await connect("/ws/desk/", officer)
    assert ok

    @sync_to_async
    def remove_and_ask():
        other.officers.remove(officer)
        notify_officer_windows_changed(officer_ids=[officer.pk])
        asker = factories.citizen()
        return actions.open_conversation(citizen=asker, window=other), asker

    conversation, asker = await remove_and_ask()
    state = await receive_until(desk, "state")
    assert [w["id"] for w in state["windows"]] == [window.id]
    # A new question at the old window reaches the desk no more.
    await sync_to_async(actions.acknowledge_statement)(conversation=conversation, citizen=asker)
    await sync_to_async(actions.send_message)(
        conversation=conversation, sender=asker, body="户口迁移？", client_id="q1"
    )
    await desk.send_json_to({"type": "heartbeat"})
    frames = []
    while True:
        frame = await desk.receive_json_from(timeout=3)
        frames.append(frame)
        if frame["type"] == "pong":
            break
    assert not any(f.get("window") == other.id or f.get("conversation") == conversation.id for f in frames), frames
    await desk.disconnect()


@pytest.mark.asyncio
async def test_desk_needs_the_second_factor_when_officers_must_have_one(close_consumer_connections, settings):
    settings.SECOND_FACTOR_REQUIRED = True
    settings.OTP_REQUIRED_FOR_OFFICERS = True
    _, _, officer, _ = await chat_setup()
    desk, accepted, _ = await connect("/ws/desk/", officer)
    assert accepted and await closed_with(desk) == 4401
