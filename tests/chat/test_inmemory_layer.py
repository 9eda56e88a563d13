"""The embedded setup's channel layer (chat/inmemory_layer.py) keeps Channels' in-memory semantics."""

import asyncio

import pytest
from channels.exceptions import ChannelFull

from chat.inmemory_layer import IndexedInMemoryChannelLayer

pytestmark = pytest.mark.asyncio


async def test_a_group_send_reaches_each_member_once_and_nobody_else():
    layer = IndexedInMemoryChannelLayer()
    a, b, outsider = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("queue.1", a)
    await layer.group_add("queue.1", b)
    await layer.group_add("conv.9", outsider)
    await layer.group_send("queue.1", {"type": "queue.head", "head": {"head": 3}})
    assert await layer.receive(a) == {"type": "queue.head", "head": {"head": 3}}
    assert await layer.receive(b) == {"type": "queue.head", "head": {"head": 3}}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(outsider), 0.05)
    await layer.group_discard("queue.1", b)
    await layer.group_send("queue.1", {"type": "queue.head", "head": {"head": 4}})
    assert (await layer.receive(a))["head"] == {"head": 4}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(b), 0.05)


async def test_a_full_channel_loses_the_event_alone_and_an_expired_one_leaves_its_groups():
    layer = IndexedInMemoryChannelLayer(capacity=1, expiry=0.05)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("window.1", slow)
    await layer.group_add("window.1", fast)
    await layer.group_send("window.1", {"type": "queue.changed", "n": 1})
    assert await layer.receive(fast) == {"type": "queue.changed", "n": 1}
    await layer.group_send("window.1", {"type": "queue.changed", "n": 2})  # slow is full: dropped for it only
    assert await layer.receive(fast) == {"type": "queue.changed", "n": 2}
    with pytest.raises(ChannelFull):
        await layer.send(slow, {"type": "x"})
    await asyncio.sleep(0.1)
    # Reading finds the waiting event expired: the channel is gone from its groups, as with Channels' layer.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(slow), 0.05)
    assert slow not in layer.groups.get("window.1", {})
    assert fast in layer.groups["window.1"]
