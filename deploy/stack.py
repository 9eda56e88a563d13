"""The production setup on loopback: PostgreSQL, Redis and K daphne processes behind nginx.

``deploy/run-prod.sh`` (``make run-prod``) runs this module to serve the portal; the benchmarks and fault
drills in bench/ import it to start the same setup and to kill and restart single services in it.

Every service runs in the foreground as our child, in one work folder: throwaway (a temporary folder,
removed at the end) or persistent (``var/prod/``: the database survives restarts). PostgreSQL runs as the
``postgres`` system user when we are root, because it refuses to run as root.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = str(PROJECT_DIR / ".venv" / "bin" / "python") if (PROJECT_DIR / ".venv" / "bin" / "python").exists() else sys.executable
DAPHNE = str(Path(PYTHON).with_name("daphne"))
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
DB_USER = DB_NAME = "zwt"


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def raise_nofile_limit() -> int:
    """Raise the soft open-file limit to the hard limit (children inherit it); return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
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


class Service:
    """One foreground child process with its log; it can be stopped, killed with SIGKILL and restarted."""

    name = "service"
    stop_signal = signal.SIGTERM

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.log_path = workdir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

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

    def start(self, timeout: float = 60) -> None:
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail(self.log_path)}")
            with contextlib.suppress(Exception):
                if self.ready():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{tail(self.log_path)}")

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready."""
        kwargs = {"cwd": self.workdir, **self.popen_kwargs()}
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, **kwargs,
            )

    def stop(self, timeout: float = 20) -> None:
        if not self.running():
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
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


class Postgres(Service):
    name = "postgres"
    stop_signal = signal.SIGINT  # PostgreSQL's "fast" shutdown

    def __init__(self, workdir: Path, port: int, *, durable: bool = True):
        super().__init__(workdir)
        self.port = port
        self.durable = durable
        self.datadir = workdir / "pgdata"
        self.sockdir = workdir / "pgsock"
        self.bindir = self.find_bindir()

    @staticmethod
    def find_bindir() -> Path:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
        if shutil.which("initdb"):
            candidates.append(str(Path(shutil.which("initdb")).resolve().parent))
        for folder in candidates:
            if all(os.access(Path(folder) / n, os.X_OK) for n in ("initdb", "postgres", "pg_isready", "createdb")):
                return Path(folder)
        raise RuntimeError("PostgreSQL not found (apt-get install postgresql)")

    def as_postgres(self) -> dict:
        if os.geteuid() != 0:
            return {}
        pwd.getpwnam("postgres")  # KeyError: PostgreSQL is not installed the Debian way
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def popen_kwargs(self) -> dict:
        return self.as_postgres()

    @property
    def url(self) -> str:
        return f"postgres://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def init(self) -> None:
        """Create the cluster and the database unless the folder already holds them."""
        self.sockdir.mkdir(exist_ok=True)
        self.log_path.touch()
        if self.as_postgres():
            for path in (self.workdir, self.sockdir, self.log_path):
                shutil.chown(path, "postgres", "postgres")
        if (self.datadir / "PG_VERSION").exists():
            return
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", DB_USER, "-E", "UTF8", "--no-locale",
             "--auth=trust"],
            check=True, capture_output=True, cwd=self.workdir, stdin=subprocess.DEVNULL, **self.as_postgres(),
        )
        self.start()
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, DB_NAME],
            check=True, capture_output=True, stdin=subprocess.DEVNULL,
        )

    def command(self) -> list[str]:
        command = [
            str(self.bindir / "postgres"), "-D", str(self.datadir), "-h", "127.0.0.1", "-p", str(self.port),
            "-k", str(self.sockdir), "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        ]
        if not self.durable:
            # Throwaway benchmark databases only: a crash of the machine may lose the last commits.
            command += ["-c", "synchronous_commit=off"]
        return command

    def ready(self) -> bool:
        return subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, "-d", "postgres"],
            stdin=subprocess.DEVNULL,
        ).returncode == 0

    def start(self, timeout: float = 60) -> None:
        if not self.running():
            super().start(timeout)


class Redis(Service):
    name = "redis"

    def __init__(self, workdir: Path, port: int):
        super().__init__(workdir)
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        # Only the channel layer and the cache live here: nothing to persist.
        return [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--maxclients", "10000",
                "--client-output-buffer-limit", "pubsub", "64mb", "16mb", "60"]

    def ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")


class Daphne(Service):
    name = "daphne"

    def __init__(self, workdir: Path, port: int, env: dict, *, index: int = 0,
                 application: str = "portal.asgi:application", unix: bool = False):
        self.name = f"daphne-{index}-{port}"
        super().__init__(workdir)
        self.port = port
        self.env = env
        self.application = application
        # Behind nginx, a unix socket: the proxy's connections to daphne then take no TCP ports, which
        # otherwise run out near 28,000 per backend port (and compete with clients' ports on loopback).
        self.socket_path = workdir / f"daphne-{index}.sock" if unix else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        # An endpoint string rather than -b/-p for its backlog: Twisted listens with 50, and a burst of
        # reconnects (a restart, a dead sibling process) overflows that and gets connections reset.
        if self.socket_path:
            endpoint = f"unix:{self.socket_path}:mode=666:lockfile=0:backlog=1024"
        else:
            endpoint = f"tcp:port={self.port}:interface=127.0.0.1:backlog=1024"
        # --websocket_connect_timeout: daphne drops a handshake the application has not accepted within 5 s
        # by default; when thousands of pages (re)connect at once, accepting them (session, user and
        # conversation from the database) takes longer than that, and the drops cascade at the proxy.
        return [DAPHNE, "-e", endpoint, "--proxy-headers", "--websocket_connect_timeout", "60", "-v", "1",
                "--access-log", os.devnull, self.application]

    def spawn(self) -> None:
        if self.socket_path:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()  # left by a SIGKILL
        super().spawn()

    def popen_kwargs(self) -> dict:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in self.env.items()})
        env.setdefault("PYTHONUNBUFFERED", "1")
        return {"env": env, "cwd": PROJECT_DIR}

    def answers(self) -> bool:
        try:
            return self.ready()
        except OSError:
            return False

    def ready(self) -> bool:
        if self.socket_path:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/")
        if not port_is_open(self.port):
            return False
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means it serves


class Nginx(Service):
    name = "nginx"
    stop_signal = signal.SIGQUIT  # graceful: finish open requests

    def __init__(self, workdir: Path, port: int, tls_port: int, upstreams: list[str], *, workers: int = 4):
        super().__init__(workdir)
        self.port = port
        self.tls_port = tls_port
        self.upstreams = upstreams
        self.workers = workers
        self.config = workdir / "nginx.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self, static_root: Path) -> None:
        (self.workdir / "tls").mkdir(exist_ok=True)
        cert, key = self.workdir / "tls" / "cert.pem", self.workdir / "tls" / "key.pem"
        if not cert.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                check=True, capture_output=True,
            )
        nofile = raise_nofile_limit()
        values = {
            "WORKERS": str(self.workers),
            "NOFILE": str(nofile),
            "WORKER_CONNECTIONS": str(max(1024, nofile - 100)),
            "WORKDIR": str(self.workdir),
            "PORT": str(self.port),
            "TLS_PORT": str(self.tls_port),
            "STATIC_ROOT": str(static_root),
            "UPSTREAM_SERVERS": "\n".join(
                f"        server {upstream} max_fails=0;" for upstream in self.upstreams
            ),
        }
        text = TEMPLATE.read_text()
        for key_, value in values.items():
            text = text.replace(f"@@{key_}@@", value)
        self.config.write_text(text)

    def command(self) -> list[str]:
        return [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(self.config), "-p", str(self.workdir)]

    def pids(self) -> list[int]:
        return [self.pid, *children_of(self.pid)] if self.running() else []

    def ready(self) -> bool:
        return port_is_open(self.port) and port_is_open(self.tls_port)


class Stack:
    """PostgreSQL, Redis, K daphne processes and nginx, started in that order and stopped in reverse."""

    def __init__(self, *, daphnes: int = 2, port: int | None = None, tls_port: int | None = None,
                 workdir: Path | None = None, durable: bool = True, layer: str | None = None,
                 env: dict | None = None, nginx_workers: int = 4, debug: bool = False,
                 application: str = "portal.asgi:application"):
        self.persistent = workdir is not None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="zwt-prod-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        self.postgres = Postgres(self.workdir, free_port(), durable=durable)
        self.redis = Redis(self.workdir, free_port())
        self.debug = debug
        self.extra_env = {k: str(v) for k, v in (env or {}).items()}
        if layer:
            self.extra_env["REDIS_CHANNEL_LAYER"] = layer
        self.daphnes = [Daphne(self.workdir, free_port(), {}, index=i, application=application, unix=True)
                        for i in range(daphnes)]
        self.nginx = Nginx(self.workdir, port or free_port(), tls_port or free_port(),
                           [d.upstream for d in self.daphnes], workers=nginx_workers)

    # Environment ----------------------------------------------------------------------------------
    def secret_key(self) -> str:
        path = self.workdir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()

    def env(self) -> dict:
        """Return the environment of manage.py and daphne: the settings a real deployment sets."""
        env = {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "DEBUG": "1" if self.debug else "0",
            "SECRET_KEY": self.secret_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"https://localhost:{self.nginx.tls_port},https://127.0.0.1:{self.nginx.tls_port}",
            "TRUST_X_FORWARDED_FOR": "1",
            # Plain HTTP stays usable on loopback for curl and the benchmarks; browsers use the TLS port.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_ROOT": str(self.workdir / "static"),
            "REDIS_CHANNEL_LAYER": "pubsub",
        }
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
        child = dict(os.environ)
        child.update(self.env())
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT_DIR, env=child, capture_output=capture,
                                text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    # Life cycle -----------------------------------------------------------------------------------
    def start(self, *, demo: bool = False, quiet: bool = False) -> None:
        say = (lambda _m: None) if quiet else log
        raise_nofile_limit()
        say(f"Work folder {self.workdir} ({'persistent' if self.persistent else 'throwaway'})")
        say(f"PostgreSQL on 127.0.0.1:{self.postgres.port}")
        self.postgres.init()
        self.postgres.start()
        say(f"Redis on 127.0.0.1:{self.redis.port}")
        self.redis.start()
        say("Migrating the database")
        self.manage("migrate", "--noinput")
        say("Collecting static files")
        self.manage("collectstatic", "--noinput", "-v0")
        if demo:
            say("Loading demo data")
            # The published demo passwords on a production configuration: on purpose, for the drills.
            self.manage("seed_demo", *([] if self.debug else ["--force"]))
        for daphne in self.daphnes:
            daphne.env = self.env()
            say(f"daphne on {daphne.socket_path}")
        self.start_daphnes()
        say(f"nginx on 127.0.0.1:{self.nginx.port} (HTTP) and :{self.nginx.tls_port} (HTTPS)")
        self.nginx.render(self.workdir / "static")
        self.nginx.start()

    def start_daphnes(self) -> None:
        # Start them together: each takes a few seconds to import Django.
        for daphne in self.daphnes:
            daphne.spawn()
        for daphne in self.daphnes:
            deadline = time.monotonic() + 60
            while not daphne.answers():
                if daphne.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{daphne.name} did not start:\n{tail(daphne.log_path)}")
                time.sleep(0.1)

    def services(self) -> list[Service]:
        return [self.postgres, self.redis, *self.daphnes, self.nginx]

    def stop(self) -> None:
        for service in reversed(self.services()):
            with contextlib.suppress(Exception):
                service.stop()
        if not self.persistent:
            # Keep the logs for reading after a failure: var/stack-logs/<folder>/.
            logs = PROJECT_DIR / "var" / "stack-logs" / self.workdir.name
            for path in self.workdir.rglob("*.log"):
                logs.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(OSError):
                    shutil.copy(path, logs / "-".join(path.relative_to(self.workdir).parts))
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Stack:
        try:
            self.start(quiet=True)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.nginx.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve 政务通 the production way on loopback (make run-prod).")
    parser.add_argument("--daphnes", type=int, default=int(os.environ.get("DAPHNES", "2")), help="daphne processes (K)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="nginx HTTP port")
    parser.add_argument("--tls-port", type=int, default=int(os.environ.get("TLS_PORT", "8443")), help="nginx HTTPS port")
    parser.add_argument("--throwaway", action="store_true", help="temporary folder instead of var/prod/")
    parser.add_argument("--layer", choices=["core", "pubsub"], help="channels-redis layer (default: the settings' choice)")
    args = parser.parse_args(argv)
    workdir = None if args.throwaway else PROJECT_DIR / "var" / "prod"
    stack = Stack(daphnes=args.daphnes, port=args.port, tls_port=args.tls_port, workdir=workdir, layer=args.layer)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        for port in (args.port, args.tls_port):
            if port_is_open(port):
                raise RuntimeError(f"port {port} is in use; choose another with --port / --tls-port")
        stack.start(demo=True)
        print(stack.manage("demo_logins").stdout, end="", flush=True)
        log(f"Serving https://localhost:{args.tls_port}/ (self-signed certificate) and http://127.0.0.1:{args.port}/ "
            f"through nginx to {len(stack.daphnes)} daphne processes; Ctrl-C stops everything")
        while True:
            for service in stack.services():
                if not service.running():
                    raise RuntimeError(f"{service.name} stopped:\n{tail(service.log_path)}")
            time.sleep(1)
    except KeyboardInterrupt:
        log("Stopping")
        return 0
    except RuntimeError as error:
        print(f"==> ERROR: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        log("Stopped: nginx, daphne, Redis and PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
