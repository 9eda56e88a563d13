"""Surge benchmark: N citizens ask at ONE window within T seconds while K officers take, answer and close.

    .venv/bin/python -m bench.surge                                   # embedded: 2,000 citizens, 60 s, 6 officers
    .venv/bin/python -m bench.surge --citizens 200 --duration 10      # the cheap one (the suite runs it)
    .venv/bin/python -m bench.surge --prod --daphnes 2                # deploy/ setup: PostgreSQL, Redis, K daphne, nginx

Each citizen opens the chat page's socket at a random moment of the T seconds (uniform) and sends the
first question; the window hands chats to its officers automatically (at most 10 each), and each officer
answers after 3-10 s and closes 5-15 s later, as people do. Measured:
- wrong_positions: waiting citizens whose last shown place differs from the database's at the end (after
  the officers stop and the events settle), plus those never told a place; non_monotone: citizens whose
  place ever went up;
- position_latency: from a change at the head (the taken citizen's socket hears it is served) to each
  citizen behind hearing their new place (p50/p99);
- first_answer: from arrival to the first officer message;
- lost / duplicated: the run's messages, database against what the clients saw (bench.common.audit);
- server CPU per arrival, frames the clients received per arrival (by type), client CPU.
Prints progress to stderr and ONE JSON line to stdout. Every server it starts is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.common import Recorder, audit, forged_session, loadavg, machine, percentiles  # noqa: E402
from bench.common import populate as common_populate  # noqa: E402
from bench.ws_load import BENCH_ENV, Embedded, cpu, stack_pids  # noqa: E402
from deploy.stack import Stack, raise_nofile_limit  # noqa: E402


def say(message: str) -> None:
    print(f"[surge {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Population (in a child process with the server's environment) --------------------------------------
def populate_in_process(citizens: int, officers: int, tag: str) -> dict:
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
    with transaction.atomic():
        department = Department.objects.create(name=f"人事厅{tag}", short_name=f"人事{tag}")
        window = Window.objects.create(
            department=department,
            name="公务员考录",
            duty_statement="考试报名咨询。",
            max_concurrent_chats=10,
            auto_assign=True,
        )
        desk_users = User.objects.bulk_create(
            [
                User(username=f"s{tag}o{i}", role="officer", display_name=f"值班员{i}", password=make_password(None))
                for i in range(officers)
            ]
        )
        window.officers.add(*desk_users)
        citizen_users = User.objects.bulk_create(
            [User(username=f"s{tag}c{i}", role="citizen", password=make_password(None)) for i in range(citizens)],
            batch_size=2000,
        )
        # Opened (the page was loaded), not yet asked: the first question is the arrival.
        conversations = Conversation.objects.bulk_create(
            [Conversation(citizen=c, window=window, queued_at=now) for c in citizen_users], batch_size=2000
        )

        desk_sessions = Session.objects.bulk_create([forged_session(u, now) for u in desk_users])
        citizen_sessions = Session.objects.bulk_create([forged_session(u, now) for u in citizen_users], batch_size=2000)
    return {
        "window": window.id,
        "officers": [{"id": u.id, "session": s.session_key} for u, s in zip(desk_users, desk_sessions)],
        "citizens": [{"conversation": c.id, "session": s.session_key} for c, s in zip(conversations, citizen_sessions)],
    }


def populate(env: dict, citizens: int, officers: int, tag: str) -> dict:
    return common_populate(env, citizens, officers, tag, module="bench.surge")


def waiting_in_database(database: str, window_id: int) -> list[tuple[int, int]]:
    """Return (conversation id, ticket) of those waiting at the window, in queue order."""
    query = (
        "SELECT id, ticket FROM chat_conversation WHERE window_id = %s AND status = 'queued' "
        "AND first_question_at IS NOT NULL ORDER BY ticket, id"
    )
    if database.startswith("postgres"):
        import psycopg

        with psycopg.connect(database) as connection:
            return [tuple(row) for row in connection.execute(query, [window_id]).fetchall()]
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return [tuple(row) for row in connection.execute(query.replace("%s", "?"), [window_id]).fetchall()]


# Clients ----------------------------------------------------------------------------------------------
LAST_FRAME = [0.0]  # when any socket last received a frame, to wait for the server to go quiet


class Socket:
    """One page's websocket: sends frames, hands each received frame to on_frame, counts frame types."""

    def __init__(
        self,
        url: str,
        path: str,
        session: str,
        on_frame,
        frames: dict,
        *,
        keepalive: dict,
        every: float,
        on_reopen=None,
    ):
        self.url, self.path, self.session, self.on_frame, self.frames = url, path, session, on_frame, frames
        self.keepalive, self.every, self.on_reopen = keepalive, every, on_reopen
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.pinger: asyncio.Task | None = None
        self.closing = False

    async def open(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            self.url.replace("http://", "ws://") + self.path,
            additional_headers={"Cookie": f"sessionid={self.session}"},
            origin=self.url,  # the Origin check compares scheme, host and port with the site
            open_timeout=60,
            ping_interval=None,
            compression=None,
            max_queue=None,
            proxy=None,
        )
        self.reader = asyncio.create_task(self._read())
        if self.pinger is None:
            self.pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        """The pages' keepalive (chat.js `ping` every 30 s, desk.js `heartbeat` every 20 s)."""
        await asyncio.sleep(random.uniform(0, self.every))
        while not self.closing:
            await self.send(self.keepalive)
            await asyncio.sleep(self.every)

    async def _reopen(self) -> None:
        """Reconnect after an unexpected close and resume, as the pages do."""
        delay = 0.5
        while not self.closing:
            await asyncio.sleep(delay)
            try:
                await self.open()
            except Exception:
                delay = min(delay * 2, 5)
                continue
            self.frames["reconnects"] = self.frames.get("reconnects", 0) + 1
            if self.on_reopen is not None:
                await self.on_reopen()
            return

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames[frame.get("type")] = self.frames.get(frame.get("type"), 0) + 1
                now = time.monotonic()
                if frame.get("type") != "pong":
                    LAST_FRAME[0] = now
                self.on_frame(frame, now)
        except websockets.ConnectionClosed:
            self.frames["closed"] = self.frames.get("closed", 0) + 1
            if not self.closing:
                asyncio.create_task(self._reopen())

    async def send(self, frame: dict) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def close(self) -> None:
        self.closing = True
        if self.pinger is not None:
            self.pinger.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


def take_delivery(recorder: Recorder, prefix: str, message: dict, now: float, how: str) -> None:
    """Count the run's message as seen by the other side, the first time (live, or in a history answer)."""
    client_id = message.get("client_id") or ""
    if client_id.startswith(prefix) and client_id not in recorder.delivered:
        recorder.delivered[client_id] = (now, how)


class Citizen:
    def __init__(self, spec: dict, url: str, recorder: Recorder, frames: dict, prefix: str):
        self.conversation = spec["conversation"]
        self.socket = Socket(
            url,
            f"/ws/chat/{self.conversation}/",
            spec["session"],
            self.on_frame,
            frames,
            keepalive={"type": "ping"},
            every=30,
            on_reopen=self.resume,
        )
        self.recorder, self.prefix = recorder, prefix
        self.places: list[tuple[float, int]] = []  # (time, place) as shown
        self.ticket: int | None = None  # 排队号, from the conversation frames while queued
        self.arrived_at: float | None = None
        self.served_at: float | None = None  # heard that an officer took the chat
        self.first_answer_at: float | None = None
        self.status = "queued"

    async def resume(self) -> None:
        await self.socket.send({"type": "resume", "after": 0})

    async def arrive(self) -> None:
        await self.socket.open()
        await self.resume()
        client_id = f"{self.prefix}q{self.conversation}"
        self.arrived_at = time.monotonic()
        self.recorder.sent[client_id] = (self.arrived_at, self.conversation, "citizen")
        await self.socket.send(
            {"type": "message", "client_id": client_id, "body": "公务员考试什么时候报名？需要什么材料？"}
        )

    def on_frame(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        if kind == "queue":
            self.places.append((now, frame["position"]))
        elif kind == "ack":
            self.recorder.acked[frame["client_id"]] = (now, frame.get("seq"))
        elif kind == "conversation":
            self.status = frame["conversation"]["status"]
            if frame["conversation"].get("ticket") is not None:
                self.ticket = frame["conversation"]["ticket"]
            if self.status == "active" and self.served_at is None:
                self.served_at = now
        elif kind == "message" and frame.get("sender") == "officer":
            if self.first_answer_at is None:
                self.first_answer_at = now
            take_delivery(self.recorder, self.prefix, frame, now, "live")
        elif kind == "history":
            for message in frame["messages"]:
                if message.get("sender") == "officer":
                    take_delivery(self.recorder, self.prefix, message, now, "history")


class Officer:
    """A duty officer's desk: answers each chat handed to them after 3-10 s and closes it 5-15 s later."""

    def __init__(self, spec: dict, url: str, recorder: Recorder, frames: dict, prefix: str, rng: random.Random):
        self.id = spec["id"]
        self.socket = Socket(
            url, "/ws/desk/", spec["session"], self.on_frame, frames, keepalive={"type": "heartbeat"}, every=20
        )
        self.recorder, self.prefix, self.rng = recorder, prefix, rng
        self.serving: set[int] = set()
        self.working = True
        self.tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        await self.socket.open()

    def on_frame(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        if kind == "conversation":
            c = frame["conversation"]
            if c["officer"] == self.id and c["status"] == "active" and c["id"] not in self.serving and self.working:
                self.serving.add(c["id"])
                task = asyncio.create_task(self._serve(c["id"]))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        elif kind == "message" and frame.get("sender") == "citizen":
            take_delivery(self.recorder, self.prefix, frame, now, "live")
        elif kind == "history":
            for message in frame["messages"]:
                if message.get("sender") == "citizen":
                    take_delivery(self.recorder, self.prefix, message, now, "history")
        elif kind == "ack":
            self.recorder.acked[frame["client_id"]] = (now, frame.get("seq"))

    async def _serve(self, conversation: int) -> None:
        await asyncio.sleep(self.rng.uniform(3, 10))
        if not self.working:
            return
        client_id = f"{self.prefix}a{conversation}"
        self.recorder.sent[client_id] = (time.monotonic(), conversation, "officer")
        await self.socket.send(
            {
                "type": "message",
                "conversation": conversation,
                "client_id": client_id,
                "body": "报名在每年10月，请关注省人事考试网公告，带身份证和学历证明。",
            }
        )
        await asyncio.sleep(self.rng.uniform(5, 15))
        if not self.working:
            return
        await self.socket.send({"type": "classify", "conversation": conversation, "classification": "valid"})
        await self.socket.send({"type": "close", "conversation": conversation})

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.socket.close()


def position_audit(citizens: list[Citizen], waiting: list[tuple[int, int]]) -> dict:
    truth = {conversation: place for place, (conversation, _ticket) in enumerate(waiting, start=1)}
    tickets = dict(waiting)
    wrong, never_told, non_monotone, examples = 0, 0, 0, []
    for citizen in citizens:
        places = [place for _t, place in citizen.places]
        if any(later > earlier for earlier, later in zip(places, places[1:])):
            non_monotone += 1
        if citizen.conversation in truth:
            if not places:
                never_told += 1
            elif places[-1] != truth[citizen.conversation]:
                wrong += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "conversation": citizen.conversation,
                            "shown": places[-1],
                            "true": truth[citizen.conversation],
                            "ticket": tickets[citizen.conversation],
                            "places": places[-8:],
                            "first_waiting": waiting[:3],
                        }
                    )
    return {
        "waiting_at_end": len(waiting),
        "wrong_positions": wrong + never_told,
        "never_told": never_told,
        "non_monotone": non_monotone,
        "examples": examples,
    }


def position_latencies(citizens: list[Citizen]) -> list[float]:
    """For each change at the head (a citizen served) and each citizen waiting behind: the wait until they see it.

    The window serves in ticket order and nobody here leaves out of turn, so once the citizen with
    ticket s is served, the one with ticket t > s is at place t - s. The change happened at the earliest
    moment any client saw it: the served citizen hearing "active", or any waiting citizen shown a place
    that counts it (different sockets, on different processes, hear it in either order). The wait of a
    citizen is from then until they are shown a place of at most t - s.
    """
    served = sorted((c.ticket, c.served_at) for c in citizens if c.served_at is not None and c.ticket is not None)
    waiting = [c for c in citizens if c.places and c.ticket is not None]
    # Shown places only go down: the first time a citizen showed at most p is a binary search.
    shown = {id(c): ([-place for _t, place in c.places], [t for t, _place in c.places]) for c in waiting}

    def seen_at(citizen: Citizen, place: int) -> float | None:
        negated, times = shown[id(citizen)]
        at = bisect.bisect_left(negated, -place)
        return times[at] if at < len(times) else None

    latencies = []
    for ticket, served_at in served:
        behind = []
        for citizen in waiting:
            if citizen.ticket <= ticket or citizen.places[0][0] > served_at:
                continue  # not behind, or not yet told a place when the change happened
            if citizen.served_at is not None and citizen.served_at <= served_at:
                continue
            behind.append((citizen, seen_at(citizen, citizen.ticket - ticket)))
        change = min([served_at] + [t for _c, t in behind if t is not None])
        for citizen, t in behind:
            if t is not None:
                latencies.append(t - change)
            elif citizen.served_at is None:
                latencies.append(float("inf"))  # never shown: also a wrong position at the end
    return latencies


def next_place_after_change(citizens: list[Citizen]) -> list[float]:
    """The measure of runs before 22:45 UTC: from a change (the served citizen hearing "active") to each
    citizen's next place frame; it counts the gap to the next change when the place came first."""
    changes = sorted(c.served_at for c in citizens if c.served_at is not None)
    latencies = []
    for citizen in citizens:
        if not citizen.places:
            continue
        times = [t for t, _place in citizen.places]
        start = times[0]  # told their first place
        end = citizen.served_at or float("inf")  # until served
        for change in changes[bisect.bisect_right(changes, start) :]:
            if change >= end:
                break
            following = bisect.bisect_right(times, change)
            if following < len(times):
                latencies.append(times[following] - change)
    return latencies


async def run_clients(url: str, population: dict, args, prefix: str, pids_of, database: str) -> dict:
    rng = random.Random(args.seed)
    recorder, citizen_frames, desk_frames = Recorder(), {}, {}
    officers = [
        Officer(o, url, recorder, desk_frames, prefix, random.Random(args.seed + n))
        for n, o in enumerate(population["officers"])
    ]
    citizens = [Citizen(c, url, recorder, citizen_frames, prefix) for c in population["citizens"]]
    for officer in officers:
        await officer.open()
    await asyncio.sleep(1)
    say(f"{len(officers)} desks open; {len(citizens)} citizens arrive over {args.duration:.0f} s")
    cpu_before, client_before, started = cpu(pids_of()), time.process_time(), time.monotonic()
    moments = sorted(rng.uniform(0, args.duration) for _ in citizens)
    connect_failures = 0

    async def arrive(citizen: Citizen, at: float) -> None:
        nonlocal connect_failures
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        for attempt in range(5):  # a page whose handshake timed out is reloaded
            try:
                await citizen.arrive()
                return
            except Exception:
                connect_failures += 1
                await asyncio.sleep(1 + attempt)

    await asyncio.gather(*(arrive(c, at) for c, at in zip(citizens, moments)))
    arrived_at = time.monotonic()
    # A loaded server lags: the officers go on for the drain once every first question is acknowledged.
    questions = [f"{prefix}q{c.conversation}" for c in citizens]
    while time.monotonic() - arrived_at < 120 and any(q not in recorder.acked for q in questions):
        await asyncio.sleep(0.2)
    say(
        f"all arrived and {sum(q in recorder.acked for q in questions)} questions acknowledged "
        f"{time.monotonic() - arrived_at:.1f} s after the last arrival; officers go on for {args.drain:.0f} s"
    )
    await asyncio.sleep(args.drain)
    for officer in officers:
        officer.working = False
    # Then wait for the server to go quiet (no frame for `settle` seconds, at most 120 s) before the audit.
    quiet_from = time.monotonic()
    while time.monotonic() - max(LAST_FRAME[0], quiet_from) < args.settle and time.monotonic() - quiet_from < 120:
        await asyncio.sleep(0.2)
    wall = time.monotonic() - started
    cpu_after, client_cpu = cpu(pids_of()), time.process_time() - client_before
    waiting = waiting_in_database(database, population["window"])
    # What the live path did not bring (a full channel drops events), the pages fetch with resume.
    by_conversation = {c.conversation: c for c in citizens}
    missing = [c for c in recorder.sent if c not in recorder.delivered]
    for client_id in missing:
        conversation = recorder.sent[client_id][1]
        if recorder.sent[client_id][2] == "citizen":
            await officers[0].socket.send({"type": "resume", "conversation": conversation, "after": 0})
        else:
            await by_conversation[conversation].socket.send({"type": "resume", "after": 0})
    asked_at = time.monotonic()
    while time.monotonic() - asked_at < 60 and any(c not in recorder.delivered for c in missing):
        await asyncio.sleep(0.2)
    for officer in officers:
        await officer.close()
    for citizen in citizens:
        await citizen.socket.close()
    arrivals = sum(1 for c in citizens if c.arrived_at is not None)
    server_cpu = sum(cpu_after[n] - cpu_before[n] for n in cpu_after)
    first_answers = [c.first_answer_at - c.arrived_at for c in citizens if c.first_answer_at and c.arrived_at]
    frames = sum(citizen_frames.values()) + sum(desk_frames.values())
    return {
        "arrivals": arrivals,
        "connect_failures": connect_failures,  # handshakes that failed (each retried up to 5 times)
        "served": sum(1 for c in citizens if c.served_at is not None),
        "fetched_with_resume": len(missing),
        **position_audit(citizens, waiting),
        "position_latency": percentiles(position_latencies(citizens)),
        "next_place_after_change": percentiles(next_place_after_change(citizens)),
        "first_answer": percentiles(first_answers),
        "server_cpu_cores": {name: round((cpu_after[name] - cpu_before[name]) / wall, 2) for name in cpu_after},
        "server_cpu_ms_per_arrival": round(server_cpu * 1000 / max(1, arrivals), 2),
        "client_cpu_cores": round(client_cpu / wall, 2),
        "frames_per_arrival": round(frames / max(1, arrivals), 1),
        "citizen_frames": citizen_frames,
        "desk_frames": desk_frames,
        "audit": audit(database, prefix, recorder),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", "-n", type=int, default=2000, help="citizens arriving at the window")
    parser.add_argument("--duration", "-t", type=float, default=60, help="seconds over which they arrive")
    parser.add_argument("--officers", "-k", type=int, default=6, help="officers on duty (at most 10 chats each)")
    parser.add_argument("--drain", type=float, default=10, help="seconds the officers go on after the last arrival")
    parser.add_argument("--settle", type=float, default=3, help="seconds without a frame before the audit")
    parser.add_argument("--prod", action="store_true", help="start the deploy/ setup instead of the embedded one")
    parser.add_argument("--daphnes", type=int, default=2, help="--prod: daphne processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    raise_nofile_limit()
    prefix = f"s{int(time.time()) % 100000}-"
    output = {
        "bench": "surge",
        "command": " ".join(["python", "-m", "bench.surge", *sys.argv[1:]]),
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "setup": "prod" if args.prod else "embedded",
        "citizens": args.citizens,
        "duration": args.duration,
        "officers": args.officers,
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        if args.prod:
            say(f"starting PostgreSQL, Redis, {args.daphnes} daphne and nginx")
            prod = stack.enter_context(Stack(daphnes=args.daphnes, durable=True, env=dict(BENCH_ENV)))
            url, database, env = prod.url, prod.postgres.url, prod.env()

            def pids_of():
                return stack_pids(prod)

            output["daphnes"] = args.daphnes
        else:
            say("starting one daphne on SQLite with the in-memory layer")
            embedded = stack.enter_context(Embedded())
            url, database, env, pids_of = embedded.url, embedded.database, embedded.env, embedded.pids
        population = populate(env, args.citizens, args.officers, prefix[1:-1])
        output.update(asyncio.run(run_clients(url, population, args, prefix, pids_of, database)))
    output["loadavg_at_end"] = loadavg()
    print(json.dumps(output, ensure_ascii=False), flush=True)
    ok = output["wrong_positions"] == 0 and output["audit"]["lost"] == 0 and output["audit"]["duplicated"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["populate"]:
        print(json.dumps(populate_in_process(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
        sys.exit(0)
    sys.exit(main())
