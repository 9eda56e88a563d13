"""The interface every SMS backend implements: one templated text to one mainland number."""

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Delivery:
    """The provider took the message: its serial number and its answer, for the outbox."""

    provider_id: str
    answer: str


class DeliveryError(Exception):
    """The provider did not take the message; `retry` says whether trying again later may help."""

    def __init__(self, answer: str, *, retry: bool):
        super().__init__(answer)
        self.answer = answer
        self.retry = retry


class SmsBackend:
    name = "base"
    # Whether the text is the delivery itself (the outbox backend): then the record keeps the code.
    keeps_text = False

    def send(self, *, phone: str, template: str, params: dict, text: str) -> Delivery:
        """Send one text; raise DeliveryError when the provider refuses it or cannot be reached."""
        raise NotImplementedError


def template_id(template: str) -> str:
    """Return the provider's template id for one of ours: $SMS_TEMPLATE_<NAME>, e.g. SMS_TEMPLATE_REGISTER_CODE."""
    value = os.environ.get(f"SMS_TEMPLATE_{template.upper()}", "")
    if not value:
        raise DeliveryError(f"未配置短信模板编号 SMS_TEMPLATE_{template.upper()}", retry=False)
    return value
