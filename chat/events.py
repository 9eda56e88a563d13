"""Events to the channel layer, sent only after the surrounding transaction commits."""

import asyncio
import collections
import contextvars
import logging
import os
import threading
import time

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def window_group(window_id: int) -> str:
    return f"window.{window_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def queue_group(window_id: int) -> str:
    """A window's queue head, heard by one listener per process (chat/queue_watch.py), not by each socket."""
    return f"queue.{window_id}"


class _Outbox:
    """Events waiting to be sent from one event loop, in the order their transactions committed.

    Actions run on the database thread; handing their events to the loop (instead of waiting there
    for each group_send) frees that thread, which serves every socket of the process, as soon as the
    transaction has committed. One drain task per loop keeps the order.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pending: collections.deque = collections.deque()
        self.latest: dict[str, list] = {}
        self.draining = False
        # Throttled builds (send_built_on_commit with every > 0), touched by the database thread's commit
        # callbacks and by the loop's delayed builds.
        self.lock = threading.Lock()
        self.built_at: dict[str, float] = {}  # key -> when its events were last built (monotonic)
        self.scheduled: set[str] = set()  # keys with a delayed build due

    def build_now_or_later(self, key: str, build, every: float) -> list | None:
        """Return build()'s events if the key's last build is `every` seconds old; else make sure one
        build runs on the loop when it is, and return None.

        Called by a commit callback on the database thread, which builds at once (no wait for the
        thread's turn). A burst of commits leaves one delayed build; it reads the state when it runs,
        so it includes every one of them.
        """
        with self.lock:
            if key in self.scheduled:
                return None
            now = time.monotonic()
            wait = self.built_at.get(key, -every) + every - now
            if wait <= 0:
                self.built_at[key] = now
            else:
                self.scheduled.add(key)
        if wait <= 0:
            return build()
        # A fresh context: the build task must not inherit the database thread's (asgiref's deadlock guard).
        self.loop.call_soon_threadsafe(
            lambda: self.loop.call_later(
                wait, lambda: self.loop.create_task(self._build_later(key, build), context=contextvars.Context())
            )
        )
        return None

    async def _build_later(self, key: str, build) -> None:
        with self.lock:
            # From now on a commit asks for a build after this one.
            self.scheduled.discard(key)
            self.built_at[key] = time.monotonic()
        try:
            # Not on the database thread: in a surge its line of handshakes and messages can be seconds
            # long, and a place must not wait for it. The build only reads (one pool thread's connection).
            events = await database_sync_to_async(build, thread_sensitive=False)()
        except Exception:
            logger.exception("building the events of %s failed", key)
            return
        for groups, event_type, data in events:
            self.put(list(dict.fromkeys(groups)), {"type": event_type, **data}, key=f"{key}:{event_type}")

    def put(self, groups: list[str], payload: dict, *, key: str | None = None) -> None:
        """Queue an event; call on the loop's own thread.

        An event with a key replaces a waiting one with the same key (it keeps that one's place in the line):
        a burst of changes to one window's queue leaves one event, with the latest state.
        """
        if key is not None and key in self.latest:
            self.latest[key][1] = payload
            return
        entry = [groups, payload, key]
        self.pending.append(entry)
        if key is not None:
            self.latest[key] = entry
        if not self.draining:
            self.draining = True
            self.loop.create_task(self.drain())

    async def drain(self) -> None:
        layer = get_channel_layer()
        try:
            while self.pending:
                groups, payload, key = self.pending.popleft()
                if key is not None:
                    del self.latest[key]
                for group in groups:
                    try:
                        await layer.group_send(group, payload)
                    except Exception:
                        # Already committed: a client that missed the event catches up when it resumes.
                        logger.exception("channel layer send to %s failed", group)
        finally:
            self.draining = False


_outboxes: dict[asyncio.AbstractEventLoop, _Outbox] = {}
_outboxes_lock = threading.Lock()


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop that handed this thread its work (a consumer's or an ASGI view's), if any."""
    # asgiref records it for its own async_to_sync; there is no public accessor.
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    outbox = _outboxes.get(loop)
    if outbox is None:
        with _outboxes_lock:  # the loop's thread and its database thread (throttled builds) both get here
            outbox = _outboxes.get(loop)
            if outbox is None:
                for stale in [other for other in _outboxes if other.is_closed()]:
                    del _outboxes[stale]
                outbox = _outboxes[loop] = _Outbox(loop)
    return outbox


def _put(loop: asyncio.AbstractEventLoop, groups: list[str], payload: dict, key: str | None = None) -> None:
    _outbox(loop).put(groups, payload, key=key)


def _send(groups: list[str], payload: dict, key: str | None = None) -> None:
    loop = _serving_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_put, loop, groups, payload, key)
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


class _BuiltAfterCommit:
    """An on-commit callback that builds its events from the committed state; see send_built_on_commit."""

    def __init__(self, key: str, build, every: float):
        self.key = key
        self.build = build
        self.every = every
        self.done = False

    def __call__(self) -> None:
        self.done = True
        loop = _serving_loop() if self.every > 0 else None
        events = self.build() if loop is None else _outbox(loop).build_now_or_later(self.key, self.build, self.every)
        for groups, event_type, data in events or ():
            _send(list(dict.fromkeys(groups)), {"type": event_type, **data}, key=f"{self.key}:{event_type}")


def send_built_on_commit(key: str, build, *, every: float = 0.0) -> None:
    """After commit, send the events build() returns as (groups, type, data), once per key and transaction.

    For a state many writes change (a window's queue): build reads it after the commit, so it includes
    this transaction and every one committed before; further calls with the same key in the transaction
    add nothing, and a burst of such events waiting on the event loop is sent as the latest one.
    every > 0: in a process serving sockets, build at most once per `every` seconds per key: at once if
    the last build is older, else one delayed build for all the commits in between; a surge's arrivals
    then cost one build per interval, not one each.
    """
    for _, callback, _ in connection.run_on_commit:
        if getattr(callback, "key", None) == key and not callback.done:
            return
    transaction.on_commit(_BuiltAfterCommit(key, build, every))


def send_event_now(groups: list[str], event_type: str, data: dict) -> None:
    """From the event loop, for a write that has already committed: queue the event behind the others."""
    loop = asyncio.get_running_loop()
    _put(loop, list(dict.fromkeys(groups)), {"type": event_type, **data})
