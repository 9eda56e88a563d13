"""The live wallboard (实时监控): its state, its websocket for supervisors, and who may open it."""

import datetime

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from chat import actions, loop_connection
from chat.models import Conversation, Status
from oversight import wallboard
from oversight.models import AuditLog
from portal import actions as portal_actions
from tests import factories
from tests.sockets import connect

WALLBOARD = reverse("admin:oversight_assessment_wallboard")


def grant_view(user):
    user.user_permissions.add(Permission.objects.get(codename="view_assessment"))
    return type(user).objects.get(pk=user.pk)


async def next_board(communicator, *, until, limit: int = 10) -> dict:
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "wallboard" and until(frame):
            return frame
    raise AssertionError("the wallboard never showed the expected state")


def row_of(frame, window_id):
    return next(row for row in frame["windows"] if row["window"] == window_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_wallboard_updates_when_a_citizen_queues_and_refuses_officers():
    @sync_to_async
    def setup():
        police = factories.department(name="省公安厅")
        window = factories.window(police, name="交通车管")
        quiet = factories.window(police, name="出境入境")
        officer = factories.officer(window)
        citizen = factories.citizen()
        supervisor = grant_view(factories.supervisor())
        return window, quiet, officer, citizen, supervisor

    window, quiet, officer, citizen, supervisor = await setup()
    try:
        refused, ok, _ = await connect("/ws/oversight/wallboard/", officer)
        assert ok  # accepted, then closed with the code, so the page can tell why
        assert await refused.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
        desk, ok, _ = await connect("/ws/desk/", officer)
        assert ok
        await desk.send_json_to({"type": "status", "status": "busy"})  # on duty, but takes chats by hand
        board, ok, _ = await connect("/ws/oversight/wallboard/", supervisor)
        assert ok
        first = await next_board(board, until=lambda frame: row_of(frame, window.id)["officers"])
        assert row_of(first, window.id)["queued"] == 0
        assert row_of(first, quiet.id)["officers"] == []

        chat, ok, _ = await connect(
            f"/ws/chat/{(await sync_to_async(actions.open_conversation)(citizen=citizen, window=window)).id}/", citizen
        )
        assert ok
        await chat.send_json_to({"type": "ack_statement"})
        await chat.send_json_to({"type": "message", "client_id": "c-1", "body": "驾驶证要不要年检？"})
        update = await next_board(board, until=lambda frame: row_of(frame, window.id)["queued"] == 1)
        row = row_of(update, window.id)
        assert row["officers"][0]["label"] == "忙碌" and row["online"] == 1
        assert update["totals"]["queued"] == 1
        # The supervisor's sessions end (deactivation, role change...): the wallboard closes with them.
        await sync_to_async(portal_actions.end_sessions)(supervisor, code=portal_actions.CLOSE_FORBIDDEN)
        for _ in range(10):
            output = await board.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
        assert output == {"type": "websocket.close", "code": 4403}
        await chat.disconnect()
        await desk.disconnect()
    finally:
        await database_sync_to_async(connections.close_all)()
        await loop_connection.close_connections()


def test_long_wait_and_overdue_backlog_go_first_and_are_flagged(db, settings):
    settings.WALLBOARD_WAIT_ALERT_SECONDS = 120
    police = factories.department(name="省公安厅")
    calm, waiting, late = (factories.window(police, name=name) for name in ("治安户籍", "交通车管", "出境入境"))
    now = timezone.now()
    Conversation.objects.create(
        citizen=factories.citizen(),
        window=waiting,
        status=Status.QUEUED,
        queued_at=now - datetime.timedelta(seconds=200),
        first_question_at=now,
    )
    Conversation.objects.create(
        citizen=factories.citizen(),
        window=late,
        status=Status.OFFLINE,
        queued_at=now,
        first_question_at=now,
        is_offline_question=True,
        due_at=now - datetime.timedelta(hours=1),
    )
    state = wallboard.state(now)
    assert [row["name"] for row in state["windows"]] == ["交通车管", "出境入境", "治安户籍"]
    first = state["windows"][0]
    assert first["alert"] and first["longest_wait"] == 200
    assert first["alerts"] == ["等待超过 2 分钟", "有人排队但无人在线"]
    assert state["windows"][1]["overdue"] == 1 and state["windows"][1]["alerts"] == ["有超期留言"]
    assert state["totals"]["backlog"] == 1


def test_wallboard_page_for_supervisors_only_and_live_chat_opens_audited(client, db):
    police = factories.department(name="省公安厅")
    window = factories.window(police, name="交通车管")
    officer = factories.officer(window)
    conversation = Conversation.objects.create(
        citizen=factories.citizen(),
        window=window,
        officer=officer,
        status=Status.ACTIVE,
        queued_at=timezone.now(),
        assigned_at=timezone.now(),
    )
    client.force_login(officer)
    assert client.get(WALLBOARD).status_code in (302, 403)
    supervisor = factories.supervisor()
    supervisor.user_permissions.add(*Permission.objects.filter(codename__in=["view_assessment", "view_transcript"]))
    client.force_login(supervisor)
    html = client.get(WALLBOARD).content.decode()
    assert "实时监控" in html and "交通车管" in html
    link = reverse("admin:oversight_transcript_change", args=[conversation.pk])
    assert link in html
    assert client.get(link).status_code == 200
    assert AuditLog.objects.filter(action="view_transcript", object_id=str(conversation.pk)).count() == 1
