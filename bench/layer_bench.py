"""The in-process channel layer's cost per event with many open sockets: Channels' own against ours.

    .venv/bin/python -m bench.layer_bench            # 1,000 / 5,000 / 30,000 channels

Each channel is one open page: it is in its own group (its conversation) and in one shared group of 200
(a window's queue). Measured, per layer and size, in CPU microseconds: a group_send to one page's group
plus that page's receive (the chat message path), and a group_send to the shared group of 200 plus the
200 receives (a queue change). Prints ONE JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.common import loadavg, machine  # noqa: E402


async def measure(layer_class, channels: int, rounds: int = 2000) -> dict:
    layer = layer_class()
    names = [await layer.new_channel() for _ in range(channels)]
    for n, name in enumerate(names):
        await layer.group_add(f"conv.{n}", name)
        if n < 200:
            await layer.group_add("queue.1", name)
    message = {"type": "message.new", "message": {"conversation": 1, "seq": 1, "body": "您好" * 50}}
    started = time.process_time()
    for n in range(rounds):
        target = n % channels
        await layer.group_send(f"conv.{target}", message)
        await layer.receive(names[target])
    one = (time.process_time() - started) / rounds * 1e6
    started = time.process_time()
    for _ in range(rounds // 20):
        await layer.group_send(
            "queue.1", {"type": "queue.head", "head": {"window": 1, "head": 1, "tail": 200, "gaps": []}}
        )
        for name in names[:200]:
            await layer.receive(name)
    fan_out = (time.process_time() - started) / (rounds // 20) * 1e6
    return {"channels": channels, "send_receive_us": round(one, 1), "fan_out_200_us": round(fan_out, 1)}


def main() -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from channels.layers import InMemoryChannelLayer

    from chat.inmemory_layer import IndexedInMemoryChannelLayer

    output = {"bench": "layer_bench", "machine": machine()}
    for layer_class in (InMemoryChannelLayer, IndexedInMemoryChannelLayer):
        output[layer_class.__name__] = [asyncio.run(measure(layer_class, n)) for n in (1000, 5000, 30000)]
    output["loadavg_at_end"] = loadavg()
    print(json.dumps(output, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
