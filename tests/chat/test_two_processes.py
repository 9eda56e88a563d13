"""The duty room across two daphne processes sharing PostgreSQL and Redis (the production setup)."""

import asyncio
import json
import urllib.request

import psycopg
import pytest
import websockets

from tests.services import daphne_server, manage

pytestmark = pytest.mark.services

SETUP = """
import json
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from tests import factories
from chat import actions
from portal.models import UserSession

window = factories.window(factories.department(name="省公安厅"), name="交通车管")
citizen = factories.citizen()
officer = factories.officer(window)
conversation = actions.open_conversation(citizen=citizen, window=window)

def session_for(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    UserSession.objects.create(user=user, session_key=store.session_key)  # as every sign-in records it
    return store.session_key

print(json.dumps({"window": window.id, "conversation": conversation.id,
                  "citizen": session_for(citizen), "officer": session_for(officer)}))
"""


async def _socket(base_url: str, path: str, session: str):
    ws_url = base_url.replace("http://", "ws://") + path
    return await websockets.connect(ws_url, additional_headers={"Cookie": f"sessionid={session}"}, origin=base_url)


async def _until(ws, frame_type: str, *, sender: str | None = None, timeout: float = 10) -> dict:
    async def wait():
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type and (sender is None or frame.get("sender") == sender):
                return frame

    return await asyncio.wait_for(wait(), timeout)


async def _conversation_between(server_a: str, server_b: str, ids: dict) -> None:
    conversation = ids["conversation"]
    desk = await _socket(server_b, "/ws/desk/", ids["officer"])
    # The desk records its presence just after the handshake; its answer to a first frame comes after that.
    await desk.send(json.dumps({"type": "state"}))
    await _until(desk, "state")
    chat = await _socket(server_a, f"/ws/chat/{conversation}/", ids["citizen"])

    # Presence lives in the database: process A sees the officer whose desk is on process B.
    with urllib.request.urlopen(f"{server_a}/windows/{ids['window']}/") as response:
        assert "值班人员在线" in response.read().decode()

    await chat.send(json.dumps({"type": "message", "client_id": "c-1", "body": "驾驶证要不要年检？"}))
    assert (await _until(chat, "ack"))["seq"] == 1
    question = await _until(desk, "message", sender="citizen")
    assert question["body"] == "驾驶证要不要年检？"

    await desk.send(
        json.dumps({"type": "message", "conversation": conversation, "client_id": "o-1", "body": "c证无需年检。"})
    )
    answer = await _until(chat, "message", sender="officer")
    assert answer["body"] == "c证无需年检。"

    # The citizen drops; the officer goes on; the citizen comes back through the other process.
    await chat.close()
    for n in range(5):
        await desk.send(
            json.dumps({"type": "message", "conversation": conversation, "client_id": f"o-{n + 2}", "body": f"补充{n}"})
        )
        await _until(desk, "ack")
    chat = await _socket(server_b, f"/ws/chat/{conversation}/", ids["citizen"])
    await chat.send(json.dumps({"type": "resume", "after": answer["seq"]}))
    history = await _until(chat, "history")
    assert [m["body"] for m in history["messages"]] == [f"补充{n}" for n in range(5)]
    seqs = [m["seq"] for m in history["messages"]]
    assert seqs == list(range(answer["seq"] + 1, answer["seq"] + 6))

    # A resend of an already stored client id through the other process creates nothing.
    await chat.send(json.dumps({"type": "message", "client_id": "c-1", "body": "驾驶证要不要年检？"}))
    assert (await _until(chat, "ack"))["seq"] == 1
    await chat.close()
    await desk.close()


def test_citizen_on_one_process_officer_on_another(redis_url, fresh_database):
    env = {"DATABASE_URL": fresh_database, "REDIS_URL": redis_url, "FAST_PASSWORD_HASHER": "1", "DEBUG": "1"}
    ids = json.loads(manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
    with daphne_server(env) as server_a, daphne_server(env) as server_b:
        asyncio.run(_conversation_between(server_a, server_b, ids))
    with psycopg.connect(fresh_database) as connection:
        rows = connection.execute(
            "SELECT seq, count(*) FROM chat_message WHERE conversation_id = %s GROUP BY seq HAVING count(*) > 1",
            [ids["conversation"]],
        ).fetchall()
        total = connection.execute(
            "SELECT count(*), max(seq) FROM chat_message WHERE conversation_id = %s", [ids["conversation"]]
        ).fetchone()
    assert rows == []
    assert total[0] == total[1]  # seq 1..n without gaps or repeats
