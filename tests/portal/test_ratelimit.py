"""Rate limits: the same counts on the local cache (embedded) and on a real Redis (production)."""

import asyncio
import time

import pytest
import redis
from django.core.cache import cache

from infra import ratelimit


@pytest.fixture(params=["cache", "redis"])
def store(request, settings):
    """Run the test once on the local cache and once on a throwaway redis-server."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public_lookup": (3, 60)}
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    else:
        settings.REDIS_URL = ""
        cache.clear()
    return request.param


def test_the_limit_counts_blocks_and_resets(store):
    assert [ratelimit.hit("public_lookup", "1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert ratelimit.is_blocked("public_lookup", "1.2.3.4")
    # Another key has its own count.
    assert ratelimit.hit("public_lookup", "5.6.7.8") and not ratelimit.is_blocked("public_lookup", "5.6.7.8")
    ratelimit.reset("public_lookup", "1.2.3.4")
    assert not ratelimit.is_blocked("public_lookup", "1.2.3.4")
    assert ratelimit.hit("public_lookup", "1.2.3.4")


def test_redis_counters_expire_with_their_window(redis_url, settings):
    settings.REDIS_URL = redis_url
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public_lookup": (3, 60)}
    redis.Redis.from_url(redis_url).flushdb()
    ratelimit.hit("public_lookup", "9.9.9.9")
    client = redis.Redis.from_url(settings.REDIS_URL)
    (key,) = client.keys("rl:public_lookup:9.9.9.9:*")
    assert 0 < client.ttl(key) <= 61
    # A second hit keeps the first expiry instead of pushing it back.
    ttl = client.ttl(key)
    ratelimit.hit("public_lookup", "9.9.9.9")
    assert client.ttl(key) <= ttl and int(client.get(key)) == 2


def test_a_local_window_counts_per_object_and_starts_over():
    limit = ratelimit.LocalWindow(2, 0.2)
    other = ratelimit.LocalWindow(2, 0.2)
    assert [limit.hit(), limit.hit(), limit.hit()] == [True, True, False]
    assert other.hit()
    time.sleep(0.25)
    assert limit.hit()


@pytest.mark.asyncio
async def test_a_burst_on_the_event_loop_waits_for_connections_instead_of_failing(redis_url, settings):
    """Hundreds of sockets counting at once (ahit) share a few Redis connections; none fails, none miscounts."""
    settings.REDIS_URL = redis_url
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (150, 60)}
    redis.Redis.from_url(redis_url).flushdb()
    burst = ratelimit.ASYNC_CONNECTIONS * 10
    results = await asyncio.gather(*[ratelimit.ahit("chat_message", "officer-7") for _ in range(burst)])
    assert results.count(True) == 150
    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys("rl:chat_message:officer-7:*")
    assert int(client.get(key)) == burst
