"""The embedded default: nothing leaves the machine; the outbox row and the server log are the delivery."""

import logging
import uuid

from .base import Delivery, SmsBackend

logger = logging.getLogger("sms")


class OutboxBackend(SmsBackend):
    name = "outbox"
    keeps_text = True

    def send(self, *, phone: str, template: str, params: dict, text: str) -> Delivery:
        logger.info("SMS to %s: %s", phone, text)
        return Delivery(provider_id=f"outbox-{uuid.uuid4().hex[:12]}", answer="已写入发件箱（未真正发送）")
