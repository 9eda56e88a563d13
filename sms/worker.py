"""The sender that drains the outbox off the request path.

In each daphne process a daemon thread (started by portal/asgi.py) sleeps until a commit queues a text
(`wake`), until the next retry is due, or at most IDLE_SECONDS (to pick up rows a dead process left).
Several processes drain the same outbox safely: a row is claimed with SKIP LOCKED on PostgreSQL (and
one writer at a time on SQLite) and leased for a minute. `manage.py sms_worker` runs the same loop
as its own process for deployments that turn the thread off (SMS_WORKER=off).
"""

import logging
import sys
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger("sms")

IDLE_SECONDS = 60
_wakeup = threading.Event()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def wake() -> None:
    """Tell this process's sender that a text is waiting (called on commit; returns at once)."""
    _wakeup.set()


def drain() -> int:
    """Send everything due now; return how many texts were tried."""
    from .actions import deliver_due

    total = 0
    while count := deliver_due():
        total += count
    return total


def seconds_until_next() -> float:
    from .actions import next_due_at

    due = next_due_at()
    if due is None:
        return IDLE_SECONDS
    return min(IDLE_SECONDS, max(1.0, (due - timezone.now()).total_seconds()))


def run_forever(stop: threading.Event | None = None) -> None:
    """Drain, then sleep until woken or the next retry is due; until `stop` is set."""
    while stop is None or not stop.is_set():
        _wakeup.clear()
        try:
            close_old_connections()
            drain()
            timeout = seconds_until_next()
        except Exception:  # the database away for a moment: log and try again
            logger.exception("SMS worker round failed")
            timeout = 5
        finally:
            close_old_connections()
        _wakeup.wait(timeout)


def start() -> None:
    """Start this process's sender thread once, unless SMS_WORKER is off.

    A pytest process never starts it: its test database belongs to the tests (the thread would race
    their assertions, and hold a connection that stops PostgreSQL from dropping the database), so
    tests call `drain()` themselves. A live server started by the tests is a daphne process and does.
    """
    global _thread
    if settings.SMS_WORKER != "thread" or "pytest" in sys.modules:
        return
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=run_forever, name="sms-worker", daemon=True)
            _thread.start()
