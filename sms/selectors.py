"""Reads for SMS."""

import datetime

from django.utils import timezone

from .models import SmsMessage, SmsStatus

TROUBLE_WINDOW = datetime.timedelta(minutes=10)
TROUBLE_SAMPLE = 3


def provider_in_trouble() -> bool:
    """Return whether the last few texts tried in the past ten minutes all failed (the provider is down).

    Said on every code page alike, so it tells nothing about any number.
    """
    since = timezone.now() - TROUBLE_WINDOW
    recent = list(
        SmsMessage.objects.filter(created_at__gte=since, attempts__gt=0)
        .exclude(status=SmsStatus.SENDING)
        .order_by("-created_at")
        .values_list("status", flat=True)[:TROUBLE_SAMPLE]
    )
    return len(recent) == TROUBLE_SAMPLE and SmsStatus.SENT not in recent


def messages_of(*, phone: str, subjects: list[str]):
    """Return the texts about a person's consultations and cases, and those still queued for their number.

    A sent text keeps only the masked number, which other people share, so it is found by its subject.
    """
    from django.db.models import Q

    query = Q(subject__in=subjects)
    if phone:
        query |= Q(phone=phone)
    return SmsMessage.objects.filter(query).order_by("created_at")
