"""Shared pieces of the load benchmark and the fault drills.

- ``populate``: citizens with an active conversation each, officers with a window each, and their
  sessions, created in bulk through the ORM in a child process (``python -m bench.common populate``);
- ``Peer``: a protocol client (docs/protocol.md) for a citizen's chat window or an officer's desk, with
  the page's behaviour: resume after the last seq it saw, de-duplicate by seq, resend unacknowledged
  messages with the same client_id, reconnect with back-off;
- ``Recorder``: what every peer sent, had acknowledged and received, for latencies and the audit;
- ``audit``: compare the database with the recorder (lost and duplicated messages);
- machine information and percentiles for the JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from deploy.stack import PYTHON, raise_nofile_limit  # noqa: E402

# A citizen asking about household registration, about 200 bytes of UTF-8 per message.
TEXT = (
    "您好，我想咨询一下户口迁移的事情。我在省城工作已经三年了，单位可以开具劳动合同证明，"
    "请问需要准备哪些材料，是否必须先办理居住证，在哪个派出所办理，大概需要多少个工作日？"
    "另外我父母年纪大了，他们随迁落户有什么条件？社保缴费年限怎么计算，谢谢您的耐心答复。"
)


def chinese_body(rng: random.Random, tag: str) -> str:
    start = rng.randrange(len(TEXT) - 64)
    return f"{TEXT[start : start + 64]}[{tag}]"


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError):
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "model_name": model,
        "mem_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    }


def loadavg() -> list[float]:
    """Return the 1, 5 and 15 minute load averages: the 2 cores are shared, so say how busy they were."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def percentiles(values: list[float]) -> dict:
    """Return p50/p95/p99/max in milliseconds of a list of seconds."""
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


# Population ---------------------------------------------------------------------------------------
def forged_session(user, now):
    """Return an unsaved Session signed in as the user, as a login would leave it (Django set up first).

    The benchmarks make thousands of clients at once; logging each one in would take minutes.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    return Session(
        session_key=get_random_string(32),
        session_data=SessionStore().encode(data),
        expire_date=now + timezone.timedelta(days=2),
    )


def populate_in_process(citizens: int, officers: int, tag: str) -> dict:
    """Create the population in this process (Django set up from the environment); return its ids and sessions."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from chat.models import Conversation
    from departments.models import Department, Window

    User = get_user_model()
    now = timezone.now()
    batch = 2000
    with transaction.atomic():
        department = Department.objects.create(name=f"压测厅{tag}", short_name=f"压测{tag}")
        windows = Window.objects.bulk_create(
            [
                Window(
                    department=department,
                    name=f"压测窗口{i}",
                    duty_statement="压测用窗口。",
                    max_concurrent_chats=30000,
                )
                for i in range(officers)
            ]
        )
        desk_users = User.objects.bulk_create(
            [
                User(
                    username=f"b{tag}o{i}", role="officer", display_name=f"压测值班员{i}", password=make_password(None)
                )
                for i in range(officers)
            ]
        )
        Window.officers.through.objects.bulk_create(
            [Window.officers.through(window_id=w.id, user_id=u.id) for w, u in zip(windows, desk_users)]
        )
        citizen_users = User.objects.bulk_create(
            [User(username=f"b{tag}c{i}", role="citizen", password=make_password(None)) for i in range(citizens)],
            batch_size=batch,
        )
        conversations = Conversation.objects.bulk_create(
            [
                Conversation(
                    citizen=c,
                    window=windows[i % officers],
                    officer=desk_users[i % officers],
                    status="active",
                    queued_at=now,
                    first_question_at=now,
                    assigned_at=now,
                    first_response_at=now,
                    answered_live=True,
                )
                for i, c in enumerate(citizen_users)
            ],
            batch_size=batch,
        )

        desk_sessions = Session.objects.bulk_create([forged_session(u, now) for u in desk_users])
        citizen_sessions = Session.objects.bulk_create(
            [forged_session(u, now) for u in citizen_users], batch_size=batch
        )
    return {
        "officers": [{"id": u.id, "session": s.session_key} for u, s in zip(desk_users, desk_sessions)],
        "conversations": [
            {"id": c.id, "officer": i % officers, "session": s.session_key}
            for i, (c, s) in enumerate(zip(conversations, citizen_sessions))
        ],
    }


def populate(env: dict, citizens: int, officers: int, tag: str, *, module: str = "bench.common") -> dict:
    """Run the module's ``populate`` command (its ``populate_in_process``) in a child process with the
    server's environment; return the JSON it prints last."""
    child = dict(os.environ)
    child.update({k: str(v) for k, v in env.items()})
    child.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    result = subprocess.run(
        [PYTHON, "-m", module, "populate", str(citizens), str(officers), tag],
        cwd=PROJECT_DIR,
        env=child,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"populate failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# Recording ----------------------------------------------------------------------------------------
@dataclass
class Recorder:
    """What the clients of one process saw. Times come from time.monotonic(), shared by all processes."""

    sent: dict = field(default_factory=dict)  # client_id -> (t_first_send, conversation, side)
    acked: dict = field(default_factory=dict)  # client_id -> (t_ack, seq)
    delivered: dict = field(default_factory=dict)  # client_id -> (t, "live" | "history") on the other side
    latencies: list = field(default_factory=list)  # sender -> other side, live deliveries only
    ack_latencies: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)  # error code -> count
    duplicate_frames: int = 0  # same seq seen twice by one peer (dropped, as the page does)
    resends: int = 0
    reconnects: int = 0
    gaps: int = 0

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1

    def merge(self, other: dict) -> None:
        self.sent.update(other["sent"])
        self.acked.update(other["acked"])
        self.delivered.update(other["delivered"])
        self.latencies += other["latencies"]
        self.ack_latencies += other["ack_latencies"]
        for code, count in other["errors"].items():
            self.errors[code] = self.errors.get(code, 0) + count
        for name in ("duplicate_frames", "resends", "reconnects", "gaps"):
            setattr(self, name, getattr(self, name) + other[name])

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# Protocol client ----------------------------------------------------------------------------------
class Peer:
    """A citizen's chat window (one conversation) or an officer's desk (many), as the pages behave.

    ``side`` is "citizen" or "officer". Messages this peer sends carry client ids starting with the run's
    prefix; a message of the other side counts as delivered the first time this peer sees it, live or in
    a ``history`` answer.
    """

    def __init__(
        self,
        *,
        base_url: str | list[str],
        side: str,
        session: str,
        recorder: Recorder,
        conversations: list[int],
        local_addr: str | None = None,
        reconnect: bool = False,
        resend_after: float = 3.0,
        echo: dict | None = None,
        ping_every: float = 0,
        seen: dict[int, int] | None = None,
    ):
        # Several URLs: a reconnect tries the next one, as nginx moves on from a dead backend.
        self.base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_url = self.base_urls[0]
        self.side = side
        self.path = f"/ws/chat/{conversations[0]}/" if side == "citizen" else "/ws/desk/"
        # The bare echo (bench/echo): {"join": [groups], "to": {conversation: [groups]}}.
        self.echo = echo
        if echo is not None:
            self.path = "/ws/echo/?groups=" + ",".join(echo["join"])
        self.session = session
        self.recorder = recorder
        # The highest contiguous seq per conversation: what the page already shows when it opens.
        self.seen = {c: (seen or {}).get(c, 0) for c in conversations}
        self.ahead: dict[int, set[int]] = {c: set() for c in conversations}
        self.pending: dict[str, tuple[int, str]] = {}  # client_id -> (conversation, body), not acked yet
        self.last_sent: dict[str, float] = {}
        self.local_addr = local_addr
        self.reconnect = reconnect
        self.resend_after = resend_after
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.closed_by_us = False
        self.up = asyncio.Event()
        self.unexpected_closes = 0
        # The pages send a keepalive (chat.js `ping` every 30 s, desk.js `heartbeat` every 20 s); the server
        # closes a socket that stays silent for WS_IDLE_TIMEOUT_SECONDS.
        self.ping_every = ping_every
        self.pinger: asyncio.Task | None = None
        self.ack_times: list[float] = []

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://").replace("https://", "wss://") + self.path

    async def open(self, timeout: float = 30) -> None:
        import websockets

        kwargs = {}
        if self.local_addr:
            kwargs["local_addr"] = (self.local_addr, 0)
        self.ws = await websockets.connect(
            self.ws_url,
            additional_headers={"Cookie": f"sessionid={self.session}"},
            origin=self.base_url,
            open_timeout=timeout,
            ping_interval=None,
            compression=None,
            max_queue=None,
            proxy=None,
            **kwargs,
        )
        self.up.set()
        self.reader = asyncio.create_task(self._read(self.ws))
        if self.ping_every and self.pinger is None:
            self.pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        frame = json.dumps({"type": "ping" if self.side == "citizen" else "heartbeat"})
        await asyncio.sleep(random.uniform(0, self.ping_every))  # pages open at different moments
        while not self.closed_by_us:
            if self.up.is_set():
                with contextlib.suppress(Exception):
                    await self.ws.send(frame)
            await asyncio.sleep(self.ping_every)

    async def resume(self) -> None:
        """Ask for everything after the last contiguous seq of each conversation, and resend unacked messages."""
        for conversation, after in self.seen.items():
            if self.side == "citizen":
                await self.ws.send(json.dumps({"type": "resume", "after": after}))
            else:
                await self.ws.send(json.dumps({"type": "resume", "conversation": conversation, "after": after}))
        for client_id in list(self.pending):
            await self._transmit(client_id)

    async def send(self, conversation: int, client_id: str, body: str) -> None:
        self.recorder.sent[client_id] = (time.monotonic(), conversation, self.side)
        self.pending[client_id] = (conversation, body)
        await self._transmit(client_id)

    async def _transmit(self, client_id: str) -> None:
        conversation, body = self.pending[client_id]
        frame = {"type": "message", "client_id": client_id, "body": body}
        if self.echo is not None:
            frame.update(conversation=conversation, to=self.echo["to"][conversation])
        elif self.side == "officer":
            frame["conversation"] = conversation
        self.last_sent[client_id] = time.monotonic()
        if self.ws is None or not self.up.is_set():
            return  # resent by resume() once the socket is back
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def resend_stale(self) -> None:
        """Send again, with the same client_id, what waited longer than resend_after for its ack."""
        now = time.monotonic()
        for client_id in [c for c in self.pending if now - self.last_sent.get(c, now) > self.resend_after]:
            self.recorder.resends += 1
            await self._transmit(client_id)

    def _take(self, message: dict, how: str) -> None:
        if self.echo is None and not self._in_order(message, how):
            return
        client_id = message.get("client_id") or ""
        sent = self.recorder.sent.get(client_id)
        if sent is not None and sent[2] != self.side and client_id not in self.recorder.delivered:
            now = time.monotonic()
            self.recorder.delivered[client_id] = (now, how)
            if how == "live":
                self.recorder.latencies.append(now - sent[0])

    def _in_order(self, message: dict, how: str) -> bool:
        """Track seqs as the page does; return False for a message already seen."""
        conversation, seq = message["conversation"], message["seq"]
        if conversation not in self.seen:
            return False
        if seq <= self.seen[conversation] or seq in self.ahead[conversation]:
            self.recorder.duplicate_frames += how == "live"
            return False
        if seq == self.seen[conversation] + 1:
            self.seen[conversation] = seq
            ahead = self.ahead[conversation]
            while self.seen[conversation] + 1 in ahead:
                self.seen[conversation] += 1
                ahead.discard(self.seen[conversation])
        else:
            self.ahead[conversation].add(seq)
            if how == "live":
                # A gap: an event went missing on the way. Fetch the rest from the database, as the page does.
                self.recorder.gaps += 1
                asyncio.create_task(self._ask_history(conversation))
        return True

    async def _ask_history(self, conversation: int) -> None:
        with contextlib.suppress(Exception):
            if self.side == "citizen":
                await self.ws.send(json.dumps({"type": "resume", "after": self.seen[conversation]}))
            else:
                await self.ws.send(
                    json.dumps({"type": "resume", "conversation": conversation, "after": self.seen[conversation]})
                )

    async def _read(self, ws) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self._take(frame, "live")
                elif kind == "ack":
                    client_id = frame["client_id"]
                    if client_id in self.pending:
                        del self.pending[client_id]
                        now = time.monotonic()
                        if client_id not in self.recorder.acked:
                            self.recorder.ack_latencies.append(now - self.recorder.sent[client_id][0])
                        self.recorder.acked[client_id] = (now, frame.get("seq"))
                        self.ack_times.append(now)
                elif kind == "history":
                    for message in frame["messages"]:
                        self._take(message, "history")
                elif kind == "error":
                    self.recorder.error(frame.get("code", "?"))
        except Exception:
            pass
        finally:
            self.up.clear()
            if not self.closed_by_us:
                self.unexpected_closes += 1
                self.recorder.error(f"closed {getattr(ws, 'close_code', None)} {self.side}")
                if self.reconnect:
                    asyncio.create_task(self._reconnect())

    async def _reconnect(self, deadline: float = 300) -> None:
        delay, start, attempt = 0.1, time.monotonic(), 0
        while not self.closed_by_us and time.monotonic() - start < deadline:
            attempt += 1
            self.base_url = self.base_urls[attempt % len(self.base_urls)]
            try:
                await self.open(timeout=10)
                self.recorder.reconnects += 1
                await self.resume()
                return
            except Exception:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def drop(self) -> None:
        """Cut the connection without a closing handshake, as a phone losing its network does."""
        if self.ws is not None:
            self.ws.transport.abort()

    async def close(self) -> None:
        self.closed_by_us = True
        if self.pinger is not None:
            self.pinger.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


# Audit --------------------------------------------------------------------------------------------
def stored_messages(database: str, prefix: str) -> list[tuple]:
    """Return (conversation_id, client_id, seq, sender_kind) of the run's messages in the database.

    ``database`` is a postgres:// URL or the path of a SQLite file.
    """
    query = "SELECT conversation_id, client_id, seq, sender_kind FROM chat_message WHERE client_id LIKE %s"
    if database.startswith("postgres"):
        import psycopg

        with psycopg.connect(database) as connection:
            return connection.execute(query, [prefix + "%"]).fetchall()
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(query.replace("%s", "?"), [prefix + "%"]).fetchall()


def last_seqs(database: str) -> dict[int, int]:
    """Return each conversation's last seq in the database (a postgres:// URL or a SQLite path)."""
    query = "SELECT id, last_seq FROM chat_conversation"
    if database.startswith("postgres"):
        import psycopg

        with psycopg.connect(database) as connection:
            return dict(connection.execute(query).fetchall())
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return dict(connection.execute(query).fetchall())


def audit(database: str, prefix: str, recorder: Recorder) -> dict:
    """Compare the database with what the clients saw.

    lost: acknowledged but not stored, or stored but never seen by the other side (live or in history);
    duplicated: a client_id stored more than once.
    """
    rows = stored_messages(database, prefix)
    counts: dict[str, int] = {}
    for _conversation, client_id, _seq, _kind in rows:
        counts[client_id] = counts.get(client_id, 0) + 1
    acked_not_stored = [c for c in recorder.acked if c not in counts]
    stored_not_delivered = [c for c in counts if c not in recorder.delivered]
    duplicated = [c for c, n in counts.items() if n > 1]
    stored_seqs: dict[str, set] = {}
    for _conversation, client_id, seq, _kind in rows:
        stored_seqs.setdefault(client_id, set()).add(seq)
    seq_mismatch = [
        c for c, (_, seq) in recorder.acked.items() if c in counts and seq is not None and seq not in stored_seqs[c]
    ]
    never_acked = [c for c in recorder.sent if c not in recorder.acked]
    return {
        "sent": len(recorder.sent),
        "stored": len(counts),
        "acked": len(recorder.acked),
        "lost": len(acked_not_stored) + len(stored_not_delivered),
        "lost_acked_not_stored": len(acked_not_stored),
        "lost_stored_not_delivered": len(stored_not_delivered),
        "duplicated": len(duplicated),
        "ack_seq_mismatch": len(seq_mismatch),
        "never_acked": len(never_acked),
        "never_acked_but_stored": len([c for c in never_acked if c in counts]),
        "delivered_from_history": sum(1 for _t, how in recorder.delivered.values() if how == "history"),
        "examples": (acked_not_stored + stored_not_delivered + duplicated)[:5],
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["populate"]:
        citizens, officers, tag = int(argv[1]), int(argv[2]), argv[3]
        print(json.dumps(populate_in_process(citizens, officers, tag)))
        return 0
    print("usage: python -m bench.common populate CITIZENS OFFICERS TAG", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise_nofile_limit()
    sys.exit(main(sys.argv[1:]))
