"""The wallboard's websocket (实时监控): pushes every window's state to a supervisor, live.

It listens to the window groups chat already sends to (queue, presence, taken, ...) and refreshes
shortly after any of them, and on a timer besides, so waits keep growing on screen and a missed event
costs at most one period. Read-only: the only frame it accepts is a refresh request.
"""

import asyncio

from channels.db import database_sync_to_async
from django.conf import settings

from chat.consumers import CLOSE_FORBIDDEN, BaseConsumer
from chat.events import window_group

from . import selectors, wallboard

DEBOUNCE_SECONDS = 0.5


def refresh_seconds() -> float:
    return float(getattr(settings, "WALLBOARD_REFRESH_SECONDS", 10))


def may_watch(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.is_supervisor
        and user.has_perm("oversight.view_assessment")
    )


class WallboardConsumer(BaseConsumer):
    """One supervisor's wallboard: the whole state on connect, then again on each change.

    BaseConsumer gives it the frame checks, the refusal codes and the end of the user's sessions.
    """

    handlers = {"refresh": "on_refresh"}
    timer: asyncio.Task | None = None
    pending: asyncio.TimerHandle | None = None

    async def connect(self):
        self.user = self.scope.get("user")
        if not await database_sync_to_async(may_watch)(self.user):
            await self.refuse(CLOSE_FORBIDDEN)
            return
        window_ids = await database_sync_to_async(lambda: list(selectors.windows().values_list("id", flat=True)))()
        self.watched = [window_group(window_id) for window_id in window_ids]
        for group in self.watched:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.join_account_group()
        await self.accept()
        await self.push()
        self.timer = asyncio.ensure_future(self.tick())

    async def disconnect(self, code):
        if self.timer is not None:
            self.timer.cancel()
        if self.pending is not None:
            self.pending.cancel()
        await self.leave_account_group()
        for group in getattr(self, "watched", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def tick(self):
        while True:
            await asyncio.sleep(refresh_seconds())
            await self.push()

    async def push(self):
        self.pending = None
        await self.send_json(await database_sync_to_async(wallboard.state)())

    def schedule(self):
        if self.pending is None:
            loop = asyncio.get_running_loop()
            self.pending = loop.call_later(DEBOUNCE_SECONDS, lambda: asyncio.ensure_future(self.push()))

    async def dispatch(self, message):
        # Any event of a watched window group, whatever chat calls it, means "look again"; the
        # socket's own messages and the end of the user's session are handled as usual.
        if message["type"].startswith("websocket.") or message["type"] == "session.end":
            await super().dispatch(message)
        else:
            self.schedule()

    async def on_refresh(self, frame):
        self.schedule()
