import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections
from django.test import Client

from chat import loop_connection
from portal.asgi import application


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


@sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(path: str, user=None, origin: str = "http://localhost", cookie: str | None = None):
    """Open a websocket through the real ASGI application; return (communicator, accepted, close code)."""
    headers = [(b"origin", origin.encode())]
    if user is not None and cookie is None:
        cookie = await session_cookie(user)
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def receive_until(communicator, frame_type: str, limit: int = 20) -> dict:
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] == frame_type:
            return frame
    raise AssertionError(f"no {frame_type} frame")
