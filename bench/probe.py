"""A server-side probe for ws_load (bench only): ``--app bench.probe:application`` (or ``bench.probe:echo``).

Wraps the portal's (or the bare echo's) ASGI application and records, in the daphne process, how long
each collection of the cyclic garbage collector took (per generation) and how late the event loop ran a
50 ms timer. Every 5 s it writes the figures so far to ``$BENCH_PROBE_DIR/probe-<pid>.json``; ws_load
folds them into its JSON line.
"""

import asyncio
import collections
import gc
import json
import os
import time

_started = False
_gc_start = 0.0


class Figures:
    """Count, total, max and the latest 1,000 values (for the median) of one kind of pause, in O(1) memory."""

    def __init__(self):
        self.n, self.total, self.max, self.over_100 = 0, 0.0, 0.0, 0
        self.latest: collections.deque = collections.deque(maxlen=1000)

    def add(self, ms: float) -> None:
        self.n += 1
        self.total += ms
        self.max = max(self.max, ms)
        self.over_100 += ms > 100
        self.latest.append(ms)

    def brief(self) -> dict:
        if not self.n:
            return {"n": 0}
        latest = sorted(self.latest)
        return {
            "n": self.n,
            "p50_ms": round(latest[len(latest) // 2], 2),
            "max_ms": round(self.max, 2),
            "total_ms": round(self.total, 1),
            "over_100ms": self.over_100,
        }


_gc = {"0": Figures(), "1": Figures(), "2": Figures()}
_lag = Figures()
# (wall-clock time, what, ms) of every full collection and every event-loop lag over 50 ms, so that
# ws_load can count those inside its measured window.
_events: collections.deque = collections.deque(maxlen=5000)


def _on_gc(phase: str, info: dict) -> None:
    global _gc_start
    if phase == "start":
        _gc_start = time.perf_counter()
    else:
        ms = (time.perf_counter() - _gc_start) * 1000
        _gc[str(info["generation"])].add(ms)
        if info["generation"] == 2:
            _events.append((time.time(), "gc2", round(ms, 1)))


def summary() -> dict:
    # Not gc.get_freeze_count(): it walks every frozen object (half a second at 15,000 sockets).
    return {
        "pid": os.getpid(),
        "gc": {generation: figures.brief() for generation, figures in _gc.items()},
        "loop_lag": _lag.brief(),
        "events": list(_events),
    }


async def _watch() -> None:
    folder = os.environ.get("BENCH_PROBE_DIR", "/tmp")
    last_write = time.monotonic()
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.05)
        lag = (time.monotonic() - before - 0.05) * 1000
        _lag.add(lag)
        if lag > 50:
            _events.append((time.time(), "lag", round(lag, 1)))
        if time.monotonic() - last_write > 5:
            last_write = time.monotonic()
            with open(os.path.join(folder, f"probe-{os.getpid()}.json"), "w") as out:
                json.dump(summary(), out)


def _wrap(inner):
    async def application(scope, receive, send):
        global _started
        if not _started:
            _started = True
            gc.callbacks.append(_on_gc)
            asyncio.get_running_loop().create_task(_watch())
        return await inner(scope, receive, send)

    return application


def __getattr__(name):
    # Imported lazily: the echo and the portal configure Django differently, a process loads one of them.
    if name == "application":
        from portal.asgi import application as inner

        return _wrap(inner)
    if name == "echo":
        from bench.echo.asgi import application as inner

        return _wrap(inner)
    raise AttributeError(name)
