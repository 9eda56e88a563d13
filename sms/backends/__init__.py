"""SMS backends, chosen by settings.SMS_BACKEND like Django's email backends."""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Delivery, DeliveryError, SmsBackend

__all__ = ["Delivery", "DeliveryError", "SmsBackend", "get_backend"]


def get_backend() -> SmsBackend:
    """Return an instance of the configured backend (read at call time, so tests may switch it)."""
    return import_string(settings.SMS_BACKEND)()
