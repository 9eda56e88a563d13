"""Load benchmark of the duty room's websockets, against the bare Channels echo at the same load.

    .venv/bin/python -m bench.ws_load                       # embedded: one daphne, SQLite, in-memory layer
    .venv/bin/python -m bench.ws_load --prod --daphnes 2    # deploy/ setup: PostgreSQL, Redis, K daphne, nginx
    .venv/bin/python -m bench.ws_load --url http://127.0.0.1:8080 --database postgres://...  # a running server

N citizen sockets (one active conversation each) and M officer desks (the conversations are spread over
them) open; then chats run at R messages/s with Poisson arrivals, half from citizens and half from
officers, each about 200 bytes of Chinese. Reported: sender -> other side latency, ack latency,
throughput, server memory per open socket (VmRSS of the server processes before and after opening the
sockets), server CPU, and the audit of the database (lost and duplicated must be 0). Then the same
clients, sockets and rate against bench/echo (no database, same channel layer), for the ratio of p99s.
With --rounds R the app and the echo take turns R times; each round's CPU per message and p99 are
reported side by side, with the median of the rounds' CPU ratios.

Prints progress to stderr and ONE JSON line to stdout. Traffic goes to 127.0.0.0/8 only; every phase is
bounded in time; every server it starts is stopped on the way out (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.common import (  # noqa: E402
    Peer,
    Recorder,
    audit,
    chinese_body,
    last_seqs,
    loadavg,
    machine,
    percentiles,
    populate,
)
from deploy.processes import PING_INTERVAL, PING_TIMEOUT  # noqa: E402
from deploy.stack import PYTHON, Daphne, Nginx, Stack, cpu_seconds, free_port, raise_nofile_limit, rss_kib  # noqa: E402

# The benchmark's users send far faster than a person; lift the per-user limits on the servers it starts.
BENCH_ENV = {"RATE_CHAT_MESSAGES": "1000000", "RATE_WS_FRAMES": "1000000", "FAST_PASSWORD_HASHER": "1"}


def say(message: str) -> None:
    print(f"[ws_load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Workers: each owns a share of the desks and of their conversations ----------------------------------
async def _worker(conn, spec: dict) -> None:
    recorder = Recorder()
    rng = random.Random(spec["seed"])
    source_ips = [f"127.0.0.{10 + i}" for i in range(spec["source_ips"])]
    desks: dict[int, Peer] = {}
    citizens: dict[int, Peer] = {}
    echo = spec["echo"]
    for n, desk in enumerate(spec["officers"]):
        mine = [c["id"] for c in spec["conversations"] if c["officer"] == desk["index"]]
        seqs = {c["id"]: c.get("seq", 0) for c in spec["conversations"] if c["officer"] == desk["index"]}
        echo_spec = None
        if echo:
            echo_spec = {
                "join": [f"user.{desk['index']}"],
                "to": {c: [f"conv.{c}", f"user.{desk['index']}"] for c in mine},
            }
        desks[desk["index"]] = Peer(
            base_url=spec["url"],
            side="officer",
            session=desk["session"],
            recorder=recorder,
            conversations=mine or [0],
            seen=seqs,
            echo=echo_spec,
            ping_every=spec["desk_ping"],
            local_addr=source_ips[n % len(source_ips)] if source_ips else None,
        )
    for n, conversation in enumerate(spec["conversations"]):
        echo_spec = None
        if echo:
            echo_spec = {
                "join": [f"conv.{conversation['id']}"],
                "to": {conversation["id"]: [f"conv.{conversation['id']}", f"user.{conversation['officer']}"]},
            }
        citizens[conversation["id"]] = Peer(
            base_url=spec["url"],
            side="citizen",
            session=conversation["session"],
            recorder=recorder,
            conversations=[conversation["id"]],
            seen={conversation["id"]: conversation.get("seq", 0)},
            echo=echo_spec,
            ping_every=spec["citizen_ping"],
            local_addr=source_ips[(n + len(desks)) % len(source_ips)] if source_ips else None,
        )
    peers = list(desks.values()) + list(citizens.values())
    lags: list[float] = []

    async def watch_lag() -> None:
        # How late this client's event loop runs a 50 ms timer: a busy client inflates every latency.
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - before - 0.05)

    lag_watcher = asyncio.create_task(watch_lag())

    async def open_all() -> dict:
        gate = asyncio.Semaphore(spec["connect_concurrency"])
        failures: dict[str, int] = {}

        async def one(peer: Peer):
            async with gate:
                try:
                    await peer.open(timeout=60)
                except Exception as error:
                    name = type(error).__name__
                    status = getattr(getattr(error, "response", None), "status_code", None)
                    if status:
                        name += f" {status}"
                    failures[name] = failures.get(name, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(one(p) for p in desks.values()))
        await asyncio.gather(*(one(p) for p in citizens.values()))
        return {
            "seconds": time.monotonic() - started,
            "open": sum(1 for p in peers if p.up.is_set()),
            "failures": failures,
        }

    async def drive(rate: float, duration: float) -> dict:
        """Send at `rate` messages/s (Poisson) for `duration` s, then wait up to 15 s for acks and deliveries."""
        conversations = spec["conversations"]
        started = time.monotonic()
        next_at, n, late = started, 0, 0.0
        lags.clear()
        tasks = set()
        while conversations and rate > 0:
            next_at += rng.expovariate(rate)
            if next_at - started >= duration:
                break
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            conversation = rng.choice(conversations)
            if rng.random() < 0.5:
                peer = citizens[conversation["id"]]
            else:
                peer = desks[conversation["officer"]]
            if not peer.up.is_set():
                continue
            n += 1
            client_id = f"{spec['prefix']}{spec['index']}-{n}"
            task = asyncio.create_task(peer.send(conversation["id"], client_id, chinese_body(rng, client_id)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        sent_seconds = time.monotonic() - started
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            waiting = [c for c in recorder.sent if c not in recorder.acked or c not in recorder.delivered]
            if not waiting:
                break
            await asyncio.sleep(0.1)
        # What the live path did not bring, the page would fetch with resume: ask once, then audit.
        missing = {recorder.sent[c][1] for c in recorder.sent if c not in recorder.delivered and c in recorder.acked}
        if missing and not echo:
            for conversation in conversations:
                if conversation["id"] in missing:
                    for peer in (citizens[conversation["id"]], desks[conversation["officer"]]):
                        await peer._ask_history(conversation["id"])
            await asyncio.sleep(2)
        return {
            "sent": n,
            "send_seconds": sent_seconds,
            "max_lateness_s": late,
            "drain_seconds": time.monotonic() - started - sent_seconds,
            "unexpected_closes": sum(p.unexpected_closes for p in peers),
            "loop_lag_max_s": max(lags, default=0.0),
            "loop_lag_over_100ms": sum(1 for lag in lags if lag > 0.1),
        }

    loop = asyncio.get_running_loop()
    while True:
        # Wait for the parent off the event loop: the sockets must keep answering daphne's pings meanwhile.
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            conn.send(await open_all())
        elif command == "drive":
            conn.send(await drive(*argument))
        elif command == "results":
            conn.send(recorder.as_dict())
        elif command == "close":
            gate = asyncio.Semaphore(500)

            async def close(peer, gate=gate):
                async with gate:
                    await peer.close()

            await asyncio.gather(*(close(p) for p in peers))
            lag_watcher.cancel()
            conn.send("closed")
            return


def worker_entry(conn, spec: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    raise_nofile_limit()
    asyncio.run(_worker(conn, spec))


class Clients:
    """W worker processes holding the sockets; the parent steps them through open, drive and close."""

    def __init__(self, *, url: str, population: dict, workers: int, prefix: str, echo: bool, args):
        context = multiprocessing.get_context("fork")
        self.pipes, self.processes = [], []
        for index in range(workers):
            officers = [dict(o, index=i) for i, o in enumerate(population["officers"]) if i % workers == index]
            indexes = {o["index"] for o in officers}
            spec = {
                "url": url,
                "index": index,
                "prefix": prefix,
                "echo": echo,
                "seed": args.seed + index,
                "officers": officers,
                "conversations": [c for c in population["conversations"] if c["officer"] in indexes],
                "source_ips": args.source_ips,
                "connect_concurrency": args.connect_concurrency,
                "citizen_ping": args.citizen_ping,
                "desk_ping": args.desk_ping,
            }
            parent, child = context.Pipe()
            process = context.Process(target=worker_entry, args=(child, spec), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def ask(self, command: str, argument=None, timeout: float = 900) -> list:
        for pipe in self.pipes:
            pipe.send((command, argument))
        answers = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            if not pipe.poll(max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f"workers did not answer {command!r} within {timeout:.0f} s")
            answers.append(pipe.recv())
        return answers

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


# Servers ------------------------------------------------------------------------------------------
class Embedded:
    """`make run`'s setup: one daphne, SQLite (WAL), the in-memory channel layer; DEBUG off."""

    def __init__(
        self, application: str = "portal.asgi:application", migrate: bool = True, daphne_options: dict | None = None
    ):
        self.workdir = Path(tempfile.mkdtemp(prefix="zwt-bench-", dir=os.environ.get("BENCH_TMP")))
        self.database = str(self.workdir / "db.sqlite3")
        self.env = {
            "SQLITE_PATH": self.database,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            **BENCH_ENV,
        }
        self.migrate = migrate
        self.daphne = Daphne(self.workdir, free_port(), self.env, application=application, **(daphne_options or {}))

    def __enter__(self):
        try:
            if self.migrate:
                child = dict(os.environ, **self.env)
                subprocess.run(
                    [PYTHON, "manage.py", "migrate", "--noinput"],
                    cwd=PROJECT_DIR,
                    env=child,
                    check=True,
                    capture_output=True,
                )
            self.daphne.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.daphne.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def url(self) -> str:
        return self.daphne.url

    def pids(self) -> dict[str, list[int]]:
        return {"daphne": self.daphne.pids()}


class EchoProd:
    """K echo daphne processes behind their own nginx, on the production stack's Redis."""

    def __init__(self, stack: Stack, daphnes: int, application: str, daphne_options: dict | None = None):
        self.workdir = stack.workdir / "echo"
        self.workdir.mkdir()
        env = {"REDIS_URL": stack.redis.url, "REDIS_CHANNEL_LAYER": stack.env().get("REDIS_CHANNEL_LAYER", "")}
        env.update({k: v for k, v in stack.extra_env.items() if k.startswith("BENCH_PROBE")})
        self.daphnes = [
            Daphne(
                self.workdir, free_port(), env, index=i, application=application, unix=True, **(daphne_options or {})
            )
            for i in range(daphnes)
        ]
        self.nginx = Nginx(
            self.workdir, free_port(), free_port(), [d.upstream for d in self.daphnes], workers=stack.nginx.workers
        )

    def __enter__(self):
        for daphne in self.daphnes:
            daphne.start()
        self.nginx.render(self.workdir)
        self.nginx.start()
        return self

    def __exit__(self, *exc):
        self.nginx.stop()
        for daphne in self.daphnes:
            daphne.stop()

    @property
    def url(self) -> str:
        return self.nginx.url

    def pids(self) -> dict[str, list[int]]:
        return {"daphne": [p for d in self.daphnes for p in d.pids()], "nginx": self.nginx.pids()}


def stack_pids(stack: Stack) -> dict[str, list[int]]:
    return {
        "daphne": [p for d in stack.daphnes for p in d.pids()],
        "nginx": stack.nginx.pids(),
        "redis": stack.redis.pids(),
        "postgres": [stack.postgres.pid, *postgres_backends(stack.postgres.pid)],
    }


def postgres_backends(pid: int) -> list[int]:
    from deploy.stack import children_of

    return children_of(pid)


def memory(pids: dict[str, list[int]]) -> dict[str, int]:
    return {name: sum(rss_kib(p) for p in group) for name, group in pids.items()}


def cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(p) for p in group) for name, group in pids.items()}


# One measured phase -------------------------------------------------------------------------------
def measure(*, url: str, pids_of, population: dict, args, prefix: str, echo: bool, database: str | None) -> dict:
    sockets = len(population["conversations"]) + len(population["officers"])
    time.sleep(1)
    before = memory(pids_of())
    clients = Clients(url=url, population=population, workers=args.workers, prefix=prefix, echo=echo, args=args)
    try:
        say(f"{'echo' if echo else 'app'}: opening {sockets} sockets with {args.workers} client processes")
        opened = clients.ask("open", timeout=max(120, sockets / 50))
        connect_seconds = max(o["seconds"] for o in opened)
        open_count = sum(o["open"] for o in opened)
        failures: dict[str, int] = {}
        for o in opened:
            for name, count in o["failures"].items():
                failures[name] = failures.get(name, 0) + count
        time.sleep(2)
        after = memory(pids_of())
        say(
            f"{'echo' if echo else 'app'}: {open_count}/{sockets} open in {connect_seconds:.1f} s; "
            f"server RSS {sum(before.values()) // 1024} -> {sum(after.values()) // 1024} MiB"
        )
        cpu_before, client_cpu_before, started = cpu(pids_of()), clients.cpu(), time.monotonic()
        window_start = time.time()
        driven = clients.ask("drive", (args.rate / args.workers, args.duration), timeout=args.duration + 120)
        wall = time.monotonic() - started
        window_end = time.time()
        if args.probe:
            time.sleep(5.5)  # the probes write every 5 s
        cpu_after, client_cpu_after = cpu(pids_of()), clients.cpu()
        send_seconds = max(d["send_seconds"] for d in driven)
        probed_pids = pids_of().get("daphne", [])
        recorder = Recorder()
        for answer in clients.ask("results"):
            recorder.merge(answer)
        clients.ask("close", timeout=max(60, sockets / 200))
    finally:
        clients.stop()
    delivered_live = [t for c, (t, how) in recorder.delivered.items() if how == "live"]
    result = {
        "sockets": sockets,
        "open": open_count,
        "connect_failures": failures,
        "connect_seconds": round(connect_seconds, 2),
        "connects_per_s": round(open_count / connect_seconds, 1) if connect_seconds else None,
        "rss_kib_before": before,
        "rss_kib_open": after,
        "kib_per_socket": {name: round((after[name] - before[name]) / max(1, open_count), 1) for name in after},
        "kib_per_socket_total": round((sum(after.values()) - sum(before.values())) / max(1, open_count), 1),
        "offered_rate": args.rate,
        "sent": sum(d["sent"] for d in driven),
        "acked": len(recorder.acked),
        "delivered": len(recorder.delivered),
        # Delivered per second from the first send to the last delivery: an overloaded server that
        # catches up during the drain shows its real rate here, not the offered one.
        "throughput_msg_s": round(len(recorder.delivered) / span, 1) if (span := delivery_span(recorder)) else None,
        "offered_throughput_msg_s": round(len(delivered_live) / send_seconds, 1) if send_seconds else None,
        "latency": percentiles(recorder.latencies),
        "ack_latency": percentiles(recorder.ack_latencies),
        "client_max_lateness_ms": round(max(d["max_lateness_s"] for d in driven) * 1000, 1),
        "client_loop_lag_max_ms": round(max(d["loop_lag_max_s"] for d in driven) * 1000, 1),
        "client_loop_lags_over_100ms": sum(d["loop_lag_over_100ms"] for d in driven),
        "server_cpu_cores": {name: round((cpu_after[name] - cpu_before[name]) / wall, 2) for name in cpu_after},
        "client_cpu_cores": round((client_cpu_after - client_cpu_before) / wall, 2),
        # CPU time per delivered message: unlike latency, it hardly depends on what else the shared cores run.
        "server_cpu_ms_per_msg": round(
            sum(cpu_after[n] - cpu_before[n] for n in cpu_after) * 1000 / max(1, len(recorder.delivered)), 2
        ),
        "errors": recorder.errors,
        "unexpected_closes": sum(d["unexpected_closes"] for d in driven),
        "gaps": recorder.gaps,
    }
    if args.probe:
        result["probe"] = read_probes(args.probe_dir, probed_pids, window_start, window_end)
    if database:
        result["audit"] = audit(database, prefix, recorder)
    else:
        undelivered = [c for c in recorder.sent if c not in recorder.delivered]
        result["audit"] = {
            "sent": len(recorder.sent),
            "lost": len(undelivered),
            "never_acked": len([c for c in recorder.sent if c not in recorder.acked]),
        }
    return result


def read_probes(folder: str, pids: list[int], start: float, end: float) -> list[dict]:
    """What bench/probe.py wrote in each daphne: collector pauses and event-loop lag since it started,
    and the full collections and lags over 50 ms during the measured traffic (start..end, wall clock)."""
    found = []
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            probe = json.loads(Path(folder, f"probe-{pid}.json").read_text())
            events = [e for e in probe.pop("events", []) if start <= e[0] <= end]
            full = [ms for _t, kind, ms in events if kind == "gc2"]
            lags = [ms for _t, kind, ms in events if kind == "lag"]
            probe["during_traffic"] = {
                "full_collections": len(full),
                "full_collection_max_ms": max(full, default=0),
                "loop_lags_over_50ms": len(lags),
                "loop_lag_max_ms": max(lags, default=0),
            }
            found.append(probe)
    return found


def round_summary(measured: dict) -> dict:
    """One round's figures side by side: the app's and the echo's CPU per message, p99 and throughput."""
    summary = {}
    for name, result in measured.items():
        summary[f"{name}_cpu_ms_per_msg"] = result["server_cpu_ms_per_msg"]
        summary[f"{name}_p99_ms"] = result["latency"]["p99_ms"]
        summary[f"{name}_throughput_msg_s"] = result["throughput_msg_s"]
    summary["app_lost"] = measured["app"]["audit"].get("lost")
    summary["app_duplicated"] = measured["app"]["audit"].get("duplicated", 0)
    if "echo" in measured:
        summary["cpu_ratio_app_to_echo"] = round(
            measured["app"]["server_cpu_ms_per_msg"] / measured["echo"]["server_cpu_ms_per_msg"], 2
        )
    return summary


def delivery_span(recorder: Recorder) -> float:
    if not recorder.delivered or not recorder.sent:
        return 0.0
    return max(t for t, _how in recorder.delivered.values()) - min(t for t, *_ in recorder.sent.values())


def echo_population(population: dict) -> dict:
    """The same sockets for the echo: desk i listens to user.i, the citizen of conversation c to conv.c."""
    return {
        "officers": [{"session": ""} for _ in population["officers"]],
        "conversations": [{"id": c["id"], "officer": c["officer"], "session": ""} for c in population["conversations"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prod", action="store_true", help="start the deploy/ setup instead of the embedded one")
    parser.add_argument("--url", help="benchmark a running server instead (needs --database for the audit)")
    parser.add_argument("--database", help="with --url: postgres:// URL or SQLite path of that server's database")
    parser.add_argument("--echo-url", help="with --url: a running bench.echo server to compare with")
    parser.add_argument("--citizens", "-n", type=int, default=1000, help="citizen sockets, one conversation each")
    parser.add_argument("--desks", "-m", type=int, default=20, help="officer desks")
    parser.add_argument("--rate", "-r", type=float, default=200, help="messages per second, all senders together")
    parser.add_argument("--duration", "-t", type=float, default=30, help="seconds of traffic")
    parser.add_argument("--daphnes", "-k", type=int, default=2, help="--prod: daphne processes")
    parser.add_argument("--layer", choices=["core", "pubsub"], help="--prod: channels-redis layer (default: pubsub)")
    parser.add_argument("--nginx-workers", type=int, default=4, help="--prod: nginx worker processes")
    parser.add_argument(
        "--workers", "-w", type=int, default=0, help="client processes (default: 1 per 15,000 sockets, at least 2)"
    )
    parser.add_argument(
        "--source-ips", type=int, default=32, help="spread client sockets over 127.0.0.10.. (0: kernel's choice)"
    )
    parser.add_argument("--connect-concurrency", type=int, default=200, help="handshakes in flight per client process")
    parser.add_argument("--no-echo", action="store_true", help="skip the bare echo comparison")
    parser.add_argument(
        "--rounds", type=int, default=1, help="app and echo take turns this many times (each round reported)"
    )
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument(
        "--app",
        default="portal.asgi:application",
        help="ASGI application of the servers it starts (another one to try a proposal)",
    )
    parser.add_argument(
        "--page-ping",
        type=float,
        default=20,
        help="seconds between each socket's keepalive frame, citizens and desks alike (0: none); "
        "--citizen-ping and --desk-ping override it per side",
    )
    parser.add_argument(
        "--citizen-ping", type=float, help="seconds between a chat page's `ping` frames (0: none; the page's interval)"
    )
    parser.add_argument("--desk-ping", type=float, help="seconds between a desk's `heartbeat` frames (desk.js: 20)")
    parser.add_argument(
        "--daphne-ping",
        type=int,
        help="daphne's --ping-interval on the servers it starts (websocket protocol pings; deploy/'s 50)",
    )
    parser.add_argument("--daphne-ping-timeout", type=int, help="daphne's --ping-timeout (deploy/'s 30)")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="run the servers under bench/probe.py: collector pauses and event-loop lag per daphne in the JSON",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.citizen_ping = args.page_ping if args.citizen_ping is None else args.citizen_ping
    args.desk_ping = args.page_ping if args.desk_ping is None else args.desk_ping
    daphne_options = {"ping_interval": args.daphne_ping, "ping_timeout": args.daphne_ping_timeout}
    args.probe_dir = tempfile.mkdtemp(prefix="zwt-probe-") if args.probe else None
    probe_env = {}
    if args.probe:
        probe_env = {"BENCH_PROBE_DIR": args.probe_dir}
        if args.app == "portal.asgi:application":
            args.app = "bench.probe:application"
    nofile = raise_nofile_limit()
    sockets = args.citizens + args.desks
    args.workers = args.workers or max(2, math.ceil(sockets / 15000))
    if sockets / args.workers > nofile - 200:
        parser.error(f"{sockets} sockets need more client processes: the open-file limit is {nofile}")
    if args.url and not args.url.startswith(("http://127.", "http://localhost")):
        parser.error("--url must be on loopback (127.0.0.0/8)")
    extra_env = {**probe_env, **dict(item.split("=", 1) for item in args.env)}
    prefix = f"b{int(time.time()) % 100000}-"
    tag = prefix[1:-1]
    output = {
        "bench": "ws_load",
        "command": " ".join([Path(sys.executable).name, "-m", "bench.ws_load", *sys.argv[1:]]),
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "setup": "url" if args.url else ("prod" if args.prod else "embedded"),
        "citizens": args.citizens,
        "desks": args.desks,
        "rate": args.rate,
        "duration": args.duration,
        "client_workers": args.workers,
        "app_module": args.app,
        "keepalive": {
            "citizen_ping_s": args.citizen_ping,
            "desk_ping_s": args.desk_ping,
            "daphne_ping_interval_s": args.daphne_ping or PING_INTERVAL,
            "daphne_ping_timeout_s": args.daphne_ping_timeout or PING_TIMEOUT,
        },
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        if args.url:
            url, database, pids_of = args.url, args.database, (lambda: {})
            server_env = dict(os.environ)
        elif args.prod:
            say(f"starting PostgreSQL, Redis, {args.daphnes} daphne and nginx")
            prod = stack.enter_context(
                Stack(
                    daphnes=args.daphnes,
                    layer=args.layer,
                    durable=True,
                    env={**BENCH_ENV, **extra_env},
                    application=args.app,
                    nginx_workers=args.nginx_workers,
                    daphne_options=daphne_options,
                )
            )
            url, database = prod.url, prod.postgres.url
            server_env = prod.env()
            output["daphnes"] = args.daphnes
            output["layer"] = server_env.get("REDIS_CHANNEL_LAYER") or "settings default"
            output["server_env"] = {
                k: v for k, v in server_env.items() if k in extra_env or k.startswith(("DB_", "ASGI"))
            }

            def pids_of():
                return stack_pids(prod)
        else:
            say("starting one daphne on SQLite with the in-memory layer")
            embedded = Embedded(application=args.app, daphne_options=daphne_options)
            embedded.env.update(extra_env)
            stack.enter_context(embedded)
            url, database, server_env = embedded.url, embedded.database, embedded.env
            pids_of = embedded.pids
            output["server_env"] = extra_env
        say(f"creating {args.citizens} citizens with a conversation each and {args.desks} officers")
        started = time.monotonic()
        population = populate(server_env, args.citizens, args.desks, tag)
        say(f"population ready in {time.monotonic() - started:.1f} s")
        if args.url and not args.echo_url:
            args.no_echo = True
        echo_url, echo_pids = None, None
        if not args.no_echo:
            echo_app = "bench.probe:echo" if args.probe else "bench.echo.asgi:application"
            if args.echo_url:
                echo_url, echo_pids = args.echo_url, (lambda: {})
            elif args.prod:
                echo = stack.enter_context(EchoProd(prod, args.daphnes, echo_app, daphne_options))
                echo_url, echo_pids = echo.url, echo.pids
            else:
                echo_server = Embedded(application=echo_app, migrate=False, daphne_options=daphne_options)
                echo_server.env.update(extra_env)
                stack.enter_context(echo_server)
                echo_url, echo_pids = echo_server.url, echo_server.pids
        # The app and the echo take turns, --rounds times: the shared cores' speed drifts over minutes,
        # and a ratio of two neighbouring phases is fairer than one of two phases far apart.
        rounds = []
        for number in range(args.rounds):
            tagged = prefix if args.rounds == 1 else f"{prefix}r{number}-"
            if args.rounds > 1:
                say(f"round {number + 1} of {args.rounds}")
            if number and database:
                # The pages open where the last round left the conversations, as a page that reconnects.
                seqs = last_seqs(database)
                for conversation in population["conversations"]:
                    conversation["seq"] = seqs.get(conversation["id"], 0)
            measured = {
                "app": measure(
                    url=url,
                    pids_of=pids_of,
                    population=population,
                    args=args,
                    prefix=tagged,
                    echo=False,
                    database=database,
                )
            }
            if echo_url:
                measured["echo"] = measure(
                    url=echo_url,
                    pids_of=echo_pids,
                    population=echo_population(population),
                    args=args,
                    prefix=tagged + "e",
                    echo=True,
                    database=None,
                )
            rounds.append(measured)
        output.update(rounds[0])
        if echo_url:
            app_p99, echo_p99 = output["app"]["latency"]["p99_ms"], output["echo"]["latency"]["p99_ms"]
            if app_p99 and echo_p99:
                output["p99_ratio_app_to_echo"] = round(app_p99 / echo_p99, 2)
        if args.rounds > 1:
            output["rounds"] = [round_summary(r) for r in rounds]
            if echo_url:
                ratios = [r["cpu_ratio_app_to_echo"] for r in output["rounds"]]
                output["cpu_ratio_app_to_echo_median"] = statistics.median(ratios)
    output["loadavg_at_end"] = loadavg()
    print(json.dumps(output, ensure_ascii=False), flush=True)
    audits = [r["app"]["audit"] for r in rounds]
    return 0 if all(a.get("lost") == 0 and a.get("duplicated", 0) == 0 for a in audits) else 1


if __name__ == "__main__":
    sys.exit(main())
