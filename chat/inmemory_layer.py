"""The embedded setup's channel layer: Channels' in-memory layer without its scan of every channel.

channels.layers.InMemoryChannelLayer runs _clean_expired() on every receive and every group_send: a
walk over every channel and every group membership of the process, O(open sockets) per event, and it
deep-copies each message once per receiving channel and starts a task per receiver. With thousands of
open pages that scan, not the chat, fills the core (docs/benchmarks.md, issue 16). Here:
- expired messages are dropped from the channel being read, and the walk over everything runs at
  most once per `sweep_every` seconds;
- a channel's groups are indexed, so dropping an expired channel from its groups costs its groups only;
- group_send copies the message once and puts it straight on each member's queue (a full queue drops
  the message for that member, as Channels does); receivers must not change a message in place, which
  no consumer here does (they only read events to build JSON).
Same semantics otherwise: capacity (1,000 by default here), expiry, group expiry, flush.
"""

import asyncio
import copy
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer


class IndexedInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, sweep_every: float = 5.0, capacity: int = 1000, **kwargs):
        # 1,000 waiting messages per channel, not Channels' 100: a desk that is busy encoding a burst
        # (a surge's arrivals, each a question, a system line and a state for the window's desks) must
        # not have its events dropped; they are small and the queue holds only the backlog.
        super().__init__(*args, capacity=capacity, **kwargs)
        self.sweep_every = sweep_every
        self.swept_at = time.monotonic()
        self.memberships: dict[str, set[str]] = {}  # channel -> its groups

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    def _sweep_now_and_then(self) -> None:
        if time.monotonic() - self.swept_at >= self.sweep_every:
            self.swept_at = time.monotonic()
            self._clean_expired()

    def _drop_expired(self, channel: str, queue: asyncio.Queue) -> None:
        now = time.time()
        while not queue.empty() and queue._queue[0][0] < now:
            queue.get_nowait()
            self._remove_from_groups(channel)

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, copy.deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._sweep_now_and_then()
        queue = self._queue(channel)
        self._drop_expired(channel, queue)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    def _remove_from_groups(self, channel):
        for group in self.memberships.pop(channel, ()):
            members = self.groups.get(group)
            if members is not None:
                members.pop(channel, None)
                if not members:
                    self.groups.pop(group, None)

    async def flush(self):
        await super().flush()
        self.memberships = {}

    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        self.memberships.setdefault(channel, set()).add(group)

    async def group_discard(self, group, channel):
        await super().group_discard(group, channel)
        groups = self.memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                self.memberships.pop(channel, None)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._sweep_now_and_then()
        members = self.groups.get(group)
        if not members:
            return
        entry = (time.time() + self.expiry, copy.deepcopy(message))
        for channel in list(members):
            try:
                self._queue(channel).put_nowait(entry)
            except asyncio.QueueFull:
                pass
