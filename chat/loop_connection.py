"""The event loop's own PostgreSQL connection, for the one statement of the message path's fast way.

A message stored through database_sync_to_async waits for a hop to a worker thread and back, Django's
per-call connection health check and the statement, each a chance to wait for the other threads and
processes on the cores. Measured on the production setup at 200 messages/s (docs/benchmarks.md): p99
12-14 ms that way against the bare echo's 4-5 ms. chat.actions.messages.asend_message therefore runs
the statement that authorizes, sequences and stores a message in an established conversation over an
asyncio connection per event loop; everything else takes the database thread.
"""

import asyncio

import psycopg
from django.db import connections

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
        "dbname": database["NAME"],
        "user": database["USER"],
        "password": database["PASSWORD"],
        "host": database["HOST"],
        "port": database["PORT"],
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


def available() -> bool:
    """Return whether this database is reached from the event loop too (PostgreSQL)."""
    return connections["default"].vendor == "postgresql"


async def fetchone(sql: str, params: list) -> tuple | None:
    """Run one self-committing statement on this event loop's connection; return its first row.

    Raises psycopg.IntegrityError when the statement was refused whole, and other psycopg errors.
    """
    return await _loop_connection().fetchone(sql, params)


async def close_connections() -> None:
    """Close this event loop's connection (before a test database is dropped)."""
    loop = asyncio.get_running_loop()
    if loop in _loop_connections:
        await _loop_connections.pop(loop).close()
