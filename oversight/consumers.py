"""The wallboard's websocket (实时监控): pushes every window's state to a supervisor, live.

It listens to the window groups chat already sends to (queue, presence, taken, ...) and refreshes
shortly after any of them, and on a timer besides, so waits keep growing on screen and a missed event
costs at most one period. Read-only: the only frame it accepts is a refresh request.
"""
import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat.events import window_group

from . import selectors, wallboard

# Close code for a socket refused because its user may not see the wallboard.
CLOSE_FORBIDDEN = 4403
DEBOUNCE_SECONDS = 0.5


def refresh_seconds() -> float:
    return float(getattr(settings, "WALLBOARD_REFRESH_SECONDS", 10))


def may_watch(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.is_supervisor
                and user.has_perm("oversight.view_assessment"))


class WallboardConsumer(AsyncJsonWebsocketConsumer):
    """One supervisor's wallboard: the whole state on connect, then again on each change."""

    timer: asyncio.Task | None = None
    pending: asyncio.TimerHandle | None = None

    @classmethod
    async def encode_json(cls, content):
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))

    async def connect(self):
        user = self.scope.get("user")
        if not await database_sync_to_async(may_watch)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        window_ids = await database_sync_to_async(lambda: list(selectors.windows().values_list("id", flat=True)))()
        self.watched = [window_group(window_id) for window_id in window_ids]
        for group in self.watched:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.push()
        self.timer = asyncio.ensure_future(self.tick())

    async def disconnect(self, code):
        if self.timer is not None:
            self.timer.cancel()
        if self.pending is not None:
            self.pending.cancel()
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
        # Any event of a watched window group, whatever chat calls it, means "look again".
        if not message["type"].startswith("websocket."):
            self.schedule()
            return
        await super().dispatch(message)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "refresh":
            self.schedule()
        else:
            await self.send_json({"type": "error", "code": "unknown_type", "message": "实时监控只接受刷新请求。"})

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or len(text_data) > 1000:
            await self.send_json({"type": "error", "code": "bad_frame", "message": "消息帧格式不正确。"})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "code": "bad_frame", "message": "消息格式不正确（不是有效的 JSON）。"})
            return
        await self.receive_json(content)
