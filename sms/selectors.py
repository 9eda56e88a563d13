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
