"""The collector policy of the server processes (infra/collector.py)."""

import gc
import time
import weakref

from infra import collector


class Node:
    def __init__(self):
        self.other = None


def test_survivors_are_frozen_and_their_cycles_freed_by_the_full_collection():
    gc.collect()
    stop = collector.keep_full_collections_short(freeze_every=0.1, full_every=0.6)
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the collector can free it
        alive = weakref.ref(a)
        frozen_before = gc.get_freeze_count()
        time.sleep(0.3)
        assert gc.get_freeze_count() > frozen_before  # moved out of the automatic collections' view
        del a, b
        gc.collect()
        assert alive() is not None  # frozen: a collection does not walk it
        deadline = time.monotonic() + 5
        while alive() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive() is None  # the periodic full collection freed it
    finally:
        stop.set()
        time.sleep(0.2)
        gc.unfreeze()


def test_zero_turns_it_off():
    assert collector.keep_full_collections_short(freeze_every=0, full_every=600) is None
