"""Places in the queue across two daphne processes sharing PostgreSQL and Redis (chat/queue_watch.py).

Each process hears a window's queue head once and tells its own waiting sockets their places: two
sockets on one process and one on the other all hear theirs when the head is taken and when someone
ahead leaves out of turn.
"""

import asyncio
import json

import pytest

from tests.chat.test_two_processes import _socket, _until
from tests.services import daphne_server, manage

pytestmark = pytest.mark.services

SETUP = """
import json
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from tests import factories
from chat import actions
from portal.models import UserSession

window = factories.window(factories.department(name="省人事厅"), name="公务员考录")
officer = factories.officer(window)
actions.desk_connected(officer=officer, channel_name="queue-processes-test")
actions.set_status(officer=officer, status="busy")  # on duty, nothing handed out automatically
people = [factories.citizen() for _ in range(4)]
conversations = []
for n, person in enumerate(people):
    c = actions.open_conversation(citizen=person, window=window)
    actions.send_message(conversation=c, sender=person, body=f"报名时间？{n}", client_id="q")
    conversations.append(c.id)

def session_for(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    UserSession.objects.create(user=user, session_key=store.session_key)
    return store.session_key

print(json.dumps({"conversations": conversations, "citizens": [session_for(p) for p in people],
                  "officer": session_for(officer)}))
"""


async def _place(ws) -> int:
    return (await _until(ws, "queue"))["position"]


async def _places_across_processes(server_a: str, server_b: str, ids: dict) -> None:
    first, second, third, fourth = ids["conversations"]
    sessions = dict(zip(ids["conversations"], ids["citizens"]))
    # Two waiting pages on process A, one on process B.
    pages = {
        second: await _socket(server_a, f"/ws/chat/{second}/", sessions[second]),
        third: await _socket(server_a, f"/ws/chat/{third}/", sessions[third]),
        fourth: await _socket(server_b, f"/ws/chat/{fourth}/", sessions[fourth]),
    }
    try:
        for page in pages.values():
            await page.send(json.dumps({"type": "resume", "after": 0}))
        assert [await _place(pages[c]) for c in (second, third, fourth)] == [2, 3, 4]

        # The officer, on process B, takes the first: everyone moves up, on both processes.
        desk = await _socket(server_b, "/ws/desk/", ids["officer"])
        await desk.send(json.dumps({"type": "take", "conversation": first}))
        assert [await _place(pages[c]) for c in (second, third, fourth)] == [1, 2, 3]

        # The third gives up on process A, out of turn: only the one behind moves, on process B.
        await pages[third].send(json.dumps({"type": "close"}))
        assert await _place(pages[fourth]) == 2
        with pytest.raises(asyncio.TimeoutError):
            await _until(pages[second], "queue", timeout=1.5)
        await desk.close()
    finally:
        for page in pages.values():
            await page.close()


def test_waiting_citizens_on_two_processes_all_hear_their_places(redis_url, fresh_database):
    env = {"DATABASE_URL": fresh_database, "REDIS_URL": redis_url, "FAST_PASSWORD_HASHER": "1", "DEBUG": "1"}
    ids = json.loads(manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
    with daphne_server(env) as server_a, daphne_server(env) as server_b:
        asyncio.run(_places_across_processes(server_a, server_b, ids))
