"""The queue and assignment: waiting, offline questions (留言), taking, transferring (转办).

Assignment has one trigger, offer_queue(window): whatever may free or add room (a first question, a
closed chat, an officer coming online, a transfer in) calls it, and it decides.
"""

import datetime
import time

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from departments.calendar import due_moment, due_text
from departments.models import Window

from .. import selectors
from ..desk_state import QUEUE_LIMIT, desk_queue_items, transfer_note
from ..events import conversation_group, queue_group, send_built_on_commit, send_event_on_commit, window_group
from ..models import Conversation, QueueCounter, Status, Transfer
from .base import ChatError, add_system_line, audience, lock_conversation, publish_conversation

OFFLINE_NOTICE = "当前没有值班人员在线。您的问题已作为留言记录，我们将在{due}答复，答复会出现在“我的咨询”中。"
# No apology here: the officer's canned reply "对不起，让您久等了。" makes it, and the citizen should not
# read it twice (issue 14).
BUSY_NOTICE = (
    "值班人员正忙，您的问题已记录为留言，值班人员空闲后会尽快答复；最迟将在{due}答复，答复会出现在“我的咨询”中。"
)


# A process builds a window's queue head at most this often, and its desk list at most this often (the
# first of a burst at once, then one for everything in between): in a surge one build serves many commits.
HEAD_EVERY_SECONDS = 0.2
DESK_LIST_EVERY_SECONDS = 0.5


def publish_queue(window_id: int, *, arrived: Conversation | None = None) -> None:
    """After commit, tell whom a change of the window's queue concerns, once per transaction.

    Someone left it (arrived=None): one queue.head event to the window's queue_group, heard by one
    listener per process (chat/queue_watch.py), which works out the place of each of its waiting sockets
    from their tickets; so a change costs one event per process however long the queue is, and every
    waiting citizen learns their place, not only the first ones.
    Someone joined at the back (arrived): nobody else's place moved; the arrival alone hears theirs.
    Either way one queue.changed to the window's desks with the waiting conversations they list.
    """
    send_built_on_commit(f"queue.{window_id}", lambda: _desk_events(window_id), every=DESK_LIST_EVERY_SECONDS)
    if arrived is None:
        send_built_on_commit(f"head.{window_id}", lambda: _head_events(window_id), every=HEAD_EVERY_SECONDS)
    else:
        conversation_id = arrived.id
        send_built_on_commit(f"arrived.{conversation_id}", lambda: _arrival_events(conversation_id))


def _head_events(window_id: int) -> list[tuple[list[str], str, dict]]:
    # Taken before the query: of two heads, the later built_at saw every commit the other saw.
    built_at = time.time()
    head = {**selectors.queue_head(window_id), "built_at": built_at}
    return [([queue_group(window_id)], "queue.head", {"head": head})]


def _desk_events(window_id: int) -> list[tuple[list[str], str, dict]]:
    queue = desk_queue_items(window_id)
    waiting = selectors.waiting_count(window_id) if len(queue) >= QUEUE_LIMIT else len(queue)
    return [([window_group(window_id)], "queue.changed", {"window": window_id, "waiting": waiting, "queue": queue})]


def _arrival_events(conversation_id: int) -> list[tuple[list[str], str, dict]]:
    conversation = Conversation.objects.filter(pk=conversation_id, status=Status.QUEUED).first()
    if conversation is None or conversation.ticket is None:
        return []
    position = selectors.queue_position(conversation)
    return [
        (
            [conversation_group(conversation_id)],
            "queue.position",
            {
                "conversation": conversation_id,
                "position": position,
                "ticket": conversation.ticket,
            },
        )
    ]


def _enqueue(conversation: Conversation) -> list[str]:
    """Give the locked conversation the next ticket (排队号) of its window; return the changed field."""
    # One statement, not three: every arrival of a surge takes a ticket (PostgreSQL and SQLite ≥ 3.35).
    table = connection.ops.quote_name(QueueCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_ticket = last_ticket + 1 WHERE window_id = %s RETURNING last_ticket",
            [conversation.window_id],
        )
        row = cursor.fetchone()
    if row is None:  # the window's first ticket ever
        QueueCounter.objects.get_or_create(window_id=conversation.window_id)
        QueueCounter.objects.filter(pk=conversation.window_id).update(last_ticket=F("last_ticket") + 1)
        row = [QueueCounter.objects.values_list("last_ticket", flat=True).get(pk=conversation.window_id)]
    conversation.ticket = row[0]
    return ["ticket"]


def make_offline_question(conversation: Conversation, *, now: datetime.datetime) -> list[str]:
    """Make the conversation an offline question (留言) due at its window's due moment; return the changed fields.

    A question keeps the due moment it was first given (a transfer does not move it). The caller saves
    the fields and tells the citizen, with due_text(conversation.due_at).
    """
    conversation.is_offline_question = True
    if conversation.due_at is None:
        conversation.due_at = due_moment(now, window=conversation.window)
    return ["is_offline_question", "due_at"]


def start_waiting(conversation: Conversation) -> None:
    """Queue the locked conversation's first question, or keep it as an offline question when nobody is on duty."""
    now = timezone.now()
    conversation.first_question_at = now
    conversation.queued_at = now
    fields = ["first_question_at", "queued_at"]
    if not selectors.available_officers(conversation.window).exists():
        conversation.status = Status.OFFLINE
        fields += ["status", *make_offline_question(conversation, now=now)]
        conversation.save(update_fields=fields)
        add_system_line(conversation, OFFLINE_NOTICE.format(due=due_text(conversation.due_at)))
        publish_conversation(conversation)
        return
    fields += _enqueue(conversation)
    conversation.save(update_fields=fields)
    add_system_line(conversation, "您的问题已送达，正在为您安排值班人员，请稍候。")
    publish_conversation(conversation)
    offer_queue(conversation.window)
    publish_queue(conversation.window_id, arrived=conversation)


def assign(conversation: Conversation, officer) -> None:
    """Give the locked conversation to the officer and tell both sides and the window's other desks."""
    was_queued = conversation.status == Status.QUEUED
    conversation.officer = officer
    conversation.status = Status.ACTIVE
    conversation.assigned_at = timezone.now()
    conversation.save(update_fields=["officer", "status", "assigned_at"])
    # Tell the window's other desks it left the queue or the backlog, and the officer's desk it arrived.
    send_event_on_commit(
        [window_group(conversation.window_id)], "conversation.taken", {"conversation": conversation.id}
    )
    add_system_line(conversation, f"{officer} 已接入，为您服务。")
    publish_conversation(conversation)
    if was_queued:
        publish_queue(conversation.window_id)


def offer_queue(window: Window) -> None:
    """Give the window's waiting conversations to its least-loaded online officers while any has room.

    The one trigger of automatic assignment; it does nothing for a window whose officers take chats themselves.
    """
    if not window.auto_assign:
        return
    # Room first: in a surge every arrival lands here while every officer is full, and the answer is
    # "nobody" without reading the queue.
    for _ in range(50):
        officer = selectors.least_loaded_officer(window)
        if officer is None:
            return
        conversation = selectors.queued_conversations(window.id).select_for_update(of=("self",)).first()
        if conversation is None:
            return
        assign(conversation, officer)


@transaction.atomic
def take_conversation(*, officer, conversation: Conversation) -> Conversation:
    """Let an officer take a waiting conversation or an offline question of their windows."""
    conversation = lock_conversation(conversation)
    if not selectors.officer_may_serve(officer, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if conversation.officer_id == officer.id and conversation.status == Status.ACTIVE:
        return conversation
    if conversation.status not in (Status.QUEUED, Status.OFFLINE):
        raise ChatError("这个会话已被接待或已结束。", "conflict")
    if conversation.status == Status.QUEUED:
        window = conversation.window
        load = selectors.loads(window_ids=[window.id], officer_ids=[officer.id]).get((officer.id, window.id), 0)
        if load >= window.max_concurrent_chats:
            raise ChatError(f"您在本窗口已有 {window.max_concurrent_chats} 个进行中的会话，请先结束一些。", "conflict")
    assign(conversation, officer)
    return conversation


@transaction.atomic
def take_next(*, officer) -> Conversation | None:
    """Give the officer the longest-waiting conversation of their windows where they have room.

    Return None when nobody waits; refuse (code "limit") when people wait only where the officer is full.
    """
    with_room = selectors.windows_with_room(officer)
    heads = [selectors.queued_conversations(w.id).first() for w in with_room]
    heads = [c for c in heads if c is not None]
    if not heads:
        full = [
            w
            for w in selectors.windows_of_officer(officer).exclude(id__in=[w.id for w in with_room])
            if selectors.queued_conversations(w.id).exists()
        ]
        if full:
            # Someone is waiting, but only where the officer's chats already reach the window's limit.
            raise ChatError(
                f"已达到同时接待上限（{max(w.max_concurrent_chats for w in full)}），请先结束一些会话。", "limit"
            )
        return None
    conversation = min(heads, key=lambda c: (c.queued_at, c.id))
    return take_conversation(officer=officer, conversation=conversation)


@transaction.atomic
def transfer_conversation(*, conversation: Conversation, officer, to_window: Window, note: str = "") -> Transfer:
    """Hand a conversation over to another window (转办); it keeps its history and its original waiting time.

    The waiting time counts in the figures; in the new window's queue it takes the next ticket.
    """
    conversation = lock_conversation(conversation)
    if not selectors.officer_may_serve(officer, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if conversation.status == Status.CLOSED:
        raise ChatError("该会话已结束，不能转办。", "closed")
    if conversation.officer_id not in (None, officer.id):
        raise ChatError("这个会话由其他值班人员接待。", "forbidden")
    if not to_window.is_active or not to_window.department.is_active:
        raise ChatError("目标窗口暂停服务，请选择其他窗口。")
    if to_window.id == conversation.window_id:
        raise ChatError("不能转办到当前窗口。")
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > 500:
        raise ChatError("内部备注最多 500 个字。")
    from_window = conversation.window
    old_groups = audience(conversation)[1:]
    transfer = Transfer.objects.create(
        conversation=conversation, from_window=from_window, to_window=to_window, by=officer, note=note
    )
    conversation.window = to_window
    conversation.officer = None
    conversation.assigned_at = None
    fields = ["window", "officer", "assigned_at", "status"]
    if conversation.first_question_at is None or selectors.available_officers(to_window).exists():
        conversation.status = Status.QUEUED
        if conversation.first_question_at is not None:
            # It queues behind those already waiting there: a place only ever moves forward.
            fields += _enqueue(conversation)
        text = f"您的咨询已由 {from_window} 转至 {to_window}，对话记录一并转交，请稍候。"
    else:
        conversation.status = Status.OFFLINE
        fields += make_offline_question(conversation, now=timezone.now())
        text = (
            f"您的咨询已由 {from_window} 转至 {to_window}。该窗口值班人员暂不在线，"
            f"将在{due_text(conversation.due_at)}答复，答复会出现在“我的咨询”中。"
        )
    conversation.save(update_fields=fields)
    add_system_line(conversation, text)
    # left: gone from these desks, the transferring officer's own chat included.
    send_event_on_commit(old_groups, "conversation.taken", {"conversation": conversation.id, "left": True})
    # The receiving desks see the internal note at once, as their snapshot would show it.
    publish_conversation(conversation, for_desks={"transfer_note": transfer_note(transfer)})
    if conversation.status == Status.QUEUED:
        offer_queue(to_window)
        publish_queue(to_window.id, arrived=conversation)
    publish_queue(from_window.id)
    return transfer
