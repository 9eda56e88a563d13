"""A variant of the portal for measuring a proposal before it is made (bench only).

    daphne bench.variant_ping:application   # keepalives answered without the database thread

Every page sends a keepalive every 20 s (chat.js ``ping``; the desk's ``heartbeat`` is left as it is:
it records presence). Today a ``ping`` costs two hops to the process's single database thread: the
frame rate limit and ``actions.sweep`` (a Redis ``add`` that almost always finds the lock taken). Here a
ping is answered at once; the frame limit is not counted for it, and the sweep hop is made at most once
per 5 s per process (``sweep`` itself still runs at most once per 5 s across all processes).
"""
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from channels.db import database_sync_to_async  # noqa: E402

from chat import actions, consumers  # noqa: E402

original = consumers.BaseConsumer.receive_json
last_sweep = [0.0]


async def receive_json(self, frame, **kwargs):
    if isinstance(frame, dict) and frame.get("type") == "ping" and isinstance(self, consumers.ChatConsumer):
        if time.monotonic() - last_sweep[0] > 5:
            last_sweep[0] = time.monotonic()
            await database_sync_to_async(actions.sweep)()
        await self.send_json({"type": "pong"})
        return
    await original(self, frame, **kwargs)


consumers.BaseConsumer.receive_json = receive_json

from portal.asgi import application  # noqa: E402,F401
