"""Control: ending a session closes the user's sockets in every daphne process (Redis channel layer)."""

import asyncio
import json
import time

import pytest
import websockets

from tests.chat.test_two_processes import SETUP
from tests.services import daphne_server, manage

pytestmark = pytest.mark.services

END = """
from portal.models import User
from portal import actions
officer = User.objects.get(role="officer")
citizen = User.objects.get(role="citizen")
import time
print(time.time())
actions.end_sessions(officer, code=actions.CLOSE_UNAUTHORIZED)
actions.end_sessions(citizen, code=actions.CLOSE_FORBIDDEN)
"""


async def _socket(base_url: str, path: str, session: str):
    return await websockets.connect(
        base_url.replace("http://", "ws://") + path,
        additional_headers={"Cookie": f"sessionid={session}"},
        origin=base_url,
    )


async def _closed_code(ws, timeout: float = 10) -> int:
    async def wait():
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    return await asyncio.wait_for(wait(), timeout)


async def _revocation(server_a: str, server_b: str, ids: dict, env: dict) -> float:
    chat = await _socket(server_a, f"/ws/chat/{ids['conversation']}/", ids["citizen"])
    desk = await _socket(server_b, "/ws/desk/", ids["officer"])
    await chat.send(json.dumps({"type": "ping"}))
    await desk.send(json.dumps({"type": "heartbeat"}))
    # A third process (the console, a password reset) ends both users' sessions.
    shell = asyncio.create_task(asyncio.to_thread(manage, "shell", "-c", END, env=env))
    codes = await asyncio.gather(_closed_code(chat, 30), _closed_code(desk, 30))
    closed_at = time.time()
    started = float((await shell).stdout.strip().splitlines()[-1])
    elapsed = closed_at - started
    assert codes == [4403, 4401]
    # The sessions are gone too: a new socket with the old cookie is refused with 4401.
    again = await _socket(server_b, f"/ws/chat/{ids['conversation']}/", ids["citizen"])
    assert await _closed_code(again) == 4401
    return elapsed


def test_ending_sessions_closes_sockets_on_every_process(redis_url, fresh_database):
    env = {"DATABASE_URL": fresh_database, "REDIS_URL": redis_url, "FAST_PASSWORD_HASHER": "1", "DEBUG": "1"}
    ids = json.loads(manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
    with daphne_server(env) as server_a, daphne_server(env) as server_b:
        elapsed = asyncio.run(_revocation(server_a, server_b, ids, env))
    print(f"both sockets closed {elapsed:.2f} s after end_sessions was called")
    assert elapsed < 5
