"""The production setup on loopback: PostgreSQL, Redis and K daphne processes behind nginx.

``deploy/run-prod.sh`` (``make run-prod``) runs this module to serve the portal; the benchmarks and fault
drills in bench/ import it to start the same setup and to kill and restart single services in it. The
services themselves are deploy/processes.py's, which the test suite's throwaway services use as well.

Every service runs in the foreground as our child, in one work folder: throwaway (a temporary folder,
removed at the end) or persistent (``var/prod/``: the database survives restarts). PostgreSQL runs as the
``postgres`` system user when we are root, because it refuses to run as root.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python deploy/stack.py` (deploy/run-prod.sh)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Re-exported: bench/ imports these from here.
from deploy.processes import (  # noqa: E402, F401
    DAPHNE,
    DB_NAME,
    DB_USER,
    PROJECT_DIR,
    PYTHON,
    Daphne,
    Postgres,
    Redis,
    Service,
    children_of,
    cpu_seconds,
    free_port,
    port_is_open,
    raise_nofile_limit,
    rss_kib,
    tail,
)

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


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
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "365",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
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
            "UPSTREAM_SERVERS": "\n".join(f"        server {upstream} max_fails=0;" for upstream in self.upstreams),
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

    def __init__(
        self,
        *,
        daphnes: int = 2,
        port: int | None = None,
        tls_port: int | None = None,
        workdir: Path | None = None,
        durable: bool = True,
        layer: str | None = None,
        env: dict | None = None,
        nginx_workers: int = 4,
        debug: bool = False,
        application: str = "portal.asgi:application",
        daphne_options: dict | None = None,
    ):
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
        self.daphnes = [
            Daphne(self.workdir, free_port(), {}, index=i, application=application, unix=True, **(daphne_options or {}))
            for i in range(daphnes)
        ]
        self.nginx = Nginx(
            self.workdir,
            port or free_port(),
            tls_port or free_port(),
            [d.upstream for d in self.daphnes],
            workers=nginx_workers,
        )

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
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=child,
            capture_output=capture,
            text=True,
            stdin=subprocess.DEVNULL,
        )
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
    parser.add_argument(
        "--tls-port", type=int, default=int(os.environ.get("TLS_PORT", "8443")), help="nginx HTTPS port"
    )
    parser.add_argument("--throwaway", action="store_true", help="temporary folder instead of var/prod/")
    parser.add_argument(
        "--layer", choices=["core", "pubsub"], help="channels-redis layer (default: the settings' choice)"
    )
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
        log(
            f"Serving https://localhost:{args.tls_port}/ (self-signed certificate) and http://127.0.0.1:{args.port}/ "
            f"through nginx to {len(stack.daphnes)} daphne processes; Ctrl-C stops everything"
        )
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
