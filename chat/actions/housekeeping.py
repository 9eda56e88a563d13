"""Housekeeping: stale desks and chat pages, busy notices, and deleting conversations past retention."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from departments.calendar import due_text

from .. import selectors
from ..models import CitizenConnection, Conversation, DeskConnection, Message, Status
from .base import add_system_line, publish_conversation
from .presence import publish_citizen_presence, sync_presence
from .queue import BUSY_NOTICE, make_offline_question


@transaction.atomic
def expire_stale_desks(*, now: datetime.datetime | None = None) -> int:
    """Drop desks whose heartbeats stopped and set their officers offline from the last heartbeat on."""
    now = now or timezone.now()
    stale = DeskConnection.objects.filter(last_heartbeat__lt=selectors.presence_cutoff(now))
    last_seen = dict(stale.values("officer_id").annotate(last=Min("last_heartbeat")).values_list("officer_id", "last"))
    stale.delete()
    for officer in get_user_model().objects.filter(id__in=list(last_seen)):
        sync_presence(officer, now, ended_at=last_seen[officer.id])
    return len(last_seen)


@transaction.atomic
def expire_stale_citizen_pages(*, now: datetime.datetime | None = None) -> int:
    """Drop chat pages that stopped pinging (their process died); tell the desks whose citizen left."""
    now = now or timezone.now()
    stale = CitizenConnection.objects.filter(last_seen__lt=selectors.citizen_cutoff(now))
    conversation_ids = set(stale.values_list("conversation_id", flat=True))
    if not conversation_ids:
        return 0
    stale.delete()
    left = conversation_ids - selectors.citizens_on_page(conversation_ids, now)
    for conversation in Conversation.objects.filter(id__in=left).only("id", "officer_id", "window_id"):
        publish_citizen_presence(conversation, False)
    return len(left)


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
        fields = ["busy_notice_sent_at", *make_offline_question(conversation, now=now)]
        conversation.save(update_fields=fields)
        add_system_line(conversation, BUSY_NOTICE.format(due=due_text(conversation.due_at)))
        publish_conversation(conversation)
        count += 1
    return count


def sweep(*, min_interval: int = 5) -> None:
    """Run the housekeeping at most once per min_interval seconds across all processes."""
    if not cache.add("chat:sweep", 1, timeout=min_interval):
        return
    expire_stale_desks()
    expire_stale_citizen_pages()
    send_busy_notices()


@transaction.atomic
def delete_conversations(*, conversation_ids: Iterable[int]) -> int:
    """Delete the closed conversations among the ids with their messages (retention); return how many.

    Open conversations are never deleted. The caller (oversight's purge) keeps the figures and the audit.
    """
    ids = list(
        Conversation.objects.filter(id__in=list(conversation_ids), status=Status.CLOSED).values_list("id", flat=True)
    )
    Message.objects.filter(conversation_id__in=ids).delete()
    Conversation.objects.filter(id__in=ids).delete()
    return len(ids)
