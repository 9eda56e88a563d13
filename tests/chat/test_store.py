"""Messages sent from the event loop (actions.asend_message): the fast way runs on the loop's own
connection (chat/loop_connection.py), everything else on the database thread. Either way the user sees the
same behaviour."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection, connections, transaction

from chat import actions, loop_connection
from chat.events import conversation_group
from chat.models import Conversation, Message
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def close_connections():
    yield
    await loop_connection.close_connections()
    await database_sync_to_async(connections.close_all)()


@sync_to_async
def answered_chat():
    window = factories.window(factories.department(name="省人力社保厅"), name="养老保险")
    citizen, officer = factories.citizen(), factories.officer(window)
    actions.desk_connected(officer=officer, channel_name="desk-store-test")
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="社保断了怎么办？", client_id="q")
    actions.send_message(conversation=conversation, sender=officer, body="可以补缴。", client_id="a")
    return window, citizen, officer, Conversation.objects.get(pk=conversation.pk)


def stored(conversation_id):
    return sync_to_async(
        lambda: list(
            Message.objects.filter(conversation_id=conversation_id)
            .order_by("seq")
            .values_list("seq", "client_id", "body")
        )
    )()


async def test_established_chat_is_stored_in_order_and_from_the_loop():
    window, citizen, officer, conversation = await answered_chat()
    first, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="补缴要带什么？", client_id="c1"
    )
    second, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=officer, body="身份证。", client_id="o1"
    )
    assert created and (first.seq, second.seq) == (conversation.last_seq + 1, conversation.last_seq + 2)
    assert (await stored(conversation.id))[-2:] == [(first.seq, "c1", "补缴要带什么？"), (second.seq, "o1", "身份证。")]
    assert loop_connection.available()
    own = loop_connection._loop_connection()
    assert own.connection is not None
    if connection.vendor == "sqlite":
        assert own.commits == 2  # both stored on the loop, none through the database thread


async def test_a_resend_gets_the_first_message_back():
    window, citizen, officer, conversation = await answered_chat()
    first, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="还有问题", client_id="dup"
    )
    again, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="还有问题", client_id="dup"
    )
    assert not created and again.pk == first.pk and again.seq == first.seq
    assert [row[1] for row in await stored(conversation.id)].count("dup") == 1


async def test_refusals_and_bad_input_are_worded_in_chinese_and_store_nothing():
    window, citizen, officer, conversation = await answered_chat()
    before = await stored(conversation.id)
    stranger = await sync_to_async(factories.citizen)()
    with pytest.raises(actions.ChatError) as error:
        await actions.asend_message(conversation_id=conversation.id, sender=stranger, body="插一句", client_id="s")
    assert error.value.code == "forbidden" and "无权" in error.value.message
    await sync_to_async(window.officers.remove)(officer)
    with pytest.raises(actions.ChatError, match="值班人员"):
        await actions.asend_message(conversation_id=conversation.id, sender=officer, body="还能答吗", client_id="o")
    with pytest.raises(actions.ChatError, match="不能为空"):
        await actions.asend_message(conversation_id=conversation.id, sender=citizen, body="   ", client_id="e")
    assert await stored(conversation.id) == before


async def test_the_rate_limit_holds_on_the_loop(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (3, 60)}
    window, citizen, officer, conversation = await answered_chat()
    await sync_to_async(cache.clear)()
    for n in range(3):
        await actions.asend_message(conversation_id=conversation.id, sender=citizen, body=f"第{n}条", client_id=f"r{n}")
    with pytest.raises(actions.ChatError) as error:
        await actions.asend_message(conversation_id=conversation.id, sender=citizen, body="第4条", client_id="r3")
    assert error.value.code == "rate_limited"
    assert "r3" not in [row[1] for row in await stored(conversation.id)]


async def test_a_lost_database_connection_costs_no_message():
    window, citizen, officer, conversation = await answered_chat()
    await actions.asend_message(conversation_id=conversation.id, sender=citizen, body="第一条", client_id="k1")
    own = loop_connection._loop_connection()
    if connection.vendor == "sqlite":
        own.connection.close()  # closed under it, as a crashed handle would be
    else:
        # The server ends the loop's connection, as a PostgreSQL restart would.
        pid = own.connection.info.backend_pid
        await sync_to_async(lambda: connection.cursor().execute("SELECT pg_terminate_backend(%s)", [pid]))()
    message, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="第二条", client_id="k2"
    )
    again, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="第三条", client_id="k3"
    )
    assert created and again.seq == message.seq + 1
    assert [row[1] for row in await stored(conversation.id)][-3:] == ["k1", "k2", "k3"]
    assert own.connection is not None
    if connection.vendor == "postgresql":
        assert own.connection.info.backend_pid != pid


@pytest.mark.skipif(
    connections["default"].vendor != "sqlite", reason="SQLite only: PostgreSQL's writers do not take one lock"
)
async def test_while_another_connection_writes_sqlite_the_loop_does_not_wait_and_the_message_is_stored():
    """The loop's SQLite connection does not block on the write lock: after a few tries the message takes
    the database thread, which stores it once the other writer is done, in order; the next message is the
    loop's again."""
    window, citizen, officer, conversation = await answered_chat()
    own = loop_connection._loop_connection()
    loop = asyncio.get_running_loop()
    holding, release = asyncio.Event(), threading.Event()

    def hold_the_write_lock():
        with transaction.atomic():  # BEGIN IMMEDIATE: the database's one write lock
            Conversation.objects.filter(pk=conversation.pk).update(citizen_read_seq=0)
            loop.call_soon_threadsafe(holding.set)
            release.wait(10)

    holder = asyncio.ensure_future(database_sync_to_async(hold_the_write_lock)())
    await asyncio.wait_for(holding.wait(), 10)
    commits = own.commits
    sending = asyncio.ensure_future(
        actions.asend_message(conversation_id=conversation.id, sender=citizen, body="锁着也要存", client_id="b1")
    )
    await asyncio.sleep(0.2)
    assert not sending.done() and own.commits == commits  # refused on the loop at once, waiting on the thread
    release.set()
    await holder
    message, created = await sending
    after, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="再来一条", client_id="b2"
    )
    assert created and after.seq == message.seq + 1
    assert [row[1] for row in await stored(conversation.id)][-2:] == ["b1", "b2"]
    assert own.commits == commits + 1  # b2 went through the loop again


async def test_a_message_committed_by_the_loop_whose_answer_was_lost_is_published_once_stored(monkeypatch):
    """The loop's connection breaks after its COMMIT: the database thread finds the message by its client id,
    and it is published all the same (a page skips a seq it already has), not left to the next resume."""
    window, citizen, officer, conversation = await answered_chat()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(conversation_group(conversation.id), channel)

    def lost_after_commit(run):
        async def run_then_break(*args):
            await run(*args)
            raise loop_connection.Unavailable("connection lost after COMMIT")

        return run_then_break

    monkeypatch.setattr(loop_connection, "transact", lost_after_commit(loop_connection.transact))
    monkeypatch.setattr(loop_connection, "fetchone", lost_after_commit(loop_connection.fetchone))
    message, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="答复收不到了吗？", client_id="lost-1"
    )
    assert not created and message.seq == conversation.last_seq + 1
    assert [row[1] for row in await stored(conversation.id)].count("lost-1") == 1
    event = await asyncio.wait_for(layer.receive(channel), 5)
    assert event["type"] == "message.new" and event["message"]["seq"] == message.seq
    assert event["message"]["body"] == "答复收不到了吗？"
