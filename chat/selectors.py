"""Reads for the duty room: access checks, queues, presence and histories."""

import bisect
import datetime
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from departments.models import Window

from .models import (
    CannedReply,
    CitizenConnection,
    Conversation,
    DeskConnection,
    Message,
    OfficerPresence,
    PresenceStatus,
    SenderKind,
    Status,
)

AVAILABLE_STATUSES = (PresenceStatus.ONLINE, PresenceStatus.BUSY)


def presence_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Return the moment before which a desk heartbeat is too old to count."""
    return (now or timezone.now()) - datetime.timedelta(seconds=settings.PRESENCE_TIMEOUT_SECONDS)


def citizen_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Return the moment before which a chat page's last sign of life is too old to count."""
    return (now or timezone.now()) - datetime.timedelta(seconds=settings.CITIZEN_PRESENCE_SECONDS)


def citizens_on_page(conversation_ids: Iterable[int], now: datetime.datetime | None = None) -> set[int]:
    """Return the ids among the conversations whose citizen has a chat page open now (one query)."""
    return set(
        CitizenConnection.objects.filter(
            conversation_id__in=list(conversation_ids), last_seen__gte=citizen_cutoff(now)
        ).values_list("conversation_id", flat=True)
    )


def live_officer_ids(now: datetime.datetime | None = None) -> QuerySet:
    """Return the ids of officers with at least one desk heartbeating now."""
    return DeskConnection.objects.filter(last_heartbeat__gte=presence_cutoff(now)).values("officer_id")


def available_officers(window: Window) -> QuerySet:
    """Return the window's officers who are on line and online or busy (not away)."""
    return window.officers.filter(
        id__in=live_officer_ids(), presence__chosen_status__in=AVAILABLE_STATUSES, is_active=True
    )


def online_window_ids(window_ids: Iterable[int]) -> set[int]:
    """Return the ids among window_ids that have an officer on duty now (online or busy)."""
    ids = list(window_ids)
    if not ids:
        return set()
    return set(
        Window.objects.filter(
            id__in=ids,
            officers__in=live_officer_ids(),
            officers__presence__chosen_status__in=AVAILABLE_STATUSES,
        ).values_list("id", flat=True)
    )


class Availability:
    """What happens to a question asked at a window now: answered (在线), queued (排队) or kept (留言)."""

    ONLINE = "online"  # an officer is 在线 with room for one more chat
    QUEUE = "queue"  # officers are on duty but 忙碌 or at their limit: the citizen waits in the queue
    OFFLINE = "offline"  # nobody on duty: the question is recorded as an offline question


def window_availability(window_ids: Iterable[int]) -> dict[int, str]:
    """Return the Availability of each window, in a few queries whatever the number of windows."""
    ids = list(window_ids)
    on_duty = online_window_ids(ids)
    result = {window_id: Availability.OFFLINE for window_id in ids}
    if not on_duty:
        return result
    links = Window.officers.through.objects.filter(
        window_id__in=on_duty,
        user_id__in=live_officer_ids(),
        user__presence__chosen_status=PresenceStatus.ONLINE,
        user__is_active=True,
    ).values_list("window_id", "user_id")
    loads = {
        (row["window_id"], row["officer_id"]): row["n"]
        for row in Conversation.objects.filter(window_id__in=on_duty, status=Status.ACTIVE)
        .values("window_id", "officer_id")
        .annotate(n=Count("id"))
    }
    limits = dict(Window.objects.filter(id__in=on_duty).values_list("id", "max_concurrent_chats"))
    for window_id in on_duty:
        result[window_id] = Availability.QUEUE
    for window_id, officer_id in links:
        if loads.get((window_id, officer_id), 0) < limits[window_id]:
            result[window_id] = Availability.ONLINE
    return result


def officer_may_serve(officer, window_id: int) -> bool:
    return officer.is_officer and officer.windows.filter(pk=window_id, is_active=True).exists()


def access_conversation(user, conversation_id: int) -> Conversation:
    """Return the conversation if the user may take part in it, else raise.

    A citizen reaches only their own conversations; an officer only those of their windows. Someone
    else's conversation gets the same 404 as an unknown id, so ids cannot be probed.
    """
    if not user.is_authenticated:
        raise PermissionDenied("请先登录。")
    try:
        conversation = Conversation.objects.select_related("window__department", "citizen", "officer").get(
            pk=conversation_id
        )
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("没有找到这个会话。") from None
    if user.is_citizen and conversation.citizen_id == user.id:
        return conversation
    if user.is_officer and officer_may_serve(user, conversation.window_id):
        return conversation
    raise Http404("没有找到这个会话。")


def citizen_messages(conversation) -> QuerySet[Message]:
    """Return the citizen's messages of a conversation (their question and follow-ups), oldest first.

    conversation: a Conversation, its id, OuterRef("pk") inside a subquery, or a list of ids.
    """
    if isinstance(conversation, (list, tuple, set)):
        scope = Q(conversation_id__in=list(conversation))
    else:
        scope = Q(conversation=conversation)
    return Message.objects.filter(scope, sender_kind=SenderKind.CITIZEN).order_by("conversation_id", "seq")


def messages_after(conversation: Conversation, after_seq: int = 0, limit: int = 500) -> list[Message]:
    """Return the conversation's messages with seq > after_seq, oldest first."""
    return list(
        Message.objects.filter(conversation=conversation, seq__gt=after_seq)
        .select_related("sender")
        .order_by("seq")[:limit]
    )


def conversations_of_citizen(citizen) -> QuerySet[Conversation]:
    """Return the citizen's conversations, newest first, each with its first question (`question`)."""
    first_question = (
        Message.objects.filter(conversation=OuterRef("pk"), sender_kind=SenderKind.CITIZEN)
        .order_by("seq")
        .values("body")[:1]
    )
    return (
        Conversation.objects.filter(citizen=citizen)
        .select_related("window__department", "officer")
        .annotate(question=Subquery(first_question))
        .order_by("-created_at")
    )


def open_conversation_of_citizen(citizen, window: Window) -> Conversation | None:
    return (
        Conversation.objects.filter(citizen=citizen, window=window)
        .exclude(status=Status.CLOSED)
        .order_by("-created_at")
        .first()
    )


def _waiting(window_ids: Iterable[int]) -> QuerySet[Conversation]:
    return Conversation.objects.filter(
        window_id__in=list(window_ids), status=Status.QUEUED, first_question_at__isnull=False
    )


def queued_conversations(window_id: int) -> QuerySet[Conversation]:
    """Return the window's queue: its waiting conversations that have a question, in ticket order."""
    return _waiting([window_id]).select_related("window__department", "citizen").order_by("ticket", "id")


def queue_position(conversation: Conversation) -> int:
    """Return the 1-based place of a waiting conversation in its window's queue."""
    return _waiting([conversation.window_id]).filter(ticket__lt=conversation.ticket).count() + 1


def waiting_count(window_id: int) -> int:
    """Return how many wait in the window's queue."""
    return _waiting([window_id]).count()


def queue_head(window_id: int) -> dict:
    """Return what a waiting citizen needs to work out their place from their ticket, in one query.

    head and tail are the lowest and highest tickets waiting; gaps are the tickets between them that no
    longer wait (left out of turn). A ticket t in [head, tail] is at place t - head + 1 - (gaps below t).
    """
    tickets = list(_waiting([window_id]).order_by("ticket").values_list("ticket", flat=True))
    if not tickets:
        return {"window": window_id, "waiting": 0, "head": None, "tail": None, "gaps": []}
    head, tail = tickets[0], tickets[-1]
    gaps: list[int] = []
    expected = head
    for ticket in tickets:
        gaps.extend(range(expected, ticket))
        expected = ticket + 1
    return {"window": window_id, "waiting": len(tickets), "head": head, "tail": tail, "gaps": gaps}


def place_in_queue(ticket: int | None, head: dict) -> int | None:
    """Return the place of a ticket from queue_head()'s answer, or None when it is not waiting there."""
    if ticket is None or head["head"] is None or not head["head"] <= ticket <= head["tail"]:
        return None
    below = bisect.bisect_left(head["gaps"], ticket)
    if below < len(head["gaps"]) and head["gaps"][below] == ticket:
        return None
    return ticket - head["head"] + 1 - below


def loads(*, window_ids: Iterable[int], officer_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Return the officers' load in the windows: their active chats there, keyed by (officer id, window id)."""
    rows = (
        Conversation.objects.filter(
            status=Status.ACTIVE, window_id__in=list(window_ids), officer_id__in=list(officer_ids)
        )
        .values("officer_id", "window_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {(row["officer_id"], row["window_id"]): row["count"] for row in rows}


def least_loaded_officer(window: Window):
    """Return the online officer of the window with the fewest active chats there under its limit, or None."""
    candidates = list(available_officers(window).filter(presence__chosen_status=PresenceStatus.ONLINE))
    load = loads(window_ids=[window.id], officer_ids=[officer.id for officer in candidates])
    with_room = [
        (load.get((officer.id, window.id), 0), officer.id, officer)
        for officer in candidates
        if load.get((officer.id, window.id), 0) < window.max_concurrent_chats
    ]
    return min(with_room)[2] if with_room else None


def open_conversations_of_officer(officer) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(officer=officer, status=Status.ACTIVE)
        .select_related("window__department", "citizen")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(messages__sender_kind=SenderKind.CITIZEN, messages__seq__gt=F("officer_read_seq")),
            )
        )
        .order_by("assigned_at")
    )


def closed_today_of_officer(officer, now=None) -> QuerySet[Conversation]:
    """Return the conversations the officer served that ended today (Beijing time), latest first."""
    start = timezone.localtime(now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        Conversation.objects.filter(officer=officer, status=Status.CLOSED, closed_at__gte=start)
        .select_related("window__department", "citizen")
        .order_by("-closed_at")
    )


def offline_backlog(officer) -> QuerySet[Conversation]:
    """Return the unanswered offline questions (留言) of the officer's windows, earliest due first."""
    return (
        Conversation.objects.filter(window__officers=officer, status=Status.OFFLINE)
        .select_related("window__department", "citizen")
        .order_by("due_at", "id")
    )


def canned_replies(window_ids: Iterable[int]) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(Q(window__isnull=True) | Q(window_id__in=list(window_ids))).order_by(
        "window_id", "ordering", "id"
    )


def presence_of(officer) -> OfficerPresence:
    """Return the officer's presence; an officer who never opened the desk is offline."""
    return OfficerPresence.objects.filter(officer=officer).first() or OfficerPresence(officer=officer)


def windows_with_room(officer) -> list[Window]:
    """Return the officer's active windows where their load is under the window's limit."""
    windows = list(Window.objects.filter(officers=officer, is_active=True))
    load = loads(window_ids=[window.id for window in windows], officer_ids=[officer.id])
    return [window for window in windows if load.get((officer.id, window.id), 0) < window.max_concurrent_chats]


def officer_window_ids(officer) -> QuerySet:
    return Window.objects.filter(officers=officer, is_active=True).values_list("id", flat=True)


def windows_of_officer(officer) -> QuerySet[Window]:
    return Window.objects.filter(officers=officer, is_active=True).select_related("department")
