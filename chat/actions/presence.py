"""Presence: officers' (在线/忙碌/离开/离线: desks, heartbeats, the chosen status and the recorded intervals),
and whether a citizen is still on the chat page (在页面上/已离开), which their conversation's desks are told."""

import datetime
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from .. import selectors
from ..events import send_event_on_commit, user_group, window_group
from ..models import CitizenConnection, Conversation, DeskConnection, OfficerPresence, PresenceInterval, PresenceStatus
from .base import ChatError, audience, lock_conversation
from .queue import offer_queue


def sync_presence(officer, now: datetime.datetime, *, ended_at: datetime.datetime | None = None) -> None:
    """Bring the officer's status and intervals in line with their desks and chosen status."""
    presence, _ = OfficerPresence.objects.select_for_update().get_or_create(officer=officer)
    has_desk = DeskConnection.objects.filter(
        officer=officer, last_heartbeat__gte=selectors.presence_cutoff(now)
    ).exists()
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
        for window in officer.windows.filter(is_active=True):
            offer_queue(window)


@transaction.atomic
def desk_connected(*, officer, channel_name: str) -> OfficerPresence:
    """Record a desk that opened; the officer is on line from now."""
    now = timezone.now()
    DeskConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"officer": officer, "last_heartbeat": now}
    )
    sync_presence(officer, now)
    return OfficerPresence.objects.get(officer=officer)


@transaction.atomic
def desk_heartbeat(*, officer, channel_name: str) -> None:
    """Record that a desk is still open."""
    now = timezone.now()
    updated = DeskConnection.objects.filter(channel_name=channel_name).update(last_heartbeat=now)
    if not updated:
        DeskConnection.objects.create(officer=officer, channel_name=channel_name, last_heartbeat=now)
    sync_presence(officer, now)


@transaction.atomic
def desk_disconnected(*, officer, channel_name: str) -> None:
    """Forget a desk that closed; the officer goes offline with their last one."""
    DeskConnection.objects.filter(channel_name=channel_name).delete()
    sync_presence(officer, timezone.now())


@transaction.atomic
def set_status(*, officer, status) -> OfficerPresence:
    """Set the status an officer chose on the desk: 在线, 忙碌 or 离开."""
    if status not in (PresenceStatus.ONLINE, PresenceStatus.BUSY, PresenceStatus.AWAY):
        raise ChatError("请选择 在线、忙碌 或 离开。")
    presence, _ = OfficerPresence.objects.select_for_update().get_or_create(officer=officer)
    presence.chosen_status = status
    presence.save(update_fields=["chosen_status"])
    sync_presence(officer, timezone.now())
    return OfficerPresence.objects.get(officer=officer)


def publish_citizen_presence(conversation: Conversation, online: bool) -> None:
    """Tell the desks that follow the conversation whether its citizen is on the chat page."""
    # The desks only: the conversation group is the citizen's own pages.
    send_event_on_commit(
        audience(conversation)[1:], "citizen.presence", {"conversation": conversation.id, "online": online}
    )


@transaction.atomic
def citizen_connected(*, conversation: Conversation, channel_name: str) -> None:
    """Record a chat page (socket) of the citizen; the desks hear when the citizen arrives on the page."""
    # The row lock orders the tabs of one conversation, so "arrived" and "left" are each told once.
    conversation = lock_conversation(conversation)
    was_on_page = bool(selectors.citizens_on_page([conversation.id]))
    CitizenConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"conversation": conversation, "last_seen": timezone.now()}
    )
    if not was_on_page:
        publish_citizen_presence(conversation, True)


REFRESH_BATCH = 1000


def refresh_citizen_pages(*, pages: Mapping[str, Conversation]) -> int:
    """Record that the chat pages open in this process (channel name -> conversation) are still open.

    One UPDATE per 1,000 pages, instead of a write per page ping: each server process calls this for its
    own pages well within CITIZEN_PRESENCE_SECONDS, so the pages of a process that died go stale and the
    sweep tells their desks the citizen left. A page that went stale meanwhile (its process stalled past
    the limit and the sweep dropped it) is recorded again, and its desks hear that the citizen is back.
    ``pages`` is the process's live registry: a page that closed while this ran is not recorded again.
    Return how many pages were recorded again.
    """
    now = timezone.now()
    cutoff = selectors.citizen_cutoff(now)
    names = list(pages)
    again = 0
    for start in range(0, len(names), REFRESH_BATCH):
        batch = names[start : start + REFRESH_BATCH]
        fresh = CitizenConnection.objects.filter(channel_name__in=batch, last_seen__gte=cutoff)
        if fresh.update(last_seen=now) == len(batch):
            continue
        kept = set(
            CitizenConnection.objects.filter(channel_name__in=batch, last_seen=now).values_list(
                "channel_name", flat=True
            )
        )
        for name in batch:
            if name not in kept and name in pages:
                try:
                    citizen_connected(conversation=pages[name], channel_name=name)
                except Conversation.DoesNotExist:
                    continue  # deleted meanwhile: nobody follows it any more
                again += 1
    return again


@transaction.atomic
def citizen_disconnected(*, conversation: Conversation, channel_name: str) -> None:
    """Forget a chat page that closed; the desks hear when the citizen's last page is gone."""
    conversation = lock_conversation(conversation)
    was_on_page = bool(selectors.citizens_on_page([conversation.id]))
    CitizenConnection.objects.filter(channel_name=channel_name).delete()
    if was_on_page and not selectors.citizens_on_page([conversation.id]):
        publish_citizen_presence(conversation, False)
