"""Fixed-window rate limits kept in the shared cache (Redis in production).

Hand-written because django-ratelimit keys on an HttpRequest, and the chat consumer, which has
none, must share the same limits and counters as the views.
"""
import time

from django.conf import settings
from django.core.cache import cache


def _cache_key(scope: str, key: str) -> str:
    window = settings.RATE_LIMITS[scope][1]
    return f"rl:{scope}:{key}:{int(time.time() // window)}"


def hit(scope: str, key: str) -> bool:
    """Count one attempt; return False when the limit of the scope is exceeded for this key."""
    limit, window = settings.RATE_LIMITS[scope]
    cache_key = _cache_key(scope, key)
    if cache.add(cache_key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window + 1)
        return True
    return count <= limit


def is_blocked(scope: str, key: str) -> bool:
    """Return whether the key has used up its attempts in this window, without counting one."""
    limit, _ = settings.RATE_LIMITS[scope]
    return (cache.get(_cache_key(scope, key)) or 0) >= limit


def reset(scope: str, key: str) -> None:
    cache.delete(_cache_key(scope, key))


def client_ip(request) -> str:
    """Return the client address; behind the proxy, the last hop it appended to X-Forwarded-For."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.TRUST_X_FORWARDED_FOR:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"
