"""Websocket helpers for consumer tests: the real ASGI application, signed in as a user."""

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application


@sync_to_async
def session_cookie(user) -> str:
    """Return the session cookie of a fresh login of the user (recorded like every sign-in)."""
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
    """Return the first frame of the type among the next `limit` frames."""
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] == frame_type:
            return frame
    raise AssertionError(f"no {frame_type} frame")
