"""The event loop's SQLite connection (chat/loop_connection.py) on a real database file in WAL mode.

The loop's connection never checkpoints itself (a checkpoint fsyncs, and the loop must not wait for the
disk); the database thread does it every CHECKPOINT_EVERY commits, so the WAL file stays bounded.
"""

import json

from tests.services import manage

# Run in a child process against the file: a chat whose messages all take the loop's connection. The WAL's
# size is read after every message; the first interval (before any checkpoint) calibrates the rest.
SEND = """
import asyncio, json, os
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from chat import actions, loop_connection
from chat.models import Message
from tests import factories

settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (10**6, 60)}
wal = settings.DATABASES["default"]["NAME"] + "-wal"


def answered_chat():
    window = factories.window()
    citizen, officer = factories.citizen(), factories.officer(window)
    actions.desk_connected(officer=officer, channel_name="desk-wal-test")
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="问", client_id="q")
    actions.send_message(conversation=conversation, sender=officer, body="答", client_id="a")
    return conversation.id, citizen


async def main():
    conversation_id, citizen = await sync_to_async(answered_chat)()
    every = loop_connection.CHECKPOINT_EVERY
    first_interval, peak = 0, 0
    for n in range(6 * every):
        await actions.asend_message(
            conversation_id=conversation_id, sender=citizen, body="请问社保怎么补缴？" * 4, client_id=f"m{n}"
        )
        await asyncio.sleep(0)  # the checkpoint task runs on the database thread meanwhile
        size = os.path.getsize(wal)
        peak = max(peak, size)
        if n < every - 1:
            first_interval = size
    journal = await sync_to_async(lambda: connection.cursor().execute("PRAGMA journal_mode").fetchone()[0])()
    stored = await sync_to_async(Message.objects.filter(conversation_id=conversation_id, client_id__startswith="m").count)()
    print(json.dumps({"every": every,
        "journal": journal, "sent": 6 * every, "stored": stored, "loop_commits": loop_connection._loop_connection().commits,
        "first_interval": first_interval, "peak": peak,
    }))

asyncio.run(main())
"""


def test_messages_on_the_loop_keep_the_wal_bounded(migrated_sqlite):
    result = manage("shell", "-c", SEND, env={"SQLITE_PATH": str(migrated_sqlite), "FAST_PASSWORD_HASHER": "1"})
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["journal"] == "wal"
    # All stored; the few sent while the database thread checkpointed took that thread.
    assert outcome["stored"] == outcome["sent"] and outcome["loop_commits"] > 0.8 * outcome["sent"]
    # Without the thread's checkpoints the WAL grows by one interval's worth six times over.
    assert outcome["first_interval"] > 0
    assert outcome["peak"] < 2.5 * outcome["first_interval"], outcome
