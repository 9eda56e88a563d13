"""Throwaway services for tests: redis-server, PostgreSQL and daphne on free loopback ports.

Each helper is a context manager that starts the service in a temporary folder, waits until it answers,
yields its URL and always stops it and removes the folder, also when the body fails. The processes are
run by deploy/processes.py, the supervisor `make run-prod` and the benchmarks use too; this module adds
the tests' options (no fsync, free ports, logs under var/test-logs/) and the skip-or-fail rule below.

A missing binary skips the test on a developer machine and fails it in CI (``CI`` or ``REQUIRE_SERVICES``
set), so a CI machine without PostgreSQL cannot go green by skipping.

The module is also a small command-line tool used by ``make test``::

    python -m tests.services postgres [redis] -- COMMAND...

starts the named services, exports ``DATABASE_URL`` / ``REDIS_URL``, runs COMMAND, stops the services
and exits with COMMAND's exit code.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.processes import (
    PROJECT_DIR,
    Daphne,
    Postgres,
    Redis,
    find_postgres_bindir,
    find_redis_server,
    free_port,
    port_is_open,
    run_as_postgres,
    start_on_free_port,
)

__all__ = [
    "PROJECT_DIR",
    "daphne_server",
    "find_postgres_bindir",
    "find_redis_server",
    "free_port",
    "manage",
    "missing",
    "port_is_open",
    "postgres_server",
    "redis_server",
    "service_env",
    "services_required",
]

LOG_DIR = PROJECT_DIR / "var" / "test-logs"

POSTGRES_USER = "zwt"
POSTGRES_PASSWORD = "zwt-test"
POSTGRES_DB = "zwt"
# A throwaway cluster: nothing needs to survive a crash, so no fsync and no full-page writes.
POSTGRES_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}

Progress = Callable[[str], None]


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


# The test processes share the test run's process group (unlike production's): a CI timeout or Ctrl-C
# reaches them as well, and pytest's teardown stops them in any case.
TEST_PROCESS = {"new_session": False, "truncate_log": True}


# Redis --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server on a free loopback port; yield ``redis://127.0.0.1:PORT/0``."""
    binary = find_redis_server()
    if binary is None:
        missing("找不到 redis-server（apt-get install redis-server）/ redis-server not found")
    workdir = Path(tempfile.mkdtemp(prefix="zwt-redis-"))
    server = None
    try:
        server = start_on_free_port(
            lambda port: Redis(
                workdir, port, binary=binary, options=["--protected-mode", "yes"], name=f"redis-{port}", **TEST_PROCESS
            ),
            timeout=30,
        )
        yield server.url
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# PostgreSQL ---------------------------------------------------------------------------------------
def _run_as_postgres_kwargs() -> dict:
    """PostgreSQL refuses to run as root: as root, run its binaries as the ``postgres`` system user."""
    try:
        return run_as_postgres()
    except KeyError:
        missing(
            "以 root 运行时需要 postgres 系统用户（apt-get install postgresql）/ no 'postgres' system user to run PostgreSQL as"
        )
        raise AssertionError("unreachable") from None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL on a free loopback port; yield ``postgres://USER:PASSWORD@127.0.0.1:PORT/DB``.

    The cluster is made with initdb in a temporary folder (trust authentication, loopback only, fsync off)
    and owns one database; the user is a superuser, so pytest-django can create its test database.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        missing("找不到 PostgreSQL（initdb/postgres；apt-get install postgresql）/ PostgreSQL binaries not found")
    _run_as_postgres_kwargs()
    workdir = Path(tempfile.mkdtemp(prefix="zwt-postgres-"))
    server = None

    def make(port: int) -> Postgres:
        return Postgres(
            workdir,
            port,
            settings=POSTGRES_SETTINGS,
            throwaway=True,
            bindir=bindir,
            password=POSTGRES_PASSWORD,
            name=f"postgres-{port}",
            **TEST_PROCESS,
        )

    try:
        make(0).initdb()
        server = start_on_free_port(make, timeout=30)
        server.createdb()
        yield server.url
    finally:
        if server is not None:
            server.stop()  # SIGINT, PostgreSQL's "fast" shutdown: disconnect clients, stop at once
        shutil.rmtree(workdir, ignore_errors=True)


# daphne -------------------------------------------------------------------------------------------
def find_daphne() -> str:
    for candidate in (Path(sys.executable).with_name("daphne"), PROJECT_DIR / ".venv" / "bin" / "daphne"):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    missing("找不到 daphne（先运行 make test 安装依赖）/ daphne not found in the virtualenv")
    raise AssertionError("unreachable")


def service_env(env: dict | None = None) -> dict:
    """Return a child environment: ours without a DATABASE_URL/REDIS_URL we did not ask for, plus ``env``."""
    child = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child.update({k: str(v) for k, v in (env or {}).items()})
    child.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def manage(
    *args: str,
    env: dict | None = None,
    check: bool = True,
    timeout: float = 300,
    input: str | None = None,
    progress: Progress | None = None,
    progress_every: float = 30,
) -> subprocess.CompletedProcess:
    """Run ``manage.py ARGS`` in a child process with ``env`` (see ``service_env``); return its result.

    With ``check`` a non-zero exit fails with the command's output, which is what a test wants to read.
    ``progress`` is called every ``progress_every`` seconds while the command runs (a slow machine).
    """
    command = [sys.executable, "manage.py", *args]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env=service_env(env),
        text=True,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started = time.monotonic()
    pending_input = input
    while True:
        waited = time.monotonic() - started
        try:
            stdout, stderr = process.communicate(pending_input, timeout=max(0.1, min(progress_every, timeout - waited)))
            break
        except subprocess.TimeoutExpired:
            pending_input = None  # communicate() sent it already
            waited = time.monotonic() - started
            if waited >= timeout:
                process.kill()
                process.communicate()
                raise subprocess.TimeoutExpired(command, timeout) from None
            if progress is not None:
                progress(f"manage.py {' '.join(args)}: still running after {waited:.0f} s (limit {timeout:.0f} s)")
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result


@contextlib.contextmanager
def daphne_server(
    env: dict, port: int | None = None, *, timeout: float = 60, progress: Progress | None = None
) -> Iterator[str]:
    """Run ``daphne portal.asgi:application`` on 127.0.0.1 with ``env``; yield its base URL.

    ``env`` is laid over the test process's environment minus DATABASE_URL and REDIS_URL (pass them to
    use them). The log goes to var/test-logs/daphne-PORT.log and stays there for reading after a failure.
    It waits up to ``timeout`` seconds for the first answer, calling ``progress`` now and then.
    """
    binary = find_daphne()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    server = None

    def make(chosen: int) -> Daphne:
        return Daphne(
            LOG_DIR,
            chosen,
            {},
            base_env=service_env(env),
            behind_proxy=False,
            binary=binary,
            name=f"daphne-{chosen}",
            log_dir=LOG_DIR,
            **TEST_PROCESS,
        )

    try:
        if port:
            server = make(port)
            server.start(timeout, progress=progress)
        else:
            server = start_on_free_port(make, timeout=timeout, progress=progress)
        yield server.url
    finally:
        if server is not None:
            server.stop()


# Command line -------------------------------------------------------------------------------------
SERVICES = {"postgres": (postgres_server, "DATABASE_URL"), "redis": (redis_server, "REDIS_URL")}


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == 0 or argv.index("--") == len(argv) - 1:
        print("usage: python -m tests.services {postgres,redis}... -- COMMAND...", file=sys.stderr)
        return 2
    split = argv.index("--")
    names, command = argv[:split], argv[split + 1 :]
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
