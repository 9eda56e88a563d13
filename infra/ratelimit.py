"""Fixed-window rate limits, shared by every process (Redis in production, the local cache embedded).

Hand-written because django-ratelimit keys on an HttpRequest, and the chat consumer, which has
none, must share the same limits and counters as the views. With REDIS_URL the counters live in
Redis and a hit is one round trip (SET NX EX and INCR in one pipeline): Django's cache API would
take two or three (add, then an incr that checks the key exists first), and a hit sits on the path
of every chat message.
"""

import asyncio
import functools
import time

import redis
import redis.asyncio as redis_async
from django.conf import settings
from django.core.cache import cache

from .client import client_address


def _cache_key(scope: str, key: str) -> str:
    window = settings.RATE_LIMITS[scope][1]
    return f"rl:{scope}:{key}:{int(time.time() // window)}"


@functools.lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _redis() -> redis.Redis | None:
    url = settings.REDIS_URL
    return _client_for(url) if url else None


def hit(scope: str, key: str) -> bool:
    """Count one attempt; return False when the limit of the scope is exceeded for this key."""
    limit, window = settings.RATE_LIMITS[scope]
    cache_key = _cache_key(scope, key)
    client = _redis()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.set(cache_key, 0, ex=window + 1, nx=True)
        pipe.incr(cache_key)
        _, count = pipe.execute()
        return count <= limit
    if cache.add(cache_key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window + 1)
        return True
    return count <= limit


_async_clients: dict[tuple[str, asyncio.AbstractEventLoop], redis_async.Redis] = {}
# Redis connections per event loop for ahit(); one command each takes well under a millisecond.
ASYNC_CONNECTIONS = 20


async def ahit(scope: str, key: str) -> bool:
    """hit() for code on an event loop: the same counters, without leaving the loop."""
    url = settings.REDIS_URL
    if not url:
        return hit(scope, key)  # the process-local cache: no I/O to wait for
    loop = asyncio.get_running_loop()
    client = _async_clients.get((url, loop))
    if client is None:
        for stale in [entry for entry in _async_clients if entry[1].is_closed()]:
            del _async_clients[stale]
        # Waits for a free connection when all are busy (a burst on thousands of sockets) instead of
        # failing like the default pool, which raised "Too many connections" at 30,000 sockets.
        pool = redis_async.BlockingConnectionPool.from_url(url, max_connections=ASYNC_CONNECTIONS, timeout=10)
        client = _async_clients[(url, loop)] = redis_async.Redis(connection_pool=pool)
    limit, window = settings.RATE_LIMITS[scope]
    cache_key = _cache_key(scope, key)
    pipe = client.pipeline(transaction=False)
    pipe.set(cache_key, 0, ex=window + 1, nx=True)
    pipe.incr(cache_key)
    _, count = await pipe.execute()
    return count <= limit


def is_blocked(scope: str, key: str) -> bool:
    """Return whether the key has used up its attempts in this window, without counting one."""
    limit, _ = settings.RATE_LIMITS[scope]
    cache_key = _cache_key(scope, key)
    client = _redis()
    count = client.get(cache_key) if client is not None else cache.get(cache_key)
    return int(count or 0) >= limit


def reset(scope: str, key: str) -> None:
    cache_key = _cache_key(scope, key)
    client = _redis()
    if client is not None:
        client.delete(cache_key)
    else:
        cache.delete(cache_key)


class LocalWindow:
    """A fixed-window limit kept in memory, for counts that belong to one object, such as one socket.

    A websocket's frames all reach the process that holds the socket, so its flood limit needs no
    shared store (and no round trip per frame).
    """

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self.started = time.monotonic()
        self.count = 0

    def hit(self) -> bool:
        now = time.monotonic()
        if now - self.started >= self.window:
            self.started = now
            self.count = 0
        self.count += 1
        return self.count <= self.limit


def client_ip(request) -> str:
    """Return the client address as a rate-limit key (infra.client.client_address)."""
    return client_address(request) or "unknown"
