"""Messages sent from the event loop (actions.asend_message): on PostgreSQL the fast way runs on the loop's
own connection (chat/loop_connection.py); on SQLite everything takes the database thread. Either way the
user sees the same behaviour."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import connection, connections

from chat import actions, loop_connection
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


async def test_established_chat_is_stored_in_order_and_from_the_loop_on_postgresql():
    window, citizen, officer, conversation = await answered_chat()
    first, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="补缴要带什么？", client_id="c1"
    )
    second, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=officer, body="身份证。", client_id="o1"
    )
    assert created and (first.seq, second.seq) == (conversation.last_seq + 1, conversation.last_seq + 2)
    assert (await stored(conversation.id))[-2:] == [(first.seq, "c1", "补缴要带什么？"), (second.seq, "o1", "身份证。")]
    assert loop_connection.available() == (connection.vendor == "postgresql")
    assert (loop_connection._loop_connection().connection is not None) == loop_connection.available()


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
    if not loop_connection.available():
        # SQLite: every message takes the database thread; a connection closed under it is reopened.
        await database_sync_to_async(connections.close_all)()
        message, created = await actions.asend_message(
            conversation_id=conversation.id, sender=citizen, body="第二条", client_id="k2"
        )
        assert created and [row[1] for row in await stored(conversation.id)][-2:] == ["k1", "k2"]
        return
    # The server ends the loop's connection, as a PostgreSQL restart would.
    pid = loop_connection._loop_connection().connection.info.backend_pid
    await sync_to_async(lambda: connection.cursor().execute("SELECT pg_terminate_backend(%s)", [pid]))()
    message, created = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="第二条", client_id="k2"
    )
    again, _ = await actions.asend_message(
        conversation_id=conversation.id, sender=citizen, body="第三条", client_id="k3"
    )
    assert created and again.seq == message.seq + 1
    assert [row[1] for row in await stored(conversation.id)][-3:] == ["k1", "k2", "k3"]
    assert loop_connection._loop_connection().connection.info.backend_pid != pid
