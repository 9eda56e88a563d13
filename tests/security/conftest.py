import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import connections

from chat import loop_connection


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache and are keyed by ids that tests reuse."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
async def close_consumer_connections():
    """Close the connections the consumers keep, so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()
    await loop_connection.close_connections()
