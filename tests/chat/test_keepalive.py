"""Keepalives across real daphne processes: presence refreshed per process, protocol pings, a killed process.

Two daphne processes share PostgreSQL and Redis as in production. The chat pages here send no `ping`
(CHAT_PING_SECONDS=0): they only answer the server's websocket protocol pings, as a browser does.
"""

import asyncio
import json
import socket
import time

import pytest
import websockets

from deploy.processes import Daphne, free_port
from tests.chat.test_two_processes import SETUP
from tests.services import LOG_DIR, TEST_PROCESS, find_daphne, manage, service_env

pytestmark = pytest.mark.services


def _daphne(env: dict, **options) -> Daphne:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return Daphne(
        LOG_DIR,
        port,
        {},
        base_env=service_env(env),
        behind_proxy=False,
        binary=find_daphne(),
        name=f"daphne-{port}",
        log_dir=LOG_DIR,
        **TEST_PROCESS,
        **options,
    )


async def _socket(base_url: str, path: str, session: str):
    return await websockets.connect(
        base_url.replace("http://", "ws://") + path,
        additional_headers={"Cookie": f"sessionid={session}"},
        origin=base_url,
        ping_interval=None,  # the client sends no pings of its own; it answers the server's
    )


async def _until(ws, frame_type: str, timeout: float) -> dict:
    async def wait():
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame

    return await asyncio.wait_for(wait(), timeout)


def _silent_handshake(base_url: str, path: str, session: str) -> socket.socket:
    """Open a websocket and never read from it again, nor answer anything (a peer that stopped reading)."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {base_url}\r\nCookie: sessionid={session}\r\n\r\n"
        ).encode()
    )
    return sock


def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Read what was left unread; True if the server closed or aborted the connection."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def _presence_across_processes(a: Daphne, b: Daphne, ids: dict) -> None:
    desk = await _socket(b.url, "/ws/desk/", ids["officer"])
    await desk.send(json.dumps({"type": "state"}))
    await _until(desk, "state", 10)
    chat = await _socket(a.url, f"/ws/chat/{ids['conversation']}/", ids["citizen"])
    assert (await _until(desk, "citizen_presence", 10))["online"] is True

    # The page sends nothing for longer than CITIZEN_PRESENCE_SECONDS (3 s): its process refreshes it,
    # so the desk hears no "left" while the desk's own heartbeats run the sweep.
    silent_until = time.monotonic() + 6
    while time.monotonic() < silent_until:
        await desk.send(json.dumps({"type": "heartbeat"}))
        with pytest.raises(TimeoutError):
            await _until(desk, "citizen_presence", 1)
    # And the socket, which answered the protocol pings (1 s interval) and sent nothing, is still open.
    await chat.send(json.dumps({"type": "ping"}))
    assert (await _until(chat, "pong", 5))["type"] == "pong"

    # A peer that stops reading and answers nothing is dropped by the protocol pings.
    stuck = _silent_handshake(a.url, f"/ws/chat/{ids['conversation']}/", ids["citizen"])
    await asyncio.sleep(6)  # ping after 1 s of silence (checked every 2 s), then 1 s for the pong
    assert _closed_by_server(stuck, 5)
    stuck.close()

    # The process holding the page dies: no close reaches anyone. Its page goes stale and is swept as left.
    a.kill9()
    started = time.monotonic()
    while True:
        await desk.send(json.dumps({"type": "heartbeat"}))
        try:
            left = await _until(desk, "citizen_presence", 1)
            break
        except TimeoutError:
            assert time.monotonic() - started < 15, "the dead process's page was never swept"
    assert left == {"type": "citizen_presence", "conversation": ids["conversation"], "online": False}
    await desk.close()


def test_pages_stay_present_without_pings_until_their_process_dies(redis_url, fresh_database):
    env = {
        "DATABASE_URL": fresh_database,
        "REDIS_URL": redis_url,
        "FAST_PASSWORD_HASHER": "1",
        "DEBUG": "1",
        "CHAT_PING_SECONDS": "0",
        "CITIZEN_PRESENCE_SECONDS": "3",
        "CITIZEN_REFRESH_SECONDS": "1",
    }
    ids = json.loads(manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
    a = _daphne(env, ping_interval=1, ping_timeout=1)
    b = _daphne(env)
    try:
        a.start(60)
        b.start(60)
        asyncio.run(_presence_across_processes(a, b, ids))
    finally:
        a.stop()
        b.stop()
