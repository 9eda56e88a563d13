"""Writes of the duty room. Each action is one transaction; its events leave after commit."""
import contextlib
import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.http import Http404
from django.utils import timezone

from departments.calendar import end_of_next_working_day
from departments.models import Window
from infra import ratelimit
from infra.errors import DomainError

from . import selectors
from .events import conversation_group, send_event_on_commit, user_group, window_group
from .models import (
    EXEMPT_CLASSIFICATIONS,
    Classification,
    Conversation,
    DeskConnection,
    Message,
    OfficerPresence,
    PresenceInterval,
    PresenceStatus,
    Rating,
    SenderKind,
    Status,
    Transfer,
)
from .payloads import conversation_payload, iso, message_payload


class ChatError(DomainError):
    """A request the duty rules refuse."""


def _locked(conversation: Conversation | int) -> Conversation:
    pk = conversation if isinstance(conversation, int) else conversation.pk
    # of=("self",): PostgreSQL cannot lock the nullable side (officer) of an outer join.
    return Conversation.objects.select_for_update(of=("self",)).select_related("window", "citizen", "officer").get(
        pk=pk
    )


def _audience(conversation: Conversation) -> list[str]:
    """Return the groups that follow a conversation: its own, and its officer's desk or its window's desks."""
    groups = [conversation_group(conversation.id)]
    if conversation.officer_id:
        groups.append(user_group(conversation.officer_id))
    else:
        groups.append(window_group(conversation.window_id))
    return groups


def _publish_conversation(conversation: Conversation, *, extra_groups: tuple[str, ...] = ()) -> None:
    preview = (
        Message.objects.filter(conversation=conversation, sender_kind=SenderKind.CITIZEN)
        .order_by("-seq")
        .values_list("body", flat=True)
        .first()
        or ""
    )
    send_event_on_commit(
        _audience(conversation) + list(extra_groups),
        "conversation.updated",
        {"conversation": conversation_payload(conversation, preview=preview[:120])},
    )


def _publish_queue(window_id: int) -> None:
    """Tell every waiting citizen of the window their place, and the window's desks the whole queue."""
    queued = list(selectors.queued_conversations([window_id])[:200])
    for position, conversation in enumerate(queued, start=1):
        send_event_on_commit(
            [conversation_group(conversation.id)],
            "queue.position",
            {"conversation": conversation.id, "position": position, "queued_at": iso(conversation.queued_at)},
        )
    send_event_on_commit(
        [window_group(window_id)], "queue.changed", {"window": window_id, "waiting": len(queued)}
    )


def _append(conversation: Conversation, *, sender, sender_kind: str, body: str, client_id: str = "") -> Message:
    """Append a message to a locked conversation and publish it after commit."""
    conversation.last_seq += 1
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        sender=sender,
        sender_kind=sender_kind,
        body=body,
        client_id=client_id,
    )
    conversation.last_message_at = now
    conversation.save(update_fields=["last_seq", "last_message_at"])
    send_event_on_commit(_audience(conversation), "message.new", {"message": message_payload(message)})
    return message


def _system(conversation: Conversation, body: str) -> Message:
    return _append(conversation, sender=None, sender_kind=SenderKind.SYSTEM, body=body)


def _due_text(due_at: datetime.datetime) -> str:
    return f"{timezone.localtime(due_at):%Y年%m月%d日} 下班前"


# Citizens ---------------------------------------------------------------------------------------


@transaction.atomic
def open_conversation(*, citizen, window: Window) -> Conversation:
    """Return the citizen's open conversation at the window, starting one if there is none."""
    if not citizen.is_citizen:
        raise ChatError("只有市民账户可以发起咨询。", "forbidden")
    if not window.is_active or not window.department.is_active:
        raise ChatError("该窗口暂停服务。", "forbidden")
    existing = selectors.open_conversation_of_citizen(citizen, window)
    if existing is not None:
        return existing
    return Conversation.objects.create(citizen=citizen, window=window, queued_at=timezone.now())


@transaction.atomic
def acknowledge_statement(*, conversation: Conversation, citizen) -> Conversation:
    conversation = _locked(conversation)
    if conversation.citizen_id != citizen.id:
        raise ChatError("您无权操作这个会话。", "forbidden")
    if conversation.statement_acknowledged_at is None:
        conversation.statement_acknowledged_at = timezone.now()
        conversation.save(update_fields=["statement_acknowledged_at"])
    return conversation


RATE_LIMITED_TEXT = "发送太频繁了，请稍等片刻再发。"


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


def send_message(
    *, conversation: Conversation | int, sender, body, client_id="", counted: bool = False
) -> tuple[Message, bool]:
    """Persist a message from the citizen or an officer; return it and whether it is new.

    Takes the conversation or its id: the action authorizes the sender itself, so a consumer need
    not load the conversation first. Sending the same client_id again returns the first message and
    publishes nothing. counted: the caller has already counted it against the sender's rate limit.
    """
    body = validate_body(body)
    client_id = validate_client_id(client_id)
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    if not counted and not ratelimit.hit("chat_message", str(sender.pk)):
        raise ChatError(RATE_LIMITED_TEXT, "rate_limited")
    try:
        message = _append_plain(conversation_id, sender=sender, body=body, client_id=client_id)
        if message is None:
            with transaction.atomic():
                message = _send_message(conversation_id, sender=sender, body=body, client_id=client_id)
        return message, True
    except IntegrityError:
        # A resend of a committed message (the same client id), from this process or another.
        existing = Message.objects.filter(
            conversation_id=conversation_id, sender=sender, client_id=client_id
        ).select_related("sender").first()
        if existing is None or not client_id:
            raise
        return existing, False


def plain_append(
    conversation_id: int, *, sender, body: str, client_id: str, now: datetime.datetime, vendor: str
) -> tuple[list[tuple[str, list]], str] | None:
    """Return the SQL that appends a message to an established conversation, and the sender kind.

    The hot path of the duty room: every message after the citizen's first question and the
    officer's first answer. One UPDATE ... RETURNING authorizes the sender (the citizen of the
    conversation, or its officer while they still serve its active window), takes the conversation's
    row lock and reserves the next seq, instead of a locking SELECT with joins, an access check and
    an UPDATE. On PostgreSQL the INSERT rides in the same statement (a data-modifying CTE, which
    commits by itself); SQLite, which has no such CTE, runs the two in one transaction. Raw SQL
    because the ORM's update() returns no columns. No row back means the full way must decide (first
    question or answer, closed, someone else's), which also words the refusal. Returns None for a
    sender who is neither citizen nor officer.
    """
    table = Conversation._meta.db_table
    if sender.is_citizen:
        kind = SenderKind.CITIZEN
        who, who_params = "citizen_id = %s AND first_question_at IS NOT NULL", [sender.id]
    elif sender.is_officer:
        kind = SenderKind.OFFICER
        links = Window.officers.field
        who = (
            f"officer_id = %s AND first_response_at IS NOT NULL AND EXISTS ("
            f"SELECT 1 FROM {links.m2m_db_table()} link JOIN {Window._meta.db_table} w "
            f"ON w.id = link.{links.m2m_column_name()} "
            f"WHERE w.id = {table}.window_id AND link.{links.m2m_reverse_name()} = %s AND w.is_active)"
        )
        who_params = [sender.id, sender.id]
    else:
        return None
    update = (
        f"UPDATE {table} SET last_seq = last_seq + 1, last_message_at = %s "
        f"WHERE id = %s AND status <> %s AND {who} RETURNING id, last_seq, officer_id, window_id"
    )
    update_params = [now, conversation_id, Status.CLOSED.value, *who_params]
    insert = (
        f"INSERT INTO {Message._meta.db_table} "
        "(conversation_id, seq, sender_id, sender_kind, body, client_id, created_at) "
    )
    insert_params = [sender.id, kind.value, body, client_id, now]
    if vendor == "postgresql":
        sql = (
            f"WITH c AS ({update}), m AS ({insert} SELECT id, last_seq, %s, %s, %s, %s, %s FROM c RETURNING id) "
            "SELECT m.id, c.last_seq, c.officer_id, c.window_id FROM m, c"
        )
        return [(sql, update_params + insert_params)], kind
    # The INSERT's conversation and seq come first and from the UPDATE's row: the caller adds them.
    insert_one = f"{insert} VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
    return [(update, update_params), (insert_one, insert_params)], kind


def appended_message(
    row, *, conversation_id: int, sender, kind: str, body: str, client_id: str, now
) -> tuple[Message, list[str]]:
    """Return the message that plain_append stored (row: id, seq, officer, window) and the groups to tell."""
    message_id, seq, officer_id, window_id = row
    message = Message(
        id=message_id, conversation_id=conversation_id, seq=seq, sender=sender, sender_kind=kind,
        body=body, client_id=client_id, created_at=now,
    )
    audience = [conversation_group(conversation_id), user_group(officer_id) if officer_id else window_group(window_id)]
    return message, audience


def _append_plain(conversation_id: int, *, sender, body: str, client_id: str) -> Message | None:
    """Store a message in an established conversation through plain_append, or return None."""
    now = timezone.now()
    planned = plain_append(
        conversation_id, sender=sender, body=body, client_id=client_id,
        now=connection.ops.adapt_datetimefield_value(now), vendor=connection.vendor,
    )
    if planned is None:
        return None
    statements, kind = planned
    if len(statements) == 1:
        # One statement commits by itself; inside a caller's transaction a savepoint keeps a
        # duplicate client id from aborting the caller's work.
        guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
        with guard, connection.cursor() as cursor:
            cursor.execute(*statements[0])
            row = cursor.fetchone()
    else:
        (update, update_params), (insert, insert_params) = statements
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(update, update_params)
            reserved = cursor.fetchone()
            if reserved is None:
                return None
            cursor.execute(insert, [conversation_id, reserved[1], *insert_params])
            row = (cursor.fetchone()[0], *reserved[1:])
    if row is None:
        return None
    message, audience = appended_message(
        row, conversation_id=conversation_id, sender=sender, kind=kind, body=body, client_id=client_id, now=now
    )
    send_event_on_commit(audience, "message.new", {"message": message_payload(message)})
    return message


def _send_message(conversation_id: int, *, sender, body: str, client_id: str) -> Message:
    try:
        conversation = _locked(conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("没有找到这个会话。") from None
    if conversation.status == Status.CLOSED:
        raise ChatError("该会话已结束，如有新问题请重新发起咨询。", "closed")
    if sender.is_citizen:
        if conversation.citizen_id != sender.id:
            raise ChatError("您无权在这个会话中发言。", "forbidden")
        message = _append(conversation, sender=sender, sender_kind=SenderKind.CITIZEN, body=body, client_id=client_id)
        if conversation.first_question_at is None:
            _start_waiting(conversation)
        return message
    if not selectors.officer_may_serve(sender, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if conversation.officer_id not in (None, sender.id):
        raise ChatError("这个会话已由其他值班人员接待。", "forbidden")
    if conversation.officer_id is None:
        _assign(conversation, sender)
    message = _append(conversation, sender=sender, sender_kind=SenderKind.OFFICER, body=body, client_id=client_id)
    if conversation.first_response_at is None:
        conversation.first_response_at = message.created_at
        conversation.answered_live = not conversation.is_offline_question
        conversation.save(update_fields=["first_response_at", "answered_live"])
    return message


def _start_waiting(conversation: Conversation) -> None:
    """Queue the citizen's first question, or record it as an offline question (留言) when nobody is on duty."""
    now = timezone.now()
    conversation.first_question_at = now
    conversation.queued_at = now
    fields = ["first_question_at", "queued_at"]
    if not selectors.available_officers(conversation.window).exists():
        conversation.status = Status.OFFLINE
        conversation.is_offline_question = True
        conversation.due_at = end_of_next_working_day(now)
        fields += ["status", "is_offline_question", "due_at"]
        conversation.save(update_fields=fields)
        _system(
            conversation,
            f"当前没有值班人员在线。您的问题已作为留言记录，我们将在{_due_text(conversation.due_at)}答复，"
            "答复会出现在“我的咨询”中。",
        )
        _publish_conversation(conversation)
        return
    conversation.save(update_fields=fields)
    _system(conversation, "您的问题已送达，正在为您安排值班人员，请稍候。")
    _publish_conversation(conversation)
    if conversation.window.auto_assign:
        _assign_waiting(conversation.window)
    _publish_queue(conversation.window_id)


@transaction.atomic
def rate_conversation(*, conversation: Conversation, citizen, rating, comment: str = "") -> Conversation:
    conversation = _locked(conversation)
    if conversation.citizen_id != citizen.id:
        raise ChatError("您无权评价这个会话。", "forbidden")
    if conversation.status != Status.CLOSED:
        raise ChatError("会话结束后才能评价。")
    if conversation.rating is not None:
        raise ChatError("您已经评价过了，谢谢。")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise ChatError("请选择满意度。") from None
    if rating not in Rating.values:
        raise ChatError("请选择满意度。")
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > 500:
        raise ChatError("评价意见最多 500 个字。")
    conversation.rating = rating
    conversation.rating_comment = comment
    conversation.rated_at = timezone.now()
    conversation.save(update_fields=["rating", "rating_comment", "rated_at"])
    _publish_conversation(conversation)
    return conversation


# Officers ---------------------------------------------------------------------------------------


def _assign(conversation: Conversation, officer) -> None:
    was_queued = conversation.status == Status.QUEUED
    conversation.officer = officer
    conversation.status = Status.ACTIVE
    conversation.assigned_at = timezone.now()
    conversation.save(update_fields=["officer", "status", "assigned_at"])
    # Tell the window's other desks it left the queue or the backlog, and the officer's desk it arrived.
    send_event_on_commit(
        [window_group(conversation.window_id)], "conversation.taken", {"conversation": conversation.id}
    )
    _system(conversation, f"{officer} 已接入，为您服务。")
    _publish_conversation(conversation)
    if was_queued:
        _publish_queue(conversation.window_id)


def _assign_waiting(window: Window) -> None:
    """Give the window's waiting conversations to its least-loaded online officers while any has room."""
    for conversation in selectors.queued_conversations([window.id]).select_for_update(of=("self",))[:50]:
        officer = selectors.least_loaded_officer(window)
        if officer is None:
            return
        _assign(conversation, officer)


@transaction.atomic
def take_conversation(*, officer, conversation: Conversation) -> Conversation:
    """Let an officer take a waiting conversation or an offline question of their windows."""
    conversation = _locked(conversation)
    if not selectors.officer_may_serve(officer, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if conversation.officer_id == officer.id and conversation.status == Status.ACTIVE:
        return conversation
    if conversation.status not in (Status.QUEUED, Status.OFFLINE):
        raise ChatError("这个会话已被接待或已结束。", "conflict")
    if conversation.status == Status.QUEUED:
        limit = conversation.window.max_concurrent_chats
        if selectors.active_load(officer, conversation.window) >= limit:
            raise ChatError(f"您在本窗口已有 {limit} 个进行中的会话，请先结束一些。", "conflict")
    _assign(conversation, officer)
    return conversation


@transaction.atomic
def take_next(*, officer) -> Conversation | None:
    """Give the officer the longest-waiting conversation of their windows where they have room."""
    windows = list(selectors.windows_with_room(officer))
    conversation = selectors.queued_conversations([w.id for w in windows]).first()
    if conversation is None:
        return None
    return take_conversation(officer=officer, conversation=conversation)


@transaction.atomic
def classify_conversation(*, conversation: Conversation, officer, classification) -> Conversation:
    conversation = _locked(conversation)
    if not selectors.officer_may_serve(officer, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if classification not in Classification.values:
        raise ChatError("请选择有效的分类。")
    conversation.classification = classification
    conversation.save(update_fields=["classification"])
    _publish_conversation(conversation)
    return conversation


@transaction.atomic
def close_conversation(*, conversation: Conversation, by) -> Conversation:
    """End a conversation. An officer may end one without an answer only when it is classified as exempt."""
    conversation = _locked(conversation)
    if conversation.status == Status.CLOSED:
        return conversation
    if by.is_citizen:
        if conversation.citizen_id != by.id:
            raise ChatError("您无权结束这个会话。", "forbidden")
        text = "市民已结束本次咨询。"
    else:
        if not selectors.officer_may_serve(by, conversation.window_id):
            raise ChatError("您不是这个窗口的值班人员。", "forbidden")
        if conversation.officer_id not in (None, by.id):
            raise ChatError("这个会话由其他值班人员接待。", "forbidden")
        if not conversation.classification:
            raise ChatError("请先为会话选择分类，再结束。")
        if conversation.first_response_at is None and conversation.classification not in EXEMPT_CLASSIFICATIONS:
            raise ChatError("有效咨询需要答复后才能结束；问候闲聊、与职责无关或表述不清的可不予回答。")
        text = "值班人员已结束本次咨询。感谢您的咨询，欢迎对本次服务进行评价。"
    was_queued = conversation.status == Status.QUEUED
    conversation.status = Status.CLOSED
    conversation.closed_at = timezone.now()
    conversation.closed_by = by
    conversation.save(update_fields=["status", "closed_at", "closed_by"])
    _system(conversation, text)
    _publish_conversation(conversation, extra_groups=(window_group(conversation.window_id),))
    if was_queued:
        _publish_queue(conversation.window_id)
    elif conversation.officer_id and conversation.window.auto_assign:
        _assign_waiting(conversation.window)
    return conversation


@transaction.atomic
def transfer_conversation(*, conversation: Conversation, officer, to_window: Window, note: str = "") -> Transfer:
    """Hand a conversation over to another window (转办); it keeps its history and its original waiting time."""
    conversation = _locked(conversation)
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
    old_groups = tuple(_audience(conversation)[1:])
    transfer = Transfer.objects.create(
        conversation=conversation, from_window=from_window, to_window=to_window, by=officer, note=note
    )
    conversation.window = to_window
    conversation.officer = None
    conversation.assigned_at = None
    fields = ["window", "officer", "assigned_at", "status"]
    if conversation.first_question_at is None or selectors.available_officers(to_window).exists():
        conversation.status = Status.QUEUED
        text = f"您的咨询已由 {from_window} 转至 {to_window}，对话记录一并转交，请稍候。"
    else:
        conversation.status = Status.OFFLINE
        if conversation.due_at is None:
            conversation.is_offline_question = True
            conversation.due_at = end_of_next_working_day(timezone.now())
            fields += ["is_offline_question", "due_at"]
        text = (
            f"您的咨询已由 {from_window} 转至 {to_window}。该窗口值班人员暂不在线，"
            f"将在{_due_text(conversation.due_at)}答复，答复会出现在“我的咨询”中。"
        )
    conversation.save(update_fields=fields)
    _system(conversation, text)
    send_event_on_commit(list(old_groups), "conversation.taken", {"conversation": conversation.id})
    _publish_conversation(conversation)
    if conversation.status == Status.QUEUED:
        if to_window.auto_assign:
            _assign_waiting(to_window)
        _publish_queue(to_window.id)
    _publish_queue(from_window.id)
    return transfer


@transaction.atomic
def post_system_notice(*, conversation: Conversation, body: str) -> Message:
    """Add a system line to a conversation, open or closed (e.g. the reply to a case), and publish it."""
    body = validate_body(body)
    return _system(_locked(conversation), body)


@transaction.atomic
def mark_read(*, conversation: Conversation, user, seq) -> None:
    """Record how far the citizen or the officer has read."""
    if not isinstance(seq, int) or seq < 0:
        raise ChatError("已读序号无效。")
    field = "citizen_read_seq" if user.is_citizen else "officer_read_seq"
    Conversation.objects.filter(pk=conversation.pk, **{f"{field}__lt": seq}).update(**{field: seq})


def notify_typing(*, conversation: Conversation, user) -> None:
    """Tell the other side that someone is typing; nothing is stored."""
    groups = _audience(conversation)
    send_event_on_commit(
        groups, "typing", {"conversation": conversation.id, "sender": "citizen" if user.is_citizen else "officer"}
    )


# Presence ---------------------------------------------------------------------------------------


def _sync_presence(officer, now: datetime.datetime, *, ended_at: datetime.datetime | None = None) -> None:
    """Bring the officer's status and intervals in line with their desks and chosen status."""
    presence, _ = OfficerPresence.objects.select_for_update().get_or_create(officer=officer)
    has_desk = DeskConnection.objects.filter(officer=officer, last_heartbeat__gte=selectors.presence_cutoff(now)).exists()
    status = presence.chosen_status if has_desk else PresenceStatus.OFFLINE
    if status == presence.status:
        return
    PresenceInterval.objects.filter(officer=officer, ended_at__isnull=True).update(ended_at=ended_at or now)
    if status != PresenceStatus.OFFLINE:
        PresenceInterval.objects.create(officer=officer, status=status, started_at=now)
    presence.status = status
    presence.since = now
    presence.save(update_fields=["status", "since"])
    send_event_on_commit([user_group(officer.id)], "presence.changed", {"status": status})
    for window_id in officer.windows.values_list("id", flat=True):
        send_event_on_commit([window_group(window_id)], "window.presence", {"window": window_id})
    if status == PresenceStatus.ONLINE:
        for window in officer.windows.filter(is_active=True, auto_assign=True):
            _assign_waiting(window)


@transaction.atomic
def desk_connected(*, officer, channel_name: str) -> OfficerPresence:
    now = timezone.now()
    DeskConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"officer": officer, "last_heartbeat": now}
    )
    _sync_presence(officer, now)
    return OfficerPresence.objects.get(officer=officer)


@transaction.atomic
def desk_heartbeat(*, officer, channel_name: str) -> None:
    now = timezone.now()
    updated = DeskConnection.objects.filter(channel_name=channel_name).update(last_heartbeat=now)
    if not updated:
        DeskConnection.objects.create(officer=officer, channel_name=channel_name, last_heartbeat=now)
    _sync_presence(officer, now)


@transaction.atomic
def desk_disconnected(*, officer, channel_name: str) -> None:
    DeskConnection.objects.filter(channel_name=channel_name).delete()
    _sync_presence(officer, timezone.now())


@transaction.atomic
def set_status(*, officer, status) -> OfficerPresence:
    """Set the status an officer chose on the desk: 在线, 忙碌 or 离开."""
    if status not in (PresenceStatus.ONLINE, PresenceStatus.BUSY, PresenceStatus.AWAY):
        raise ChatError("请选择 在线、忙碌 或 离开。")
    presence, _ = OfficerPresence.objects.select_for_update().get_or_create(officer=officer)
    presence.chosen_status = status
    presence.save(update_fields=["chosen_status"])
    _sync_presence(officer, timezone.now())
    return OfficerPresence.objects.get(officer=officer)


# Housekeeping -----------------------------------------------------------------------------------


@transaction.atomic
def expire_stale_desks(*, now: datetime.datetime | None = None) -> int:
    """Drop desks whose heartbeats stopped and set their officers offline from the last heartbeat on."""
    now = now or timezone.now()
    stale = DeskConnection.objects.filter(last_heartbeat__lt=selectors.presence_cutoff(now))
    last_seen = dict(stale.values("officer_id").annotate(last=Min("last_heartbeat")).values_list("officer_id", "last"))
    stale.delete()
    from django.contrib.auth import get_user_model

    for officer in get_user_model().objects.filter(id__in=list(last_seen)):
        _sync_presence(officer, now, ended_at=last_seen[officer.id])
    return len(last_seen)


@transaction.atomic
def send_busy_notices(*, now: datetime.datetime | None = None) -> int:
    """Tell citizens who waited past the limit that the officers are busy, and keep their question as 留言."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.QUEUE_BUSY_NOTICE_SECONDS)
    waiting = Conversation.objects.select_for_update(of=("self",)).filter(
        status=Status.QUEUED, first_question_at__isnull=False, queued_at__lt=cutoff, busy_notice_sent_at__isnull=True
    )
    count = 0
    for conversation in waiting.select_related("window", "citizen"):
        conversation.busy_notice_sent_at = now
        conversation.is_offline_question = True
        conversation.due_at = end_of_next_working_day(now)
        conversation.save(update_fields=["busy_notice_sent_at", "is_offline_question", "due_at"])
        _system(
            conversation,
            "对不起，让您久等了。值班人员正忙，您的问题已记录，值班人员空闲后会尽快答复；"
            f"最迟将在{_due_text(conversation.due_at)}答复，答复会出现在“我的咨询”中。",
        )
        _publish_conversation(conversation)
        count += 1
    return count


def sweep(*, min_interval: int = 5) -> None:
    """Run the housekeeping at most once per min_interval seconds across all processes."""
    if not cache.add("chat:sweep", 1, timeout=min_interval):
        return
    expire_stale_desks()
    send_busy_notices()
