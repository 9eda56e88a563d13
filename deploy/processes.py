"""The one process supervisor: start, wait for, stop, kill and restart redis-server, PostgreSQL and daphne.

deploy/stack.py (``make run-prod``, the benchmarks and fault drills in bench/) and tests/services.py (the
suite's throwaway services) both run their servers through these classes; each passes its own options
(the tests' PostgreSQL skips fsync, production's keeps it; production's daphne sits behind a proxy).

Every service is a foreground child process with its log in a file. ``start`` waits until the service
answers, polling; it fails early with the log's tail when the process exits, and late (``timeout``) when
it never answers, calling ``progress`` every ``progress_every`` seconds meanwhile so that a slow start on
a loaded machine shows as slow, not as a hang. Python's standard library only: the module runs before the
virtualenv's packages are needed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = (
    str(PROJECT_DIR / ".venv" / "bin" / "python")
    if (PROJECT_DIR / ".venv" / "bin" / "python").exists()
    else sys.executable
)
DAPHNE = str(Path(PYTHON).with_name("daphne"))
DB_USER = DB_NAME = "zwt"

Progress = Callable[[str], None]


# Helpers ------------------------------------------------------------------------------------------
def raise_nofile_limit() -> int:
    """Raise the soft open-file limit to the hard limit (children inherit it); return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def rss_kib(pid: int) -> int:
    """Return the resident memory of a process in KiB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """Return user+system CPU seconds a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def http_answers(url: str, timeout: float = 2) -> bool:
    """Return whether a server answers ``url`` with any HTTP status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True


def run_as_postgres() -> dict:
    """Popen arguments that run PostgreSQL's binaries as the ``postgres`` user when we are root.

    PostgreSQL refuses to run as root. KeyError when there is no such user (not installed the Debian way).
    """
    if os.geteuid() != 0:
        return {}
    pwd.getpwnam("postgres")
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def find_postgres_bindir() -> Path | None:
    """Return the folder holding initdb and postgres: $PG_BIN, Debian's newest, or PATH."""
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for folder in candidates:
        if all(os.access(Path(folder) / name, os.X_OK) for name in ("initdb", "postgres", "pg_isready", "createdb")):
            return Path(folder)
    return None


def find_redis_server() -> str | None:
    """Return the redis-server binary: $REDIS_SERVER, or the one on PATH."""
    candidate = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
    return candidate if candidate and os.access(candidate, os.X_OK) else None


# Services -----------------------------------------------------------------------------------------
class Service:
    """One foreground child process with its log; it can be stopped, killed with SIGKILL and restarted."""

    name = "service"
    stop_signal = signal.SIGTERM
    stop_timeout = 20.0
    poll_interval = 0.05

    def __init__(
        self,
        workdir: Path,
        *,
        name: str | None = None,
        log_dir: Path | None = None,
        new_session: bool = True,
        truncate_log: bool = False,
    ):
        """The log is ``log_dir/NAME.log`` (default: the work folder). ``new_session``: the child does
        not get the terminal's Ctrl-C (its owner stops it, in order); ``truncate_log``: the first start
        empties an existing log, later (re)starts append to it.
        """
        if name:
            self.name = name
        self.workdir = Path(workdir)
        self.log_path = Path(log_dir or workdir) / f"{self.name}.log"
        self.process: subprocess.Popen | None = None
        self.new_session = new_session
        self._truncate_log = truncate_log

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_kwargs(self) -> dict:
        return {}

    def ready(self) -> bool:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def pids(self) -> list[int]:
        """Return the pids whose memory counts as this service's (nginx: master and workers)."""
        return [self.pid] if self.running() else []

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> bool:
        """Return whether the service is ready, treating a refused or reset connection as not ready."""
        try:
            return bool(self.ready())
        except (OSError, subprocess.SubprocessError):
            return False

    def start(self, timeout: float = 60, *, progress: Progress | None = None, progress_every: float = 15) -> None:
        self.spawn()
        self.wait_ready(timeout, progress=progress, progress_every=progress_every)

    def wait_ready(self, timeout: float = 60, *, progress: Progress | None = None, progress_every: float = 15) -> None:
        """Poll until the service answers; raise RuntimeError with its log when it exits or times out."""
        started = time.monotonic()
        deadline, next_report = started + timeout, started + progress_every
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail(self.log_path)}")
            with contextlib.suppress(Exception):
                if self.ready():
                    return
            now = time.monotonic()
            if now >= deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{tail(self.log_path)}")
            if progress is not None and now >= next_report:
                progress(f"{self.name}: not answering yet after {now - started:.0f} s (waiting up to {timeout:.0f} s)")
                next_report = now + progress_every
            time.sleep(self.poll_interval)

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready."""
        kwargs = {"cwd": self.workdir, **self.popen_kwargs()}
        mode = "wb" if self._truncate_log else "ab"
        self._truncate_log = False
        with open(self.log_path, mode) as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=self.new_session,
                **kwargs,
            )

    def stop(self, timeout: float | None = None) -> None:
        """Stop politely with ``stop_signal``; SIGKILL the process and its children if it does not go."""
        if not self.running():
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def kill9(self) -> None:
        """Kill the process and its children with SIGKILL, as a crash would."""
        if self.process is None:
            return
        for pid in [self.pid, *children_of(self.pid)]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


def start_on_free_port(
    make: Callable[[int], Service], *, attempts: int = 3, timeout: float = 60, progress: Progress | None = None
) -> Service:
    """Start ``make(port)`` on a free port and return it once it answers.

    Between choosing a free port and binding it another process may take it (other runs share the
    machine), so a server that dies with "Address already in use" is tried again on a new port.
    """
    for attempt in range(attempts):
        service = make(free_port())
        try:
            service.start(timeout, progress=progress)
        except RuntimeError:
            service.stop()
            if attempt + 1 < attempts and "already in use" in tail(service.log_path):
                continue
            raise
        return service
    raise AssertionError("unreachable")


class Postgres(Service):
    """A PostgreSQL cluster in ``workdir/pgdata``, listening on 127.0.0.1 only, trust authentication.

    ``settings`` are passed as ``-c name=value``; ``throwaway`` makes initdb skip fsync (tests).
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # PostgreSQL's "fast" shutdown

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        durable: bool = True,
        settings: dict[str, str] | None = None,
        throwaway: bool = False,
        bindir: Path | None = None,
        password: str | None = None,
        **options,
    ):
        super().__init__(workdir, **options)
        self.port = port
        self.durable = durable
        self.throwaway = throwaway
        self.password = password
        self.settings = {"max_connections": "300", "shared_buffers": "256MB"} if settings is None else dict(settings)
        self.datadir = self.workdir / "pgdata"
        self.sockdir = self.workdir / "pgsock"
        self.bindir = bindir or self.find_bindir()

    @staticmethod
    def find_bindir() -> Path:
        bindir = find_postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL not found (apt-get install postgresql)")
        return bindir

    def as_postgres(self) -> dict:
        return run_as_postgres()

    def popen_kwargs(self) -> dict:
        return self.as_postgres()

    @property
    def url(self) -> str:
        credentials = f"{DB_USER}:{self.password}" if self.password else DB_USER
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{DB_NAME}"

    def initdb(self) -> None:
        """Create the cluster unless the folder already holds one."""
        self.sockdir.mkdir(exist_ok=True)
        self.log_path.touch()
        if self.as_postgres():
            for path in (self.workdir, self.sockdir, self.log_path):
                shutil.chown(path, "postgres", "postgres")
        if (self.datadir / "PG_VERSION").exists():
            return
        command = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            DB_USER,
            "-E",
            "UTF8",
            "--no-locale",
            "--auth=trust",
        ]
        if self.throwaway:
            command.append("--no-sync")
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=self.workdir, stdin=subprocess.DEVNULL, **self.as_postgres()
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def createdb(self) -> None:
        result = subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, DB_NAME],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"createdb failed: {result.stderr}")

    def init(self) -> None:
        """Create the cluster and the database unless the folder already holds them (starts the server)."""
        if (self.datadir / "PG_VERSION").exists():
            self.initdb()  # the socket folder and ownership only
            return
        self.initdb()
        self.start()
        self.createdb()

    def command(self) -> list[str]:
        command = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.datadir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.sockdir),
        ]
        for name, value in self.settings.items():
            command += ["-c", f"{name}={value}"]
        if not self.durable and "synchronous_commit" not in self.settings:
            # Throwaway benchmark databases only: a crash of the machine may lose the last commits.
            command += ["-c", "synchronous_commit=off"]
        return command

    def ready(self) -> bool:
        return (
            subprocess.run(
                [
                    str(self.bindir / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    DB_USER,
                    "-d",
                    "postgres",
                ],
                stdin=subprocess.DEVNULL,
            ).returncode
            == 0
        )

    def start(self, timeout: float = 60, **kwargs) -> None:
        if not self.running():
            super().start(timeout, **kwargs)


class Redis(Service):
    """redis-server on 127.0.0.1 without persistence; ``options`` are extra command-line arguments."""

    name = "redis"

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        binary: str | None = None,
        options: list[str] | None = None,
        **service_options,
    ):
        super().__init__(workdir, **service_options)
        self.port = port
        self.binary = binary or shutil.which("redis-server") or "/usr/bin/redis-server"
        # Production's default: many sockets, and pub/sub clients may lag behind a burst.
        self.options = (
            ["--maxclients", "10000", "--client-output-buffer-limit", "pubsub", "64mb", "16mb", "60"]
            if options is None
            else list(options)
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        # Only the channel layer and the cache live here: nothing to persist.
        return [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            *self.options,
        ]

    def ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")


# Websocket protocol pings (seconds): what keeps a chat page's socket and drops a dead or unreading peer.
# 50 s rather than daphne's 20 s: daphne sends the pings that are due every 2 s in one go, ~1,400 per
# process at 15,000 silent sockets with 20 s, which held its event loop for 100-170 ms each time (p99
# 314 ms at 30,000 pages; with 50 s, 107 ms: docs/benchmarks.md, issue 16). Under the 60 s idle limit
# of common load balancers; a dead peer is dropped within 50 + 30 + 2 s.
PING_INTERVAL = 50
PING_TIMEOUT = 30


class Daphne(Service):
    """daphne serving ``application`` from the project folder, on a TCP port or (``unix``) a unix socket.

    ``behind_proxy`` (production): a listen backlog of 1024, X-Forwarded-For trusted, a 60 s websocket
    handshake timeout and no access log. Otherwise daphne's defaults with ``-b``/``-p`` (the tests).
    ``ping_interval``/``ping_timeout``: daphne's websocket protocol pings, 50 s and 30 s by default
    (PING_INTERVAL, PING_TIMEOUT): a socket that sent nothing for ``ping_interval`` s gets a ping and is
    dropped when neither the pong nor any other frame comes back within ``ping_timeout`` s. Browsers
    answer them by themselves; the chat pages rely on them (docs/protocol.md, keepalives).
    The child's environment is ``base_env`` (default: ours) with ``env`` laid over it.
    """

    name = "daphne"

    def __init__(
        self,
        workdir: Path,
        port: int,
        env: dict,
        *,
        index: int = 0,
        application: str = "portal.asgi:application",
        unix: bool = False,
        behind_proxy: bool = True,
        base_env: dict | None = None,
        binary: str = DAPHNE,
        name: str | None = None,
        ping_interval: int | None = None,
        ping_timeout: int | None = None,
        **options,
    ):
        super().__init__(workdir, name=name or f"daphne-{index}-{port}", **options)
        self.binary = binary
        self.port = port
        self.env = env
        self.base_env = base_env
        self.application = application
        self.behind_proxy = behind_proxy
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        # Behind nginx, a unix socket: the proxy's connections to daphne then take no TCP ports, which
        # otherwise run out near 28,000 per backend port (and compete with clients' ports on loopback).
        self.socket_path = self.workdir / f"daphne-{index}.sock" if unix else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else f"127.0.0.1:{self.port}"

    def ping_options(self) -> list[str]:
        interval = PING_INTERVAL if self.ping_interval is None else self.ping_interval
        timeout = PING_TIMEOUT if self.ping_timeout is None else self.ping_timeout
        return ["--ping-interval", str(interval), "--ping-timeout", str(timeout)]

    def command(self) -> list[str]:
        if not self.behind_proxy:
            return [self.binary, "-b", "127.0.0.1", "-p", str(self.port), *self.ping_options(), self.application]
        # An endpoint string rather than -b/-p for its backlog: Twisted listens with 50, and a burst of
        # reconnects (a restart, a dead sibling process) overflows that and gets connections reset.
        if self.socket_path:
            endpoint = f"unix:{self.socket_path}:mode=666:lockfile=0:backlog=1024"
        else:
            endpoint = f"tcp:port={self.port}:interface=127.0.0.1:backlog=1024"
        # --websocket_connect_timeout: daphne drops a handshake the application has not accepted within 5 s
        # by default; when thousands of pages (re)connect at once, accepting them (session, user and
        # conversation from the database) takes longer than that, and the drops cascade at the proxy.
        return [
            self.binary,
            "-e",
            endpoint,
            "--proxy-headers",
            "--websocket_connect_timeout",
            "60",
            "-v",
            "1",
            "--access-log",
            os.devnull,
            *self.ping_options(),
            self.application,
        ]

    def spawn(self) -> None:
        if self.socket_path:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()  # left by a SIGKILL
        super().spawn()

    def popen_kwargs(self) -> dict:
        env = dict(os.environ if self.base_env is None else self.base_env)
        env.update({k: str(v) for k, v in self.env.items()})
        env.setdefault("PYTHONUNBUFFERED", "1")
        return {"env": env, "cwd": PROJECT_DIR}

    def ready(self) -> bool:
        if self.socket_path:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/")
        if not port_is_open(self.port):
            return False
        return http_answers(self.url + "/")
