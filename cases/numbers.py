"""Tracking numbers (受理编号) and query codes (查询码).

A tracking number is ZWT + the local date + a six-digit number that restarts every day
(ZWT20261127-000123). The day's counter row is locked while the next number is taken, so two
escalations at the same moment, in one process or several, on SQLite or PostgreSQL, never get the
same number; the unique constraint on Case.tracking_number is the last guard.

A query code is six characters from an alphabet without look-alikes (no 0/O, 1/I/L). Only its
HMAC-SHA256 under the SECRET_KEY is stored, and it is compared in constant time.
"""

import datetime
import hmac
import re
import secrets

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import TrackingCounter

PREFIX = "ZWT"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
TRACKING_NUMBER = re.compile(r"^ZWT\d{8}-\d{6}$")
_HMAC_SALT = "cases.query_code"


def allocate_tracking_number(moment: datetime.datetime | None = None) -> str:
    """Return the next tracking number of the local day of the moment. Call inside a transaction."""
    day = timezone.localtime(moment or timezone.now()).date()
    # get_or_create recovers from a concurrent insert of the same day; select_for_update then
    # serializes the increment (SQLite already serializes writers: transactions are IMMEDIATE).
    counter, _ = TrackingCounter.objects.select_for_update().get_or_create(day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{PREFIX}{day:%Y%m%d}-{counter.last:06d}"


def new_query_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_tracking_number(value) -> str:
    return re.sub(r"\s+", "", value).upper() if isinstance(value, str) else ""


def normalize_query_code(value) -> str:
    return re.sub(r"\s+", "", value).upper() if isinstance(value, str) else ""


def _digest(tracking_number: str, code: str, secret: str) -> str:
    return salted_hmac(_HMAC_SALT, f"{tracking_number}:{code}", secret=secret, algorithm="sha256").hexdigest()


def hash_query_code(tracking_number: str, code: str) -> str:
    return _digest(tracking_number, normalize_query_code(code), settings.SECRET_KEY)


def query_code_matches(tracking_number: str, code: str, stored: str) -> bool:
    """Compare a query code with the stored digest in constant time, under the key and its fallbacks."""
    code = normalize_query_code(code)
    matched = False
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        # No early exit: every key is tried, whatever the outcome.
        matched |= hmac.compare_digest(_digest(tracking_number, code, secret), stored)
    return matched
