"""The event loop's own database connection, for the statements of the message path's fast way.

A message stored through database_sync_to_async waits for a hop to a worker thread and back, Django's
per-call connection health check and the statements, each a chance to wait for the other threads and
processes on the cores. Measured on the production setup at 200 messages/s (docs/benchmarks.md): p99
12-14 ms that way against the bare echo's 4-5 ms. chat.actions.messages.asend_message therefore stores
a message in an established conversation over a connection of the event loop's own; everything else,
and every message this connection could not store at once, takes the database thread.

- PostgreSQL: an asyncio connection (psycopg) per event loop; the loop goes on while the server works.
- SQLite: a plain sqlite3 connection per event loop, used on the loop itself. There is no server to wait
  for: a write is a few pages appended to the WAL file (no fsync with synchronous=NORMAL). The
  connection never blocks on the write lock (busy timeout 0): while another connection of this or
  another process writes, it tries again a few milliseconds later (the loop goes on meanwhile), and then
  the message takes the database thread, which waits its turn. Checkpoints, which fsync, are left to
  the database thread: this connection's automatic checkpoint is off, and every CHECKPOINT_EVERY
  commits it asks the thread for a passive one and stays out of the WAL until it is done, so that a
  steady stream of messages cannot keep the WAL growing.
"""

import asyncio
import datetime
import logging
import sqlite3

import psycopg
from channels.db import database_sync_to_async
from django.db import connection, connections

logger = logging.getLogger(__name__)

# Keys Django accepts in a database's OPTIONS that are not libpq connection parameters.
_DJANGO_OPTIONS = {"server_side_binding", "isolation_level", "assume_role", "pool", "prepare_threshold"}
# SQLite: commits on the loop between two checkpoints asked of the database thread. A message appends
# about eight pages (35 KB) to the WAL, so this is about SQLite's own automatic interval (1,000 pages).
# Without checkpoints 2,000 messages left a 70 MB WAL; with them the WAL stays near 4 MB.
CHECKPOINT_EVERY = 120
# SQLite: seconds the loop waits (without blocking) before each new try while another connection holds
# the write lock; after the last, the message takes the database thread.
RETRY_PAUSES = (0.001, 0.002, 0.004, 0.008)


class _Busy(Exception):
    """SQLite: another connection holds the write lock (SQLITE_BUSY, SQLITE_LOCKED)."""


def _is_busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Duplicate(Exception):
    """The statement was refused whole by a unique constraint (a resent client id); nothing was stored."""


class Unavailable(Exception):
    """Nothing was stored (the database is away, or busy): take the database thread."""


class Busy(Unavailable):
    """SQLite: nothing was stored because other connections kept the write lock through every try."""


class _PostgresLoopConnection:
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
                try:
                    self.connection = await psycopg.AsyncConnection.connect(**_postgres_params(), autocommit=True)
                except psycopg.Error as error:
                    raise Unavailable(str(error)) from error
            self.usable = False
            try:
                cursor = await self.connection.execute(sql, params)
                row = await cursor.fetchone()
            except psycopg.IntegrityError as error:
                self.usable = True  # the statement was refused whole; the connection is fine
                raise Duplicate(str(error)) from error
            except psycopg.Error as error:
                raise Unavailable(str(error)) from error
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


class _SqliteLoopConnection:
    """One sqlite3 connection per event loop; each transaction runs whole between two awaits."""

    def __init__(self):
        self.connection: sqlite3.Connection | None = None
        self.commits = 0
        self.checkpoint: asyncio.Future | None = None

    async def transact(self, work):
        """Run work(execute) in one write transaction and commit; return what work returned.

        execute(sql, params) takes Django's %s placeholders and returns the statement's first row. While
        another connection holds the write lock the loop goes on and this tries again a few times, for
        at most RETRY_PAUSES in all: most writers hold the lock for a millisecond or two, and a message
        sent to the database thread instead would take the lock there and push the next ones after it.
        """
        for pause in (*RETRY_PAUSES, None):
            if self.checkpoint is not None and not self.checkpoint.done():
                # The loop stays out of the WAL until the checkpoint has copied all of it, so that the
                # next write starts the file from the beginning.
                await asyncio.shield(self.checkpoint)
            try:
                return self._transact(work)
            except _Busy as busy:
                if pause is None:
                    raise Busy(str(busy)) from busy
                await asyncio.sleep(pause)

    def _transact(self, work):
        try:
            if self.connection is None:
                self.connection = _sqlite_connect()
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            if _is_busy(error):
                raise _Busy(str(error)) from error  # the connection stays usable
            self._close()  # opened afresh next time
            raise Unavailable(str(error)) from error
        try:
            result = work(self._execute)
            self.connection.execute("COMMIT")
        except BaseException as error:
            self._rollback()
            if isinstance(error, sqlite3.IntegrityError):
                raise Duplicate(str(error)) from error
            if isinstance(error, sqlite3.Error):
                raise (_Busy if _is_busy(error) else Unavailable)(str(error)) from error
            raise
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY == 0:
            self.checkpoint = asyncio.ensure_future(_checkpoint_on_database_thread())
        return result

    def _execute(self, sql: str, params: list) -> tuple | None:
        return self.connection.execute(sql.replace("%s", "?"), params).fetchone()

    def _rollback(self) -> None:
        try:
            if self.connection is not None and self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
        except sqlite3.Error:
            self._close()

    def _close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except sqlite3.Error:
                pass
        self.connection = None

    async def close(self) -> None:
        self._close()


def _sqlite_connect() -> sqlite3.Connection:
    name = connections.settings["default"]["NAME"]
    # Autocommit at the sqlite3 level: transact() says BEGIN and COMMIT itself.
    sqlite = sqlite3.connect(str(name), timeout=0, isolation_level=None, check_same_thread=False, uri=True)
    for pragma in ("busy_timeout = 0", "foreign_keys = ON", "synchronous = NORMAL", "wal_autocheckpoint = 0"):
        sqlite.execute(f"PRAGMA {pragma}")
    return sqlite


def _checkpoint() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


async def _checkpoint_on_database_thread() -> None:
    try:
        await database_sync_to_async(_checkpoint)()
    except Exception:
        logger.exception("checkpointing the SQLite WAL failed")


_loop_connections: dict[asyncio.AbstractEventLoop, _PostgresLoopConnection | _SqliteLoopConnection] = {}


def _postgres_params() -> dict:
    database = connections.settings["default"]
    params = {
        "dbname": database["NAME"],
        "user": database["USER"],
        "password": database["PASSWORD"],
        "host": database["HOST"],
        "port": database["PORT"],
    }
    params.update({key: value for key, value in database.get("OPTIONS", {}).items() if key not in _DJANGO_OPTIONS})
    return {key: value for key, value in params.items() if value not in (None, "")}


def _loop_connection():
    loop = asyncio.get_running_loop()
    if loop not in _loop_connections:
        for stale in [other for other in _loop_connections if other.is_closed()]:
            del _loop_connections[stale]
        _loop_connections[loop] = _PostgresLoopConnection() if vendor() == "postgresql" else _SqliteLoopConnection()
    return _loop_connections[loop]


def sqlite_datetime(value: datetime.datetime) -> str:
    """An aware datetime as Django's SQLite backend stores it (naive UTC text), for statements run here."""
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


def vendor() -> str:
    engine = connections.settings["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite" if "sqlite3" in engine else "other"


def available() -> bool:
    """Return whether this database is reached from the event loop too (PostgreSQL and SQLite)."""
    return vendor() in ("postgresql", "sqlite")


async def fetchone(sql: str, params: list) -> tuple | None:
    """PostgreSQL: run one self-committing statement on this event loop's connection; return its first row.

    Raises Duplicate when the statement was refused whole, Unavailable when it did not run.
    """
    return await _loop_connection().fetchone(sql, params)


async def transact(work):
    """SQLite: run work(execute) in one write transaction on this event loop's connection.

    The loop never waits for the disk or the lock. Raises Duplicate when a unique constraint refused a
    statement, Busy when the database stayed busy, Unavailable when it is away; nothing was stored.
    """
    return await _loop_connection().transact(work)


async def close_connections() -> None:
    """Close this event loop's connection (before a test database is dropped)."""
    loop = asyncio.get_running_loop()
    if loop in _loop_connections:
        await _loop_connections.pop(loop).close()
