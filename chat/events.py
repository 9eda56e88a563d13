"""Events to the channel layer, sent only after the surrounding transaction commits."""
import asyncio
import collections
import logging
import os

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def window_group(window_id: int) -> str:
    return f"window.{window_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


class _Outbox:
    """Events waiting to be sent from one event loop, in the order their transactions committed.

    Actions run on the database thread; handing their events to the loop (instead of waiting there
    for each group_send) frees that thread, which serves every socket of the process, as soon as the
    transaction has committed. One drain task per loop keeps the order.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pending: collections.deque = collections.deque()
        self.draining = False

    def put(self, groups: list[str], payload: dict) -> None:
        """Queue an event; call on the loop's own thread."""
        self.pending.append((groups, payload))
        if not self.draining:
            self.draining = True
            self.loop.create_task(self.drain())

    async def drain(self) -> None:
        layer = get_channel_layer()
        try:
            while self.pending:
                groups, payload = self.pending.popleft()
                for group in groups:
                    try:
                        await layer.group_send(group, payload)
                    except Exception:
                        # Already committed: a client that missed the event catches up when it resumes.
                        logger.exception("channel layer send to %s failed", group)
        finally:
            self.draining = False


_outboxes: dict[asyncio.AbstractEventLoop, _Outbox] = {}


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop that handed this thread its work (a consumer's or an ASGI view's), if any."""
    # asgiref records it for its own async_to_sync; there is no public accessor.
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _put(loop: asyncio.AbstractEventLoop, groups: list[str], payload: dict) -> None:
    outbox = _outboxes.get(loop)
    if outbox is None:
        for stale in [other for other in _outboxes if other.is_closed()]:
            del _outboxes[stale]
        outbox = _outboxes[loop] = _Outbox(loop)
    outbox.put(groups, payload)


def _send(groups: list[str], payload: dict) -> None:
    loop = _serving_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_put, loop, groups, payload)
        return
    # No loop behind this thread (a management command, a test): send and wait here.
    send = async_to_sync(get_channel_layer().group_send)
    for group in groups:
        try:
            send(group, payload)
        except Exception:
            # Already committed: a failing channel layer must not fail the request.
            logger.exception("channel layer send to %s failed", group)


def send_event_on_commit(groups: list[str], event_type: str, data: dict) -> None:
    """Send {"type": event_type, **data} to each group once the current transaction commits."""
    payload = {"type": event_type, **data}
    transaction.on_commit(lambda: _send(list(dict.fromkeys(groups)), payload))


def send_event_now(groups: list[str], event_type: str, data: dict) -> None:
    """From the event loop, for a write that has already committed: queue the event behind the others."""
    loop = asyncio.get_running_loop()
    _put(loop, list(dict.fromkeys(groups)), {"type": event_type, **data})
