"""Control: a websocket opens only from one of the site's own origins: scheme, host and port."""

import pytest
from channels.testing import WebsocketCommunicator

from portal.asgi import application
from portal.origin import origin_allowed
from tests.sockets import connect


def scope(origin: str, host: str | None = "duty.example.gov", scheme: str = "wss", proto: str | None = None) -> dict:
    headers = [(b"origin", origin.encode())]
    if host:
        headers.append((b"host", host.encode()))
    if proto:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.fixture
def site(settings):
    settings.ALLOWED_HOSTS = ["duty.example.gov", "localhost"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://duty.example.gov"]


def test_same_origin_and_trusted_origins_pass(site):
    assert origin_allowed(scope("https://duty.example.gov"))
    assert origin_allowed(scope("https://duty.example.gov:443"))
    assert origin_allowed(scope("http://localhost:8000", host="localhost:8000", scheme="ws"))
    # Behind the TLS proxy daphne sees ws://, the proxy says https.
    assert origin_allowed(scope("https://localhost:8443", host="localhost:8443", scheme="ws", proto="https"))


@pytest.mark.parametrize(
    "origin",
    [
        "http://duty.example.gov",  # the right host over plain HTTP
        "https://duty.example.gov:8443",  # another port of the same host
        "https://evil.example.com",
        "https://duty.example.gov.evil.example.com",
        "null",
        "",
    ],
)
def test_other_schemes_ports_and_hosts_are_refused(site, origin):
    assert not origin_allowed(scope(origin))


def test_another_port_on_localhost_is_refused(site):
    assert not origin_allowed(scope("http://localhost:9999", host="localhost:8000", scheme="ws"))
    assert not origin_allowed(scope("http://localhost:8000", host="evil.example.com:8000", scheme="ws"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_handshake_from_another_port_is_refused(site):
    communicator = WebsocketCommunicator(
        application, "/ws/desk/", headers=[(b"origin", b"http://localhost:9999"), (b"host", b"localhost:8000")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    # The same origin is let through to the consumer (which then asks for a login: 4401).
    same, accepted, _ = await connect("/ws/desk/", origin="http://localhost:8000")
    assert accepted
    await same.disconnect()
