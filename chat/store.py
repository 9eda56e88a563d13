"""Store chat messages from the event loop: the duty room's hot path without thread hops (PostgreSQL).

A message stored through database_sync_to_async waits for a hop to a worker thread and back, Django's
per-call connection health check and the statement, each a chance to wait for the other threads and
processes on the cores. Measured on the production setup at 200 messages/s (docs/benchmarks.md): p99
12-14 ms that way against the bare echo's 4-5 ms. Here the statement of actions.plain_append, which
authorizes, sequences and stores the message at once, goes over an asyncio PostgreSQL connection of
the process's own. Everything else (a first question or answer, a refusal, a resend, SQLite) takes
actions.send_message on the database thread, which also words the Chinese errors.
"""
import asyncio
import logging

import psycopg
from channels.db import database_sync_to_async
from django.db import connections
from django.utils import timezone

from infra import ratelimit

from . import actions
from .actions import ChatError
from .events import send_event_now
from .models import Message
from .payloads import message_payload

logger = logging.getLogger(__name__)

# Keys Django accepts in a database's OPTIONS that are not libpq connection parameters.
_DJANGO_OPTIONS = {"server_side_binding", "isolation_level", "assume_role", "pool", "prepare_threshold"}


class _LoopConnection:
    """One autocommit PostgreSQL connection per event loop, one statement at a time.

    A statement that failed or was interrupted (a cancelled task) may leave the connection in the middle
    of the protocol, so the connection is opened afresh for the next one.
    """

    def __init__(self):
        self.connection: psycopg.AsyncConnection | None = None
        self.usable = False
        self.lock = asyncio.Lock()

    async def fetchone(self, sql: str, params: list) -> tuple | None:
        async with self.lock:
            if not self.usable:
                await self._close()
                self.connection = await psycopg.AsyncConnection.connect(**_connection_params(), autocommit=True)
            self.usable = False
            try:
                cursor = await self.connection.execute(sql, params)
                row = await cursor.fetchone()
            except psycopg.IntegrityError:
                self.usable = True  # the statement was refused whole; the connection is fine
                raise
            self.usable = True
            return row

    async def _close(self) -> None:
        if self.connection is not None and not self.connection.closed:
            try:
                await self.connection.close()
            except psycopg.Error:
                pass
        self.connection = None

    async def close(self) -> None:
        async with self.lock:
            await self._close()
            self.usable = False


_loop_connections: dict[asyncio.AbstractEventLoop, _LoopConnection] = {}


def _connection_params() -> dict:
    database = connections["default"].settings_dict
    params = {
        "dbname": database["NAME"], "user": database["USER"], "password": database["PASSWORD"],
        "host": database["HOST"], "port": database["PORT"],
    }
    params.update({key: value for key, value in database.get("OPTIONS", {}).items() if key not in _DJANGO_OPTIONS})
    return {key: value for key, value in params.items() if value not in (None, "")}


def _loop_connection() -> _LoopConnection:
    loop = asyncio.get_running_loop()
    if loop not in _loop_connections:
        for stale in [other for other in _loop_connections if other.is_closed()]:
            del _loop_connections[stale]
        _loop_connections[loop] = _LoopConnection()
    return _loop_connections[loop]


def on_loop() -> bool:
    """Return whether messages are stored from the event loop (on PostgreSQL)."""
    return connections["default"].vendor == "postgresql"


async def send_message(*, conversation_id: int, sender, body, client_id) -> tuple[Message, bool]:
    """Do what actions.send_message does, with the established-conversation statement run on the loop."""
    full_way = database_sync_to_async(actions.send_message)
    body = actions.validate_body(body)
    client_id = actions.validate_client_id(client_id)
    if not on_loop() or not client_id:
        # Without a client id a statement whose answer was lost could not be retried safely.
        return await full_way(conversation=conversation_id, sender=sender, body=body, client_id=client_id)
    if not await ratelimit.ahit("chat_message", str(sender.pk)):
        raise ChatError(actions.RATE_LIMITED_TEXT, "rate_limited")
    now = timezone.now()
    planned = actions.plain_append(
        conversation_id, sender=sender, body=body, client_id=client_id, now=now, vendor="postgresql"
    )
    if planned is not None:
        ((statement, params),), kind = planned
        try:
            row = await _loop_connection().fetchone(statement, params)
        except psycopg.IntegrityError:
            row = None  # a resend: the full way answers with the first message
        except psycopg.Error as error:
            logger.warning("storing a message on the event loop failed (%s); taking the database thread", error)
            row = None
        if row is not None:
            message, audience = actions.appended_message(
                row, conversation_id=conversation_id, sender=sender, kind=kind, body=body, client_id=client_id, now=now
            )
            send_event_now(audience, "message.new", {"message": message_payload(message)})
            return message, True
    return await full_way(conversation=conversation_id, sender=sender, body=body, client_id=client_id, counted=True)


async def close_connections() -> None:
    """Close this event loop's connection (before a test database is dropped)."""
    loop = asyncio.get_running_loop()
    if loop in _loop_connections:
        await _loop_connections.pop(loop).close()
