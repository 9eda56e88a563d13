"""Throwaway services for tests: redis-server, PostgreSQL and daphne on free loopback ports.

Each helper is a context manager that starts the service in a temporary folder, waits until it answers,
yields its URL and always stops it and removes the folder, also when the body fails.

A missing binary skips the test on a developer machine and fails it in CI (``CI`` or ``REQUIRE_SERVICES``
set), so a CI machine without PostgreSQL cannot go green by skipping.

The module is also a small command-line tool used by ``make test``::

    python -m tests.services postgres [redis] -- COMMAND...

starts the named services, exports ``DATABASE_URL`` / ``REDIS_URL``, runs COMMAND, stops the services
and exits with COMMAND's exit code.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = PROJECT_DIR / "var" / "test-logs"

POSTGRES_USER = "zwt"
POSTGRES_PASSWORD = "zwt-test"
POSTGRES_DB = "zwt"


# Helpers ------------------------------------------------------------------------------------------
def services_required() -> bool:
    """Return whether a missing service must fail rather than skip (in CI, or REQUIRE_SERVICES=1)."""
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"} for name in ("CI", "REQUIRE_SERVICES")
    )


def missing(message: str) -> None:
    """Skip the current test because a service is missing, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{message} (CI / REQUIRE_SERVICES is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a process we started: polite signal first, SIGKILL if it does not go."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=timeout)


def _wait_until(check, *, process: subprocess.Popen, what: str, log: Path, timeout: float = 30) -> None:
    """Poll ``check()`` until it returns true; raise with the service's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready:\n{_tail(log)}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready after {timeout:.0f} s:\n{_tail(log)}")


def _launch(start, ready, *, what: str, log_for, port: int | None = None, timeout: float = 30):
    """Start a server with ``start(port)``, wait for ``ready(port)``; return ``(process, port)``.

    Between choosing a free port and binding it another process may take it (other test runs share
    the machine), so a server that dies with "Address already in use" is retried on a new port.
    """
    attempts = 1 if port else 3
    for attempt in range(attempts):
        chosen = port or free_port()
        process = start(chosen)
        try:
            _wait_until(lambda: ready(chosen), process=process, what=what, log=log_for(chosen), timeout=timeout)
        except RuntimeError:
            _stop(process)
            if attempt + 1 < attempts and "already in use" in _tail(log_for(chosen)):
                continue
            raise
        return process, chosen
    raise AssertionError("unreachable")


# Redis --------------------------------------------------------------------------------------------
def find_redis_server() -> str | None:
    """Return the redis-server binary: $REDIS_SERVER, or the one on PATH."""
    candidate = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
    return candidate if candidate and os.access(candidate, os.X_OK) else None


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server on a free loopback port; yield ``redis://127.0.0.1:PORT/0``."""
    binary = find_redis_server()
    if binary is None:
        missing("找不到 redis-server（apt-get install redis-server）/ redis-server not found")
    workdir = Path(tempfile.mkdtemp(prefix="zwt-redis-"))
    process = None

    def log_for(port: int) -> Path:
        return workdir / f"redis-{port}.log"

    def start(port: int) -> subprocess.Popen:
        with open(log_for(port), "wb") as out:
            return subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir,
            )

    try:
        process, port = _launch(start, _redis_ping, what="redis-server", log_for=log_for)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


# PostgreSQL ---------------------------------------------------------------------------------------
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


def _run_as_postgres_kwargs() -> dict:
    """PostgreSQL refuses to run as root: as root, run its binaries as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return {}
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        missing("以 root 运行时需要 postgres 系统用户（apt-get install postgresql）/ no 'postgres' system user to run PostgreSQL as")
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL on a free loopback port; yield ``postgres://USER:PASSWORD@127.0.0.1:PORT/DB``.

    The cluster is made with initdb in a temporary folder (trust authentication, loopback only, fsync off)
    and owns one database; the user is a superuser, so pytest-django can create its test database.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        missing("找不到 PostgreSQL（initdb/postgres；apt-get install postgresql）/ PostgreSQL binaries not found")
    as_postgres = _run_as_postgres_kwargs()
    workdir = Path(tempfile.mkdtemp(prefix="zwt-postgres-"))
    datadir, sockdir = workdir / "data", workdir / "sock"
    sockdir.mkdir()
    if as_postgres:
        for path in (workdir, sockdir):
            shutil.chown(path, "postgres", "postgres")
    process = None
    try:
        initdb = subprocess.run(
            [str(bindir / "initdb"), "-D", str(datadir), "-U", POSTGRES_USER, "-E", "UTF8", "--no-locale",
             "--auth=trust", "--no-sync"],
            capture_output=True, text=True, cwd=workdir, stdin=subprocess.DEVNULL, **as_postgres,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")

        def log_for(port: int) -> Path:
            return workdir / f"postgres-{port}.log"

        def start(port: int) -> subprocess.Popen:
            with open(log_for(port), "wb") as out:
                return subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(datadir), "-h", "127.0.0.1", "-p", str(port),
                     "-k", str(sockdir), "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off", "-c", "max_connections=200"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir, **as_postgres,
                )

        def ready(port: int) -> bool:
            return subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", POSTGRES_USER,
                 "-d", "postgres"],
                stdin=subprocess.DEVNULL,
            ).returncode == 0

        process, port = _launch(start, ready, what="PostgreSQL", log_for=log_for)
        created = subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", POSTGRES_USER, POSTGRES_DB],
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )
        if created.returncode != 0:
            raise RuntimeError(f"createdb failed: {created.stderr}")
        yield f"postgres://{POSTGRES_USER}:{POSTGRES_PASSWORD}@127.0.0.1:{port}/{POSTGRES_DB}"
    finally:
        if process is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, stop at once.
            _stop(process, signal.SIGINT)
        shutil.rmtree(workdir, ignore_errors=True)


# daphne -------------------------------------------------------------------------------------------
def find_daphne() -> str:
    for candidate in (Path(sys.executable).with_name("daphne"), PROJECT_DIR / ".venv" / "bin" / "daphne"):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    missing("找不到 daphne（先运行 make test 安装依赖）/ daphne not found in the virtualenv")
    raise AssertionError("unreachable")


def _http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is up


def service_env(env: dict | None = None) -> dict:
    """Return a child environment: ours without a DATABASE_URL/REDIS_URL we did not ask for, plus ``env``."""
    child = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child.update({k: str(v) for k, v in (env or {}).items()})
    child.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def manage(*args: str, env: dict | None = None, check: bool = True, timeout: float = 300,
           input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``manage.py ARGS`` in a child process with ``env`` (see ``service_env``); return its result.

    With ``check`` a non-zero exit fails with the command's output, which is what a test wants to read.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=service_env(env), input=input,
        capture_output=True, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result


@contextlib.contextmanager
def daphne_server(env: dict, port: int | None = None) -> Iterator[str]:
    """Run ``daphne portal.asgi:application`` on 127.0.0.1 with ``env``; yield its base URL.

    ``env`` is laid over the test process's environment minus DATABASE_URL and REDIS_URL (pass them to
    use them). The log goes to var/test-logs/daphne-PORT.log and stays there for reading after a failure.
    """
    daphne = find_daphne()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    child_env = service_env(env)
    process = None

    def log_for(port: int) -> Path:
        return LOG_DIR / f"daphne-{port}.log"

    def start(port: int) -> subprocess.Popen:
        with open(log_for(port), "wb") as out:
            return subprocess.Popen(
                [daphne, "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=PROJECT_DIR, env=child_env,
            )

    try:
        process, port = _launch(
            start, lambda port: _http_answers(f"http://127.0.0.1:{port}/"), what="daphne", log_for=log_for,
            port=port, timeout=60,
        )
        base_url = f"http://127.0.0.1:{port}"
        yield base_url
    finally:
        if process is not None:
            _stop(process)


# Command line -------------------------------------------------------------------------------------
SERVICES = {"postgres": (postgres_server, "DATABASE_URL"), "redis": (redis_server, "REDIS_URL")}


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == 0 or argv.index("--") == len(argv) - 1:
        print("usage: python -m tests.services {postgres,redis}... -- COMMAND...", file=sys.stderr)
        return 2
    split = argv.index("--")
    names, command = argv[:split], argv[split + 1:]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    # Let `kill` (or make being stopped) run the clean-up below instead of orphaning the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with contextlib.ExitStack() as stack:
            for name in names:
                start, variable = SERVICES[name]
                env[variable] = stack.enter_context(start())
                print(f"==> {name} is up: {variable}={env[variable]}", flush=True)
            # Not exec: the services must be stopped after the command, whatever its result. While it
            # runs, signals go to the command, so pytest tears its own fixtures down before we stop ours.
            child = subprocess.Popen(command, env=env)
            signal.signal(signal.SIGTERM, lambda signum, _: child.send_signal(signum))
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the command through the terminal
            return child.wait()
    except pytest.skip.Exception as skip:
        print(f"==> NOTICE: skipped, {skip.msg}. Install it to run this stage.", flush=True)
        return 0
    except pytest.fail.Exception as failure:
        print(f"==> ERROR: {failure.msg}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
