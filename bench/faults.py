"""Fault drills: break one part of the production setup mid-chat and check that nothing is lost.

    .venv/bin/python -m bench.faults                  # every drill on the deploy/ setup (about 6 minutes)
    .venv/bin/python -m bench.faults --short          # the offline drill with 10 s instead of 120 s
    .venv/bin/python -m bench.faults --only redis_kill,daphne_kill --layer core

Each drill runs citizens and officer desks chatting through nginx (K=2 daphne, PostgreSQL, Redis) with
clients that behave like the pages (bench.common.Peer: resume after the last seq, resend unacknowledged
messages with the same client_id, reconnect with back-off, fetch history when a seq is skipped), breaks
something, keeps chatting, ends with one more message from each side of each conversation, and audits
the database: lost (acknowledged but not stored, or stored but never seen by the other side) and
duplicated (a client_id stored twice) must both be 0.

"back" is the time from the repair (or the fault, when nothing is repaired) until every client has had
a message acknowledged again. One JSON line per drill, then a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.common import Peer, Recorder, audit, chinese_body, loadavg, machine, populate  # noqa: E402
from deploy.stack import Stack, raise_nofile_limit, rss_kib  # noqa: E402

BENCH_ENV = {"RATE_CHAT_MESSAGES": "1000000", "RATE_WS_FRAMES": "1000000", "FAST_PASSWORD_HASHER": "1"}


def say(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Chats:
    """Citizens and desks chatting in turn at a steady rate, every sender taking its turn."""

    def __init__(self, urls: list[str], population: dict, prefix: str):
        self.recorder = Recorder()
        self.prefix = prefix
        self.population = population
        self.desks = []
        for index, desk in enumerate(population["officers"]):
            mine = [c["id"] for c in population["conversations"] if c["officer"] == index]
            self.desks.append(
                Peer(
                    base_url=urls[index % len(urls) :] + urls[: index % len(urls)],
                    side="officer",
                    session=desk["session"],
                    recorder=self.recorder,
                    conversations=mine,
                    reconnect=True,
                )
            )
        self.citizens = {}
        for n, conversation in enumerate(population["conversations"]):
            shift = (n + 1) % len(urls)
            self.citizens[conversation["id"]] = Peer(
                base_url=urls[shift:] + urls[:shift],
                side="citizen",
                session=conversation["session"],
                recorder=self.recorder,
                conversations=[conversation["id"]],
                reconnect=True,
            )
        self.count = 0
        self.task: asyncio.Task | None = None
        self.paused: set[int] = set()  # conversations whose citizen is away: only the officer writes

    @property
    def peers(self) -> list[Peer]:
        return self.desks + list(self.citizens.values())

    async def open(self) -> None:
        for peer in self.peers:
            await peer.open()
            await peer.resume()

    def senders(self):
        for conversation in self.population["conversations"]:
            if conversation["id"] not in self.paused:
                yield self.citizens[conversation["id"]], conversation["id"]
            yield self.desks[conversation["officer"]], conversation["id"]

    async def send_one(self, peer: Peer, conversation: int) -> None:
        self.count += 1
        client_id = f"{self.prefix}{self.count}"
        await peer.send(conversation, client_id, chinese_body(_rng, client_id))

    async def _run(self, rate: float) -> None:
        next_at = time.monotonic()
        while True:
            for peer, conversation in list(self.senders()):
                next_at += 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                await self.send_one(peer, conversation)
                if self.count % 10 == 0:
                    for other in self.peers:
                        await other.resend_stale()

    def start(self, rate: float) -> None:
        self.task = asyncio.create_task(self._run(rate))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def settle(self, timeout: float = 60) -> float:
        """Wait until every message is acknowledged and seen by the other side; return the seconds waited."""
        started = time.monotonic()
        # One more message from each side of each conversation: a client that missed an event sees the seq gap.
        for peer, conversation in list(self.senders()):
            await self.send_one(peer, conversation)
        while time.monotonic() - started < timeout:
            recorder = self.recorder
            if all(c in recorder.acked and c in recorder.delivered for c in recorder.sent):
                break
            for peer in self.peers:
                await peer.resend_stale()
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    def back_after(self, moment: float) -> float | None:
        """Seconds from `moment` until every sending client had a message acknowledged again."""
        firsts = []
        for peer in self.peers:
            if peer.side == "citizen" and any(c in self.paused for c in peer.seen):
                continue
            after = [t for t in peer.ack_times if t >= moment]
            if not after:
                return None
            firsts.append(after[0] - moment)
        return round(max(firsts), 2) if firsts else None

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()


_rng = __import__("random").Random(7)


# Drills -------------------------------------------------------------------------------------------
async def drill_redis_kill(setup, chats: Chats, args) -> dict:
    """kill -9 redis-server mid-chat, start it again on the same port 2 s later."""
    setup.stack.redis.kill9()
    await asyncio.sleep(2)
    await asyncio.to_thread(setup.stack.redis.start)
    return {"outage_s": 2}


async def drill_daphne_kill(setup, chats: Chats, args) -> dict:
    """kill -9 one daphne process of two; its clients reconnect through nginx to the other one."""
    setup.stack.daphnes[0].kill9()
    return {"outage_s": 0, "note": "the killed process stays down until the end of the drill"}


async def drill_ack_drop(setup, chats: Chats, args) -> dict:
    """Clients drop their socket right after sending, before the ack; they reconnect and resend the same client_id."""
    dropped = 0
    for peer in list(chats.citizens.values())[:10] + chats.desks[:2]:
        conversation = next(iter(peer.seen))
        await chats.send_one(peer, conversation)
        peer.drop()
        dropped += 1
        await asyncio.sleep(0.05)
    return {"outage_s": 0, "dropped_before_ack": dropped}


async def drill_offline(setup, chats: Chats, args) -> dict:
    """A citizen is offline while the officer keeps writing; on return, resume brings every message once."""
    conversation = setup.population["conversations"][0]["id"]
    citizen = chats.citizens[conversation]
    citizen.reconnect = False
    chats.paused.add(conversation)
    await citizen.close()
    desk = chats.desks[setup.population["conversations"][0]["officer"]]
    away = args.offline_seconds
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < away:
        await chats.send_one(desk, conversation)
        sent += 1
        await asyncio.sleep(0.5)
    citizen.closed_by_us = False
    citizen.reconnect = True
    back = time.monotonic()
    await citizen.open()
    await citizen.resume()

    def missing():
        return [
            c
            for c, (_t, conv, side) in chats.recorder.sent.items()
            if conv == conversation and side == "officer" and c not in chats.recorder.delivered
        ]

    while missing() and time.monotonic() - back < 30:
        await asyncio.sleep(0.05)
    chats.paused.discard(conversation)
    return {
        "outage_s": away,
        "sent_while_offline": sent,
        "history_after_s": round(time.monotonic() - back, 3),
        "restored_at": back,
    }


async def drill_postgres_restart(setup, chats: Chats, args) -> dict:
    """Restart PostgreSQL (fast shutdown, start again): daphne's connections break and are made anew."""
    started = time.monotonic()
    await asyncio.to_thread(setup.stack.postgres.stop)
    await asyncio.to_thread(setup.stack.postgres.start)
    return {"outage_s": round(time.monotonic() - started, 2)}


async def drill_slow_reader(setup, chats: Chats, args) -> dict:
    """A citizen socket that never reads while its officer writes long answers: watch daphne's memory."""
    conversation = setup.population["conversations"][-1]
    host, port = setup.stack.nginx.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/chat/{conversation['id']}/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://localhost:{port}\r\nCookie: sessionid={conversation['session']}\r\n\r\n"
        ).encode()
    )
    answer = sock.recv(1024)
    if b" 101 " not in answer.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"slow reader handshake failed: {answer[:80]!r}")
    if args.slow_control:
        # Control run: the same socket, read continuously, to tell its buffers from the load's own memory.
        import threading

        threading.Thread(target=lambda: [None for _ in iter(lambda: sock.recv(1 << 16), b"")], daemon=True).start()
    desk = chats.desks[conversation["officer"]]
    pids = [d.pid for d in setup.stack.daphnes]
    rss = lambda: sum(rss_kib(p) for p in pids)  # noqa: E731
    before, samples, started = rss(), [], time.monotonic()
    long_answer = ("您好，关于您咨询的户口迁移问题，具体材料如下。" * 60)[:1900]
    sent = 0
    while time.monotonic() - started < args.slow_seconds:
        for _ in range(5):
            sent += 1
            desk.recorder.sent[f"{chats.prefix}slow-{sent}"] = (time.monotonic(), conversation["id"], "officer")
            desk.pending[f"{chats.prefix}slow-{sent}"] = (conversation["id"], long_answer)
            await desk._transmit(f"{chats.prefix}slow-{sent}")
        await asyncio.sleep(0.1)
        if int((time.monotonic() - started) * 10) % 20 == 0:
            samples.append((round(time.monotonic() - started, 1), rss() - before))
    # Read what is buffered for it: an end of stream means the server side gave up on the socket.
    closed = False
    sock.settimeout(2)
    try:
        while sock.recv(1 << 20):
            pass
        closed = True
    except ConnectionResetError:
        closed = True  # cut off with data still unsent: a reset rather than an orderly close
    except OSError:
        pass  # nothing more within 2 s: still open
    peak = max(kib for _t, kib in samples) if samples else 0
    sock.close()
    # Its messages are stored; the slow citizen never read them, so they do not count in the audit.
    for client_id in [c for c in desk.recorder.sent if "slow-" in c]:
        desk.recorder.delivered[client_id] = (time.monotonic(), "history")
    return {
        "outage_s": 0,
        "long_answers_sent": sent,
        "bytes_queued_for_reader": sent * len(long_answer.encode()),
        "daphne_rss_growth_kib_peak": peak,
        "daphne_rss_growth_kib_end": samples[-1][1] if samples else 0,
        "rss_samples": samples[:: max(1, len(samples) // 10)],
        "socket_closed_by_server": closed,
    }


DRILLS = {
    "redis_kill": drill_redis_kill,
    "daphne_kill": drill_daphne_kill,
    "ack_drop": drill_ack_drop,
    "offline": drill_offline,
    "postgres_restart": drill_postgres_restart,
    "slow_reader": drill_slow_reader,
}


class Setup:
    def __init__(self, stack: Stack, population: dict, urls: list[str], database: str):
        self.stack, self.population, self.urls, self.database = stack, population, urls, database


async def run_drill(name: str, setup: Setup, args) -> dict:
    prefix = f"f{int(time.time()) % 100000}{name[:3]}-"
    chats = Chats(setup.urls, setup.population, prefix)
    await chats.open()
    chats.start(args.rate)
    await asyncio.sleep(args.warmup)
    fault_at = time.monotonic()
    details = await DRILLS[name](setup, chats, args)
    restored_at = details.pop("restored_at", time.monotonic())
    await asyncio.sleep(args.after)
    await chats.stop()
    settle = await chats.settle(timeout=60)
    back = chats.back_after(restored_at)
    result = audit(setup.database, prefix, chats.recorder)
    await chats.close()
    return {
        "drill": name,
        "lost": result["lost"],
        "duplicated": result["duplicated"],
        "back_s": back,
        "back_from_fault_s": chats.back_after(fault_at),
        "settle_s": round(settle, 2),
        "sent": result["sent"],
        "stored": result["stored"],
        "acked": result["acked"],
        "resends": chats.recorder.resends,
        "reconnects": chats.recorder.reconnects,
        "gaps": chats.recorder.gaps,
        "from_history": result["delivered_from_history"],
        "errors": chats.recorder.errors,
        "lost_detail": {k: result[k] for k in ("lost_acked_not_stored", "lost_stored_not_delivered", "examples")},
        **details,
    }


def repair(stack: Stack) -> None:
    """Bring every service of the stack back after a drill (a killed daphne, a stopped database)."""
    stack.postgres.start()
    if not stack.redis.running():
        stack.redis.start()
    for daphne in stack.daphnes:
        if not daphne.running():
            daphne.env = stack.env()
            daphne.start()


def table(results: list[dict]) -> str:
    lines = [
        "| drill | lost | duplicated | clients back (s after repair) | messages | resends | reconnects | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        notes = []
        if r.get("outage_s"):
            notes.append(f"outage {r['outage_s']} s")
        if "sent_while_offline" in r:
            notes.append(f"{r['sent_while_offline']} sent while offline, history {r['history_after_s']} s after return")
        if "daphne_rss_growth_kib_peak" in r:
            notes.append(
                f"{r['long_answers_sent']} answers ({r['bytes_queued_for_reader'] // 1024} KiB) unread; "
                f"daphne RSS +{r['daphne_rss_growth_kib_peak']} KiB peak, closed by server: "
                f"{r['socket_closed_by_server']}"
            )
        if "dropped_before_ack" in r:
            notes.append(f"{r['dropped_before_ack']} sockets dropped before the ack")
        if r.get("errors"):
            notes.append(f"errors {r['errors']}")
        lines.append(
            f"| {r['drill']} | {r['lost']} | {r['duplicated']} | {r['back_s']} | {r['sent']} | "
            f"{r['resends']} | {r['reconnects']} | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated drills: " + ",".join(DRILLS))
    parser.add_argument("--short", action="store_true", help="offline for 10 s instead of 120 s, slow reader 20 s")
    parser.add_argument("--layer", choices=["core", "pubsub"], help="channels-redis layer (default: the settings')")
    parser.add_argument("--conversations", type=int, default=12)
    parser.add_argument("--desks", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20, help="messages per second during the drill")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--after", type=float, default=8, help="seconds of chat after the fault")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument("--slow-control", action="store_true", help="slow_reader: read the socket (control run)")
    args = parser.parse_args()
    args.offline_seconds = 10 if args.short else 120
    args.slow_seconds = 20 if args.short else 75
    names = args.only.split(",") if args.only else list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drills: {unknown}")
    raise_nofile_limit()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    extra = dict(item.split("=", 1) for item in args.env)
    results = []
    with Stack(daphnes=2, layer=args.layer, env={**BENCH_ENV, **extra}) as stack:
        layer = stack.env()["REDIS_CHANNEL_LAYER"]
        say(f"PostgreSQL, Redis, 2 daphne and nginx are up (channel layer: {layer})")
        population = populate(stack.env(), args.conversations, args.desks, f"f{int(time.time()) % 100000}")
        setup = Setup(stack, population, [stack.url], stack.postgres.url)
        for name in names:
            say(f"drill {name}")
            result = asyncio.run(run_drill(name, setup, args))
            result.update(layer=layer, machine_load=loadavg())
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
            repair(stack)
    print(
        json.dumps(
            {
                "bench": "faults",
                "command": " ".join(["python", "-m", "bench.faults", *sys.argv[1:]]),
                "machine": machine(),
            },
            ensure_ascii=False,
        )
    )
    print(table(results))
    return 0 if all(r["lost"] == 0 and r["duplicated"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
