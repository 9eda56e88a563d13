"""A server-side probe for ws_load (bench only): ``--app bench.probe:application`` (or ``bench.probe:echo``).

Wraps the portal's (or the bare echo's) ASGI application and records, in the daphne process, how long
each collection of the cyclic garbage collector took (per generation) and how late the event loop ran a
50 ms timer. Every 5 s it writes the figures so far to ``$BENCH_PROBE_DIR/probe-<pid>.json``; ws_load
folds them into its JSON line.
"""

import asyncio
import gc
import json
import os
import time

_started = False
_gc_start = 0.0
_stats = {"gc": {"0": [], "1": [], "2": []}, "lag_ms": []}


def _on_gc(phase: str, info: dict) -> None:
    global _gc_start
    if phase == "start":
        _gc_start = time.perf_counter()
    else:
        _stats["gc"][str(info["generation"])].append((time.perf_counter() - _gc_start) * 1000)


def summary() -> dict:
    def brief(values):
        values = sorted(values)
        if not values:
            return {"n": 0}
        return {
            "n": len(values),
            "p50_ms": round(values[len(values) // 2], 2),
            "max_ms": round(values[-1], 2),
            "total_ms": round(sum(values), 1),
        }

    return {
        "pid": os.getpid(),
        "gc": {generation: brief(values) for generation, values in _stats["gc"].items()},
        "loop_lag": brief(_stats["lag_ms"]),
        "loop_lag_over_100ms": sum(1 for v in _stats["lag_ms"] if v > 100),
        "gc_objects_tracked": len(gc.get_objects()) if os.environ.get("BENCH_PROBE_COUNT") else None,
        "gc_frozen": gc.get_freeze_count(),
    }


async def _watch() -> None:
    folder = os.environ.get("BENCH_PROBE_DIR", "/tmp")
    last_write = time.monotonic()
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.05)
        _stats["lag_ms"].append((time.monotonic() - before - 0.05) * 1000)
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
