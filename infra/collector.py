"""Keep the cyclic garbage collector's full collections from stalling a server process with many sockets.

A full collection walks every tracked object. Each open websocket keeps a few hundred of them (the
consumer, its scope and session, the user and conversation, daphne's and autobahn's protocol objects),
so with 15,000 sockets in one daphne a full collection took 1.2 s (median) to 2.9 s, and while the
sockets kept arriving one ran every 10 s or so (docs/benchmarks.md, issue 16): every socket of the
process, chats and keepalives alike, waited that long.

Objects that survived a while are moved out of the collector's view (``gc.freeze()``) every
``freeze_every`` seconds, so the automatic collections only walk what is young. Frozen objects are
still freed as soon as nothing refers to them; only reference cycles among them wait, for the full
collection that runs every ``full_every`` seconds (``gc.unfreeze()``, ``gc.collect()``, then freeze
again): that one pause, at a known rate, bounds the memory such cycles can hold.
"""

import gc
import threading
import time


def keep_full_collections_short(*, freeze_every: float, full_every: float) -> threading.Event | None:
    """Start the daemon thread that freezes survivors and runs the occasional full collection.

    ``freeze_every`` 0 turns it off (the collector's defaults); ``full_every`` 0: never a full one.
    Return the event that stops the thread when set (None when off).
    """
    if freeze_every <= 0:
        return None
    stop = threading.Event()

    def run() -> None:
        last_full = time.monotonic()
        while not stop.wait(freeze_every):
            if full_every > 0 and time.monotonic() - last_full >= full_every:
                gc.unfreeze()
                gc.collect()
                last_full = time.monotonic()
            gc.freeze()

    threading.Thread(target=run, name="gc-freeze", daemon=True).start()
    return stop
