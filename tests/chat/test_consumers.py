"""The duty room's websockets, driven through the real ASGI application."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django.utils import timezone

from chat import actions, consumers, loop_connection
from chat.models import CitizenConnection, Conversation, Message
from tests import factories
from tests.sockets import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def close_consumer_connections():
    """Close the connections the consumers keep (thread and event loop), so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()
    await loop_connection.close_connections()


@sync_to_async
def setup_chat():
    window = factories.window(factories.department(name="省公安厅"), name="交通车管")
    citizen = factories.citizen()
    officer = factories.officer(window)
    conversation = actions.open_conversation(citizen=citizen, window=window)
    return window, citizen, officer, conversation


async def test_citizen_and_officer_talk_live_and_resume_loses_nothing():
    window, citizen, officer, conversation = await setup_chat()
    desk, ok, _ = await connect("/ws/desk/", officer)
    assert ok
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    assert ok

    await chat.send_json_to({"type": "ack_statement"})
    await chat.send_json_to({"type": "message", "client_id": "c-1", "body": "驾驶证要不要年检？"})
    ack = await receive_until(chat, "ack")
    assert ack["client_id"] == "c-1" and ack["seq"] == 1
    assert await sync_to_async(Message.objects.filter(conversation=conversation, seq=1).exists)()

    seen_by_desk = await receive_until(desk, "message")
    assert seen_by_desk["body"] == "驾驶证要不要年检？" and seen_by_desk["conversation"] == conversation.id

    await desk.send_json_to(
        {"type": "message", "conversation": conversation.id, "client_id": "o-1", "body": "c证无需年检。"}
    )
    await receive_until(desk, "ack")
    reply = await receive_until(chat, "message")
    while reply["sender"] != "officer":
        reply = await receive_until(chat, "message")
    assert reply["body"] == "c证无需年检。"
    last_seen = reply["seq"]

    # The citizen's socket drops; the officer keeps writing; on resume exactly the missed ones arrive.
    await chat.disconnect()
    for n in range(3):
        await desk.send_json_to(
            {"type": "message", "conversation": conversation.id, "client_id": f"o-{n + 2}", "body": f"补充说明{n}"}
        )
        await receive_until(desk, "ack")
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_json_to({"type": "resume", "after": last_seen})
    history = await receive_until(chat, "history")
    assert [m["body"] for m in history["messages"]] == ["补充说明0", "补充说明1", "补充说明2"]
    assert [m["seq"] for m in history["messages"]] == list(range(last_seen + 1, last_seen + 4))
    await chat.disconnect()
    await desk.disconnect()


async def test_resending_unacked_message_after_reconnect_makes_no_duplicate():
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_json_to({"type": "message", "client_id": "dup-1", "body": "户口迁移要什么材料？"})
    await chat.disconnect()  # dropped before reading the ack
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_json_to({"type": "message", "client_id": "dup-1", "body": "户口迁移要什么材料？"})
    ack = await receive_until(chat, "ack")
    assert ack["seq"] == 1
    count = await sync_to_async(Message.objects.filter(conversation=conversation, sender=citizen).count)()
    assert count == 1
    await chat.disconnect()


async def test_anonymous_foreign_origin_and_strangers_are_refused():
    window, citizen, officer, conversation = await setup_chat()
    # Refusals are accepted, then closed with the code, so that the browser sees it (tests/security).
    refused, ok, code = await connect(f"/ws/chat/{conversation.id}/")
    assert (await refused.receive_output())["code"] == 4401
    _, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen, origin="http://evil.example.com")
    assert not ok
    stranger = await sync_to_async(factories.citizen)()
    refused, ok, code = await connect(f"/ws/chat/{conversation.id}/", stranger)
    assert (await refused.receive_output())["code"] == 4403
    refused, ok, code = await connect("/ws/desk/", citizen)
    assert (await refused.receive_output())["code"] == 4403
    other_officer = await sync_to_async(factories.officer)(await sync_to_async(factories.window)())
    desk, ok, _ = await connect("/ws/desk/", other_officer)
    assert ok
    await desk.send_json_to({"type": "message", "conversation": conversation.id, "client_id": "x", "body": "越权"})
    error = await receive_until(desk, "error")
    assert error["code"] == "forbidden"
    await desk.send_json_to({"type": "resume", "conversation": conversation.id, "after": 0})
    error = await receive_until(desk, "error")
    assert error["code"] == "not_found"  # another window's conversation: the same answer as an unknown id
    await desk.disconnect()


@pytest.mark.parametrize(
    "raw, code",
    [
        ("{not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": "launch_missiles"}), "unknown_type"),
        (json.dumps({"type": "message", "client_id": "e1", "body": ""}), "invalid"),
        (json.dumps({"type": "message", "client_id": "e2", "body": "长" * 2001}), "invalid"),
        (json.dumps({"type": "resume", "after": "abc"}), "bad_frame"),
        (json.dumps({"type": "rate", "rating": 5}), "invalid"),
    ],
)
async def test_bad_frames_get_chinese_errors_and_socket_stays_usable(raw, code):
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_to(text_data=raw)
    error = await receive_until(chat, "error")
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    await chat.send_json_to({"type": "message", "client_id": "ok-1", "body": "正常的问题"})
    assert (await receive_until(chat, "ack"))["seq"] == 1
    await chat.disconnect()


async def test_flood_is_rate_limited_then_recovers(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (3, 60)}
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    for n in range(4):
        await chat.send_json_to({"type": "message", "client_id": f"f{n}", "body": f"消息{n}"})
    acks, errors = 0, 0
    while acks + errors < 4:
        frame = await chat.receive_json_from(timeout=3)
        acks += frame["type"] == "ack"
        errors += frame["type"] == "error" and frame["code"] == "rate_limited"
    assert (acks, errors) == (3, 1)
    stored = await sync_to_async(Message.objects.filter(conversation=conversation, sender=citizen).count)()
    assert stored == 3
    await chat.disconnect()


async def test_desk_state_lists_queue_chats_and_backlog():
    window, citizen, officer, conversation = await setup_chat()
    await sync_to_async(actions.send_message)(conversation=conversation, sender=citizen, body="留言问题", client_id="q")
    desk, ok, _ = await connect("/ws/desk/", officer)
    await desk.send_json_to({"type": "state"})
    state = await receive_until(desk, "state")
    assert [c["id"] for c in state["backlog"]] == [conversation.id]
    assert state["status"] == "online"
    await desk.send_json_to({"type": "take", "conversation": conversation.id})
    await receive_until(desk, "conversation")
    status = await sync_to_async(lambda: Conversation.objects.get(pk=conversation.pk).status)()
    assert status == "active"
    await desk.disconnect()
    online = await sync_to_async(lambda: officer.presence.__class__.objects.get(officer=officer).status)()
    assert online == "offline"


async def test_desk_transfer_frame():
    window, citizen, officer, conversation = await setup_chat()
    target = await sync_to_async(factories.window)()
    desk, ok, _ = await connect("/ws/desk/", officer)
    await desk.send_json_to({"type": "transfer", "conversation": conversation.id, "window": 999999})
    assert (await receive_until(desk, "error"))["code"] == "not_found"
    await desk.send_json_to(
        {"type": "transfer", "conversation": conversation.id, "window": target.id, "note": "请协助"}
    )
    done = await receive_until(desk, "transferred")
    assert done["window"] == target.id
    moved = await sync_to_async(lambda: Conversation.objects.get(pk=conversation.pk).window_id)()
    assert moved == target.id
    await desk.disconnect()


async def test_silent_socket_is_closed_and_chinese_goes_out_as_utf8(settings):
    settings.WS_IDLE_TIMEOUT_SECONDS = 1
    settings.CHAT_PING_SECONDS = 1  # a pinging page is given three of its intervals
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_json_to({"type": "message", "client_id": "u1", "body": "驾驶证要不要年检？"})
    raw = None
    for _ in range(10):
        raw = (await chat.receive_output(timeout=3))["text"]
        if '"type":"message"' in raw:
            break
    assert "驾驶证要不要年检" in raw and "\\u" not in raw
    while True:
        # The close comes 3 s after the last frame the page sent; wait well beyond that.
        output = await chat.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4408


async def test_pings_are_answered_and_not_counted_against_the_frame_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ws_frame": (3, 60)}
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    for _ in range(5):
        await chat.send_json_to({"type": "ping"})
        assert (await chat.receive_json_from(timeout=3))["type"] == "pong"
    await chat.send_json_to({"type": "message", "client_id": "p1", "body": "还在吗？"})
    assert (await receive_until(chat, "ack"))["seq"] == 1
    await chat.disconnect()


async def test_a_burst_from_the_desk_arrives_in_order_exactly_once():
    window, citizen, officer, conversation = await setup_chat()
    desk, ok, _ = await connect("/ws/desk/", officer)
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await chat.send_json_to({"type": "message", "client_id": "q", "body": "社保断了怎么办？"})
    await receive_until(chat, "ack")
    await desk.send_json_to(
        {"type": "message", "conversation": conversation.id, "client_id": "a0", "body": "可以补缴。"}
    )
    await receive_until(desk, "ack")
    # Ten more without waiting for acks: the short path, from the event loop on PostgreSQL.
    for n in range(1, 11):
        await desk.send_json_to(
            {"type": "message", "conversation": conversation.id, "client_id": f"a{n}", "body": f"第{n}条说明"}
        )
    acks = [await receive_until(desk, "ack") for _ in range(10)]
    assert [a["client_id"] for a in acks] == [f"a{n}" for n in range(1, 11)]
    seqs = [a["seq"] for a in acks]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    bodies = []
    while len(bodies) < 10:
        frame = await receive_until(chat, "message")
        if frame["client_id"].startswith("a") and frame["client_id"] != "a0":
            bodies.append((frame["seq"], frame["body"]))
    assert bodies == [(seqs[n - 1], f"第{n}条说明") for n in range(1, 11)]
    stored = await sync_to_async(Message.objects.filter(conversation=conversation, sender=officer).count)()
    assert stored == 11
    await chat.disconnect()
    await desk.disconnect()


@pytest.mark.parametrize(
    "conversation_field, code",
    [("abc", "bad_frame"), (0, "bad_frame"), (None, "bad_frame"), (999999, "not_found")],
)
async def test_desk_message_to_a_bad_conversation_gets_an_error_and_the_desk_goes_on(conversation_field, code):
    window, citizen, officer, conversation = await setup_chat()
    desk, ok, _ = await connect("/ws/desk/", officer)
    await desk.send_json_to({"type": "message", "conversation": conversation_field, "client_id": "x", "body": "答复"})
    error = await receive_until(desk, "error")
    assert error["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    await desk.send_json_to({"type": "state"})
    assert (await receive_until(desk, "state"))["type"] == "state"
    assert not await sync_to_async(Message.objects.filter(client_id="x").exists)()
    await desk.disconnect()


async def test_desk_hears_whether_the_citizen_is_on_the_chat_page():
    window, citizen, officer, conversation = await setup_chat()
    desk, ok, _ = await connect("/ws/desk/", officer)
    await desk.send_json_to({"type": "state"})
    assert [c["citizen_online"] for c in (await receive_until(desk, "state"))["queue"]] in ([], [False])

    first_tab, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    assert ok
    arrived = await receive_until(desk, "citizen_presence")
    assert arrived == {"type": "citizen_presence", "conversation": conversation.id, "online": True}
    await first_tab.send_json_to({"type": "ack_statement"})
    await first_tab.send_json_to({"type": "message", "client_id": "c-1", "body": "驾驶证怎么换领？"})
    queued = await receive_until(desk, "conversation")
    assert queued["conversation"]["citizen_online"] is True

    # A second tab, then the first one closes: the citizen is still on the page, and the desk hears nothing.
    second_tab, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await first_tab.disconnect()
    await desk.send_json_to({"type": "state"})
    state = await receive_until(desk, "state")
    assert [(c["id"], c["citizen_online"]) for c in state["queue"] + state["chats"]] == [(conversation.id, True)]

    await second_tab.disconnect()
    left = await receive_until(desk, "citizen_presence")
    assert left == {"type": "citizen_presence", "conversation": conversation.id, "online": False}
    await desk.send_json_to({"type": "state"})
    state = await receive_until(desk, "state")
    assert [c["citizen_online"] for c in state["queue"] + state["chats"]] == [False]
    await desk.disconnect()


async def test_a_chat_page_whose_process_died_is_swept_as_left():
    window, citizen, officer, conversation = await setup_chat()
    desk, ok, _ = await connect("/ws/desk/", officer)
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await receive_until(desk, "citizen_presence")
    # The process holding the page dies: no disconnect, its row only stops being refreshed.
    await sync_to_async(lambda: CitizenConnection.objects.update(last_seen=timezone.now() - timedelta(seconds=71)))()
    await sync_to_async(actions.expire_stale_citizen_pages)()
    left = await receive_until(desk, "citizen_presence")
    assert left["online"] is False
    # The process was only stalled after all: its next refresh of its open pages brings the citizen back.
    pages = {name: c for name, c in consumers.open_pages.pages.items() if c.id == conversation.id}
    assert await sync_to_async(actions.refresh_citizen_pages)(pages=pages) == 1
    back = await receive_until(desk, "citizen_presence")
    assert back["online"] is True
    await chat.disconnect()
    await desk.disconnect()


async def test_a_process_refreshes_its_chat_pages_without_their_pings(settings):
    settings.CITIZEN_REFRESH_SECONDS = 1
    window, citizen, officer, conversation = await setup_chat()
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    chat2, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)

    def last_seen():
        return sorted(CitizenConnection.objects.values_list("last_seen", flat=True))

    opened = await sync_to_async(last_seen)()
    assert len(opened) == 2
    # A ping is answered but writes nothing.
    await chat.send_json_to({"type": "ping"})
    assert (await chat.receive_json_from(timeout=3))["type"] == "pong"
    assert await sync_to_async(last_seen)() == opened
    await asyncio.sleep(2.5)
    refreshed = await sync_to_async(last_seen)()
    assert all(after > before for before, after in zip(opened, refreshed, strict=True))
    await chat.disconnect()
    await chat2.disconnect()
    assert conversation.id not in {c.id for c in consumers.open_pages.pages.values()}


async def test_a_desk_that_is_open_sees_the_transfer_note_of_a_chat_transferred_in():
    window, citizen, officer, conversation = await setup_chat()
    target = await sync_to_async(factories.window)()
    receiver = await sync_to_async(factories.officer)(target)
    await sync_to_async(actions.send_message)(conversation=conversation, sender=citizen, body="户口迁移", client_id="q")
    sender_desk, ok, _ = await connect("/ws/desk/", officer)
    receiving_desk, ok, _ = await connect("/ws/desk/", receiver)
    chat, ok, _ = await connect(f"/ws/chat/{conversation.id}/", citizen)
    await receive_until(sender_desk, "citizen_presence")
    await sender_desk.send_json_to({"type": "take", "conversation": conversation.id})
    await receive_until(sender_desk, "conversation")

    await sender_desk.send_json_to(
        {"type": "transfer", "conversation": conversation.id, "window": target.id, "note": "请户籍窗口接办"}
    )
    # The sender's desk hears "transferred" and that the chat left its own chats, in either order.
    frames = []
    while not {"taken", "transferred"} <= {f["type"] for f in frames} and len(frames) < 10:
        frames.append(await sender_desk.receive_json_from(timeout=3))
    assert {"type": "taken", "conversation": conversation.id, "left": True} in frames
    arrived = await receive_until(receiving_desk, "conversation")
    assert arrived["conversation"]["window"] == target.id
    assert "请户籍窗口接办" in arrived["conversation"]["transfer_note"]
    assert arrived["conversation"]["citizen_online"] is True
    # The note is for officers: the citizen's page gets the new state without it.
    seen_by_citizen = await receive_until(chat, "conversation")
    while seen_by_citizen["conversation"]["window"] != target.id:  # the take came first
        seen_by_citizen = await receive_until(chat, "conversation")
    assert "transfer_note" not in seen_by_citizen["conversation"]
    for communicator in (chat, receiving_desk, sender_desk):
        await communicator.disconnect()
