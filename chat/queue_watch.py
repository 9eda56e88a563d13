"""Each process's waiting citizens, told their place in the queue by one listener per process (issue 16).

A change at a window's head is one `queue.head` event to `queue.<window>` (chat/actions/queue.py). Only
one channel per process (per event loop) is in that group, not every waiting citizen's socket: it hears
the head once and works out the place of each socket of this process waiting at the window from its
ticket, and tells those whose place moved. A burst of heads within HEAD_EVERY_SECONDS is one pass with
the latest head (the first at once). What a process keeps here is about its own sockets only; the
queue itself is in the database.

The latest head heard is kept per window, so that a socket that starts waiting just after a head went
by (its own place was counted before it) still hears the change.
"""

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

from . import selectors
from .events import queue_group

logger = logging.getLogger(__name__)

# A window's waiting sockets of one process are told at most this often (the latest head wins).
HEAD_EVERY_SECONDS = 0.2
# Memberships are renewed this often: a layer's group expiry, or a listener that fell behind long
# enough for the in-memory layer to drop it from its groups, must not leave a window unheard.
RENEW_EVERY_SECONDS = 30


class Waiting(Protocol):
    ticket: int | None
    position: int | None

    async def tell_position(self, position: int | None) -> None: ...


class _Window:
    def __init__(self):
        self.sockets: set[Waiting] = set()
        self.head: dict | None = None  # the latest head heard (largest built_at)
        self.due = False  # a pass is scheduled
        self.told_at = float("-inf")  # loop time of the last pass


class QueueWatch:
    """The waiting sockets of one event loop, by window, and the one channel that hears their heads."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.windows: dict[int, _Window] = {}
        self.lock = asyncio.Lock()
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.renewer: asyncio.Task | None = None

    async def follow(self, socket: Waiting, window_id: int) -> None:
        """Tell the socket its place whenever the window's queue moves, until unfollow."""
        async with self.lock:
            window = self.windows.get(window_id)
            if window is None:
                # Recorded once the process listens: a failing layer leaves no window that nobody hears.
                await self._start()
                await get_channel_layer().group_add(queue_group(window_id), self.channel)
                window = self.windows[window_id] = _Window()
            window.sockets.add(socket)
        if window.head is not None:
            await socket.tell_position(selectors.place_in_queue(socket.ticket, window.head))

    async def unfollow(self, socket: Waiting, window_id: int) -> None:
        async with self.lock:
            window = self.windows.get(window_id)
            if window is None or socket not in window.sockets:
                return
            window.sockets.discard(socket)
            if window.sockets:
                return
            del self.windows[window_id]
            await get_channel_layer().group_discard(queue_group(window_id), self.channel)
            if not self.windows:
                self._stop()

    async def _start(self) -> None:
        if self.listener is not None:
            return
        self.channel = await get_channel_layer().new_channel("queuewatch.")
        self.listener = self.loop.create_task(self._listen(self.channel))
        self.renewer = self.loop.create_task(self._renew())

    def _stop(self) -> None:
        for task in (self.listener, self.renewer):
            if task is not None:
                task.cancel()
        self.listener = self.renewer = self.channel = None

    async def _listen(self, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("queue watch: receiving from the channel layer failed")
                await asyncio.sleep(1)
                continue
            if message.get("type") == "queue.head":
                self.heard(message["head"])

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_SECONDS)
            async with self.lock:
                for window_id in list(self.windows):
                    try:
                        await get_channel_layer().group_add(queue_group(window_id), self.channel)
                    except Exception:
                        logger.exception("queue watch: renewing %s failed", window_id)

    def heard(self, head: dict) -> None:
        """Keep the newer head and tell the window's sockets: at once, or with the next pass."""
        window = self.windows.get(head["window"])
        if window is None:
            return
        if window.head is not None and window.head.get("built_at", 0) > head.get("built_at", 0):
            return  # an older state, from a slower process
        window.head = head
        if window.due:
            return
        window.due = True
        wait = max(0.0, window.told_at + HEAD_EVERY_SECONDS - self.loop.time())
        self.loop.call_later(wait, lambda: self.loop.create_task(self._tell(head["window"])))

    async def _tell(self, window_id: int) -> None:
        window = self.windows.get(window_id)
        if window is None:
            return
        window.due = False
        window.told_at = self.loop.time()
        head = window.head
        for socket in list(window.sockets):
            position = selectors.place_in_queue(socket.ticket, head)
            # Only the moved ones: most sockets of a long queue are skipped without a frame.
            if position is not None and (socket.position is None or position < socket.position):
                try:
                    await socket.tell_position(position)
                except Exception:
                    logger.exception("queue watch: telling a socket its place failed")


_watches: dict[asyncio.AbstractEventLoop, QueueWatch] = {}


def watch() -> QueueWatch:
    """Return the running event loop's queue watch."""
    loop = asyncio.get_running_loop()
    found = _watches.get(loop)
    if found is None:
        for stale in [other for other in _watches if other.is_closed()]:
            del _watches[stale]
        found = _watches[loop] = QueueWatch(loop)
    return found
