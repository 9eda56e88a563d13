"""Several processes drain one outbox: each text goes out once (PostgreSQL: SKIP LOCKED); a sender that died
mid-send leaves its rows to the others after the lease."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from sms.actions import deliver_due, queue_sms
from sms.backends import Delivery, SmsBackend
from sms.models import SmsMessage, SmsStatus, Template

SENT = []
SENT_LOCK = threading.Lock()


class SlowProvider(SmsBackend):
    """A provider that takes 20 ms a text and remembers who got what."""

    name = "slow"

    def send(self, *, phone, template, params, text):
        time.sleep(0.02)
        with SENT_LOCK:
            SENT.append(phone)
        return Delivery(provider_id=phone, answer="OK")


@pytest.mark.django_db(transaction=True)
def test_three_senders_send_each_text_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("only on PostgreSQL: SQLite has one writer at a time and no SKIP LOCKED")
    settings.SMS_BACKEND = "tests.sms.test_concurrent_senders.SlowProvider"
    SENT.clear()
    phones = [f"1380000{n:04d}" for n in range(30)]
    for phone in phones:
        queue_sms(phone=phone, template=Template.NOTICE_CASE, params={"number": "ZWT1", "state": "已受理", "link": "x"})
    tried = []

    def sender():
        try:
            while count := deliver_due(limit=4):
                tried.append(count)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(SENT) == phones
    assert sum(tried) == 30
    assert SmsMessage.objects.filter(status=SmsStatus.SENT, attempts=1).count() == 30


@pytest.mark.django_db
def test_row_of_a_sender_that_died_is_sent_after_the_lease():
    message = queue_sms(phone="13800138000", template=Template.REGISTER_CODE, params={"code": "112233"})
    SmsMessage.objects.filter(pk=message.pk).update(
        status=SmsStatus.SENDING, attempts=1, next_attempt_at=timezone.now() + datetime.timedelta(seconds=50)
    )
    assert deliver_due() == 0  # still leased to the sender that claimed it
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert deliver_due() == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 2
