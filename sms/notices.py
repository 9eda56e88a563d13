"""SMS notices (短信通知): a short fixed text and a link, never the message body; at most one an hour per item.

Called by the higher apps inside their actions; the text is queued only after their commit, and not at
all when the citizen switched notices off in 我的咨询 or has no number.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .actions import queue_sms
from .models import NoticeOptOut, SmsMessage, Template

NOTICE_INTERVAL = datetime.timedelta(hours=1)
CASE_STATES = {"accepted": "已受理", "replied": "已答复", "returned": "已退回", "closed": "已办结"}


def _link(path: str) -> str:
    return settings.SMS_SITE_URL.rstrip("/") + path


def notices_enabled(user) -> bool:
    return not NoticeOptOut.objects.filter(user=user).exists()


@transaction.atomic
def set_notices(*, user, enabled: bool) -> None:
    """Switch a citizen's SMS notices on or off."""
    if enabled:
        NoticeOptOut.objects.filter(user=user).delete()
    else:
        NoticeOptOut.objects.get_or_create(user=user)


def _queue_notice(*, citizen_id: int, subject: str, template: str, params: dict) -> None:
    with transaction.atomic():
        # Lock the citizen so that two answers committed at once still send one text.
        citizen = get_user_model().objects.select_for_update().filter(pk=citizen_id).first()
        if citizen is None or not citizen.phone or not notices_enabled(citizen):
            return
        since = timezone.now() - NOTICE_INTERVAL
        if SmsMessage.objects.filter(subject=subject, created_at__gte=since).exists():
            return
        queue_sms(phone=citizen.phone, template=template, params=params, subject=subject)


def notify_offline_answered(*, conversation) -> None:
    """After commit, tell the citizen that their offline question (留言) has an answer in 我的咨询."""
    window = conversation.window
    params = {"unit": f"{window.department.name}{window.name}", "link": _link(reverse("portal:my_consultations"))}
    citizen_id, subject = conversation.citizen_id, f"conversation:{conversation.pk}"
    transaction.on_commit(
        lambda: _queue_notice(citizen_id=citizen_id, subject=subject, template=Template.NOTICE_ANSWERED, params=params)
    )


def notify_case(*, case, state: str) -> None:
    """After commit, tell the citizen that their case was accepted, answered, returned or closed."""
    params = {
        "number": case.tracking_number,
        "state": CASE_STATES[state],
        "link": _link(reverse("portal:my_consultations")),
    }
    citizen_id, subject = case.citizen_id, f"case:{case.pk}"
    transaction.on_commit(
        lambda: _queue_notice(citizen_id=citizen_id, subject=subject, template=Template.NOTICE_CASE, params=params)
    )
