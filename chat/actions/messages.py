"""Messages: the one message path (send_message, and asend_message for the event loop), typing and reads.

A message takes one of two ways, both inside send_message:
- the fast way, for an established conversation (the citizen asked, an officer answered): one
  UPDATE ... RETURNING authorizes the sender, takes the row lock and reserves the next seq, and the
  INSERT rides along (on PostgreSQL in the same statement, which commits by itself);
- the full way for everything else: the locked row, the checks that word each refusal in Chinese, and
  the first question (the queue) or the first answer (assignment).
The fast way's WHERE and the full way's checks state the same rule, who may send; the test
tests/chat/test_message_path.py::test_every_refusal_is_the_same_on_both_ways holds them together.
"""

import contextlib
import datetime
import functools
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone

from departments.models import Window
from infra import ratelimit
from sms import notices as sms_notices

from .. import loop_connection, selectors
from ..events import conversation_group, send_event_now, send_event_on_commit, user_group, window_group
from ..models import Conversation, Message, SenderKind, Status
from ..payloads import message_payload
from .base import ChatError, add_message, add_system_line, audience, lock_conversation
from .queue import assign, start_waiting

logger = logging.getLogger(__name__)

RATE_LIMITED_TEXT = "发送太频繁了，请稍等片刻再发。"
DEACTIVATED_TEXT = "您的账号已停用，不能发送消息。"


def validate_body(body) -> str:
    if not isinstance(body, str):
        raise ChatError("消息内容必须是文字。")
    body = body.strip()
    if not body:
        raise ChatError("消息不能为空。")
    if len(body) > settings.CHAT_MESSAGE_MAX_LENGTH:
        raise ChatError(f"消息太长了，最多 {settings.CHAT_MESSAGE_MAX_LENGTH} 个字。")
    return body


def validate_client_id(client_id) -> str:
    if client_id in (None, ""):
        return ""
    if not isinstance(client_id, str) or len(client_id) > 64:
        raise ChatError("消息编号无效。")
    return client_id


def send_message(*, conversation: Conversation | int, sender, body, client_id="") -> tuple[Message, bool]:
    """Persist a message from the citizen or an officer; return it and whether it is new.

    Takes the conversation or its id: the action authorizes the sender itself, so a caller need not
    load the conversation first. Sending the same client_id again returns the first message and
    publishes nothing.
    """
    body = validate_body(body)
    client_id = validate_client_id(client_id)
    if not ratelimit.hit("chat_message", str(sender.pk)):
        raise ChatError(RATE_LIMITED_TEXT, "rate_limited")
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    return _store_or_find_resend(_store, conversation_id, sender=sender, body=body, client_id=client_id)


async def asend_message(*, conversation_id: int, sender, body, client_id) -> tuple[Message, bool]:
    """send_message from the event loop (the consumers).

    The fast way runs on the event loop's own connection (chat/loop_connection.py), without a hop to the
    database thread; what it does not store takes the full way there, and so does every message the
    loop's connection could not store at once.
    """
    body = validate_body(body)
    client_id = validate_client_id(client_id)
    if not loop_connection.available() or not client_id:
        # Without a client id a statement whose answer was lost could not be retried safely.
        return await database_sync_to_async(send_message)(
            conversation=conversation_id, sender=sender, body=body, client_id=client_id
        )
    if not await ratelimit.ahit("chat_message", str(sender.pk)):
        raise ChatError(RATE_LIMITED_TEXT, "rate_limited")
    try:
        message = await _store_fast_way_on_loop(conversation_id, sender=sender, body=body, client_id=client_id)
    except loop_connection.Duplicate:
        return await database_sync_to_async(_resent_message)(conversation_id, sender=sender, client_id=client_id), False
    except loop_connection.Unavailable as error:
        # Not stored, or (a connection lost after its COMMIT) stored without an answer: the database thread
        # tries both ways, and finds such a message by its client id.
        level = logging.DEBUG if isinstance(error, loop_connection.Busy) else logging.WARNING
        logger.log(level, "the event loop's connection did not store a message (%s); taking the database thread", error)
        message, created = await database_sync_to_async(_store_or_find_resend)(
            _store, conversation_id, sender=sender, body=body, client_id=client_id
        )
        if not created:
            # Perhaps the loop's own, committed but never published: publish it (pages skip a seq they have).
            send_event_now(audience(message.conversation), "message.new", {"message": message_payload(message)})
        return message, created
    if message is not None:
        return message, True
    # Not an established conversation, or a refusal to word: the full way decides.
    return await database_sync_to_async(_store_or_find_resend)(
        _store_full_way, conversation_id, sender=sender, body=body, client_id=client_id
    )


async def _store_fast_way_on_loop(conversation_id: int, *, sender, body: str, client_id: str) -> Message | None:
    """Store a message in an established conversation on the event loop's connection, or return None.

    Raises loop_connection.Duplicate for a resent client id, loop_connection.Unavailable when the
    connection stored nothing (busy or away).
    """
    now = timezone.now()
    vendor = loop_connection.vendor()
    planned = _fast_way_statements(
        conversation_id, sender=sender, body=body, client_id=client_id, now=now, vendor=vendor
    )
    if planned is None:
        return None
    statements, kind = planned
    if vendor == "postgresql":
        row = await loop_connection.fetchone(*statements)
    else:
        row = await loop_connection.transact(lambda execute: _run_sqlite_fast_way(execute, statements, conversation_id))
    if row is None:
        return None
    message = _message_from_row(row, conversation_id, sender=sender, kind=kind, body=body, client_id=client_id, now=now)
    send_event_now(_row_audience(row, conversation_id), "message.new", {"message": message_payload(message)})
    return message


def _store_or_find_resend(store, conversation_id: int, *, sender, body: str, client_id: str) -> tuple[Message, bool]:
    """Run store(); a resend of a committed message (the same client id) returns the first one instead."""
    try:
        return store(conversation_id, sender=sender, body=body, client_id=client_id), True
    except IntegrityError:
        # From this process or another: the unique (conversation, sender, client_id) refused it.
        existing = _resent_message(conversation_id, sender=sender, client_id=client_id) if client_id else None
        if existing is None:
            raise
        return existing, False


def _resent_message(conversation_id: int, *, sender, client_id: str) -> Message | None:
    return (
        Message.objects.filter(conversation_id=conversation_id, sender=sender, client_id=client_id)
        .select_related("sender", "conversation")
        .first()
    )


def _store(conversation_id: int, *, sender, body: str, client_id: str) -> Message:
    """Store the message the fast way if the conversation is established, else the full way."""
    return _store_fast_way(conversation_id, sender=sender, body=body, client_id=client_id) or _store_full_way(
        conversation_id, sender=sender, body=body, client_id=client_id
    )


def _fast_way_statements(
    conversation_id: int, *, sender, body: str, client_id: str, now: datetime.datetime, vendor: str = "postgresql"
) -> tuple[list[tuple[str, list]] | tuple[str, list], str] | None:
    """Return the SQL of the fast way and the sender kind, or None for a sender who is neither citizen nor officer.

    On PostgreSQL: one statement (sql, params), a data-modifying CTE that returns (message id, seq,
    officer, window). On SQLite, which has no such CTE: [update, insert], run in one transaction; the
    INSERT's conversation and seq come first and from the UPDATE's row. No row back means the full way
    must decide (a first question or answer, closed, someone else's), which also words the refusal.
    Raw SQL because the ORM's update() returns no columns; SQLite takes `now` as Django stores it there.
    """
    if vendor != "postgresql":
        now = loop_connection.sqlite_datetime(now)
    if sender.is_citizen:
        kind, who_params = SenderKind.CITIZEN, [sender.id, sender.id]
    elif sender.is_officer:
        kind, who_params = SenderKind.OFFICER, [sender.id, sender.id, sender.id]
    else:
        return None
    update_params = [now, conversation_id, Status.CLOSED.value, *who_params]
    insert_params = [sender.id, kind.value, body, client_id, now]
    sql = _fast_way_sql(kind, vendor)
    if vendor == "postgresql":
        return (sql, update_params + insert_params), kind
    update, insert = sql
    return [(update, update_params), (insert, insert_params)], kind


@functools.cache
def _fast_way_sql(kind: str, vendor: str) -> str | tuple[str, str]:
    """The fast way's SQL for a sender kind (built once): PostgreSQL's one statement, or SQLite's two."""
    table = Conversation._meta.db_table
    # The sender object may be a socket's old copy: the account must still be active in the database
    # (deactivation also ends the sockets, but that event could be lost).
    active = f"EXISTS (SELECT 1 FROM {get_user_model()._meta.db_table} u WHERE u.id = %s AND u.is_active)"
    if kind == SenderKind.CITIZEN:
        who = f"citizen_id = %s AND first_question_at IS NOT NULL AND {active}"
    else:
        links = Window.officers.field
        who = (
            f"officer_id = %s AND first_response_at IS NOT NULL AND EXISTS ("
            f"SELECT 1 FROM {links.m2m_db_table()} link JOIN {Window._meta.db_table} w "
            f"ON w.id = link.{links.m2m_column_name()} "
            f"WHERE w.id = {table}.window_id AND link.{links.m2m_reverse_name()} = %s AND w.is_active) AND {active}"
        )
    update = (
        f"UPDATE {table} SET last_seq = last_seq + 1, last_message_at = %s "
        f"WHERE id = %s AND status <> %s AND {who} RETURNING id, last_seq, officer_id, window_id"
    )
    insert = (
        f"INSERT INTO {Message._meta.db_table} "
        "(conversation_id, seq, sender_id, sender_kind, body, client_id, created_at) "
    )
    if vendor == "postgresql":
        return (
            f"WITH c AS ({update}), m AS ({insert} SELECT id, last_seq, %s, %s, %s, %s, %s FROM c RETURNING id) "
            "SELECT m.id, c.last_seq, c.officer_id, c.window_id FROM m, c"
        )
    return update, f"{insert} VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"


def _run_sqlite_fast_way(execute, statements, conversation_id: int) -> tuple | None:
    """SQLite's fast way in the caller's transaction: the UPDATE reserves the seq, the INSERT stores at it.

    execute(sql, params) returns the statement's first row. Returns (message id, seq, officer, window), or
    None when the UPDATE matched no row (the full way decides).
    """
    (update, update_params), (insert, insert_params) = statements
    reserved = execute(update, update_params)
    if reserved is None:
        return None
    return (execute(insert, [conversation_id, reserved[1], *insert_params])[0], *reserved[1:])


def _message_from_row(row, conversation_id: int, *, sender, kind: str, body: str, client_id: str, now) -> Message:
    """Return the message the fast way stored, from its row (message id, seq, officer, window)."""
    message_id, seq, _officer_id, _window_id = row
    return Message(
        id=message_id,
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        sender_kind=kind,
        body=body,
        client_id=client_id,
        created_at=now,
    )


def _row_audience(row, conversation_id: int) -> list[str]:
    _message_id, _seq, officer_id, window_id = row
    return [conversation_group(conversation_id), user_group(officer_id) if officer_id else window_group(window_id)]


def _store_fast_way(conversation_id: int, *, sender, body: str, client_id: str) -> Message | None:
    """Store a message in an established conversation on the database thread, or return None."""
    now = timezone.now()
    planned = _fast_way_statements(
        conversation_id, sender=sender, body=body, client_id=client_id, now=now, vendor=connection.vendor
    )
    if planned is None:
        return None
    statements, kind = planned
    if connection.vendor == "postgresql":
        # One statement commits by itself; inside a caller's transaction a savepoint keeps a
        # duplicate client id from aborting the caller's work.
        guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
        with guard, connection.cursor() as cursor:
            cursor.execute(*statements)
            row = cursor.fetchone()
    else:
        with transaction.atomic(), connection.cursor() as cursor:

            def execute(sql, params):
                cursor.execute(sql, params)
                return cursor.fetchone()

            row = _run_sqlite_fast_way(execute, statements, conversation_id)
    if row is None:
        return None
    message = _message_from_row(row, conversation_id, sender=sender, kind=kind, body=body, client_id=client_id, now=now)
    send_event_on_commit(_row_audience(row, conversation_id), "message.new", {"message": message_payload(message)})
    return message


@transaction.atomic
def _store_full_way(conversation_id: int, *, sender, body: str, client_id: str) -> Message:
    """Store a message on the locked row, checking who may send, and start the queue or the answer."""
    try:
        conversation = lock_conversation(conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("没有找到这个会话。") from None
    if conversation.status == Status.CLOSED:
        raise ChatError("该会话已结束，如有新问题请重新发起咨询。", "closed")
    if not get_user_model().objects.filter(pk=sender.pk, is_active=True).exists():
        raise ChatError(DEACTIVATED_TEXT, "forbidden")
    if sender.is_citizen:
        if conversation.citizen_id != sender.id:
            raise ChatError("您无权在这个会话中发言。", "forbidden")
        message = add_message(
            conversation, sender=sender, sender_kind=SenderKind.CITIZEN, body=body, client_id=client_id
        )
        if conversation.first_question_at is None:
            start_waiting(conversation)
        return message
    if not selectors.officer_may_serve(sender, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if conversation.officer_id not in (None, sender.id):
        raise ChatError("这个会话已由其他值班人员接待。", "forbidden")
    if conversation.officer_id is None:
        assign(conversation, sender)
    message = add_message(conversation, sender=sender, sender_kind=SenderKind.OFFICER, body=body, client_id=client_id)
    if conversation.first_response_at is None:
        conversation.first_response_at = message.created_at
        conversation.answered_live = not conversation.is_offline_question
        conversation.save(update_fields=["first_response_at", "answered_live"])
        if conversation.is_offline_question:
            # The citizen left; one SMS (after commit, at most one an hour) says the answer is in 我的咨询.
            sms_notices.notify_offline_answered(conversation=conversation)
    return message


@transaction.atomic
def post_system_notice(*, conversation: Conversation, body: str) -> Message:
    """Add a system line to a conversation, open or closed (e.g. the reply to a case), and publish it."""
    body = validate_body(body)
    return add_system_line(lock_conversation(conversation), body)


@transaction.atomic
def mark_read(*, conversation: Conversation, user, seq) -> None:
    """Record how far the citizen or the officer has read."""
    if not isinstance(seq, int) or seq < 0:
        raise ChatError("已读序号无效。")
    field = "citizen_read_seq" if user.is_citizen else "officer_read_seq"
    Conversation.objects.filter(pk=conversation.pk, **{f"{field}__lt": seq}).update(**{field: seq})


def notify_typing(*, conversation: Conversation, user) -> None:
    """Tell the other side that someone is typing; nothing is stored."""
    send_event_on_commit(
        audience(conversation),
        "typing",
        {"conversation": conversation.id, "sender": "citizen" if user.is_citizen else "officer"},
    )
