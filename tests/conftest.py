"""Fixtures shared by the whole suite: real services, a live daphne server and headless Chromium.

See docs/testing.md. Service fixtures skip when a binary is missing, and fail instead in CI.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.services import (
    PROJECT_DIR,
    daphne_server,
    manage,
    missing,
    postgres_server,
    redis_server,
    services_required,
)
from tests.support.databases import cached_template, copy_sqlite

SCREENSHOT_DIR = PROJECT_DIR / "screenshots"
# Generous limit for building a test database or starting the live server on a busy machine; progress
# lines show what it waits for. TEST_SETUP_TIMEOUT (seconds) overrides it.
SETUP_TIMEOUT = float(os.environ.get("TEST_SETUP_TIMEOUT", "900"))

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
BROWSER_FIXTURES = {"browser", "new_page"}
SERVICE_FIXTURES = {"redis_url", "postgres_url"}
DATABASE_FIXTURES = {"django_db_setup", "db", "transactional_db"}
# A skip whose reason says a service is missing; in CI it becomes a failure. Both parts must match, so a
# deliberate skip such as "only on PostgreSQL" (when the suite runs on SQLite) stays a skip.
SERVICE_NAME = re.compile(r"redis|postgres|chromium|playwright|daphne|nginx|openssl", re.IGNORECASE)
MISSING_WORDS = re.compile(
    r"not found|missing|not installed|could not import|no such file|找不到|未安装", re.IGNORECASE
)


# Hooks --------------------------------------------------------------------------------------------
def pytest_addoption(parser):
    parser.addoption(
        "--db-tests-only",
        action="store_true",
        help="run only tests that use the Django database (the PostgreSQL pass of `make test`)",
    )


def pytest_configure(config):
    # `kill` (a CI timeout, a stopped make) should tear fixtures down like Ctrl-C does, so the services
    # they started do not outlive the run.
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def pytest_collection_modifyitems(config, items):
    """Mark browser and service tests, keep only database tests if asked, run e2e tests last.

    e2e tests go last because Playwright's sync API keeps its own event loop alive for the session,
    which must not overlap with pytest-asyncio's loops in the async tests.
    """
    selected, deselected = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROWSER_FIXTURES and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)
        if fixtures & SERVICE_FIXTURES and not item.get_closest_marker("services"):
            item.add_marker(pytest.mark.services)
        uses_db = item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)
        if config.getoption("--db-tests-only") and not uses_db:
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    selected.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
    items[:] = selected


def pytest_runtest_setup(item):
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & BROWSER_FIXTURES and (fixtures & DATABASE_FIXTURES or item.get_closest_marker("django_db")):
        # Otherwise Django raises SynchronousOnlyOperation from inside Playwright's event loop.
        pytest.fail(
            "e2e tests use the live server's database, not the test database: set up and inspect data "
            "with the live_manage fixture or through the browser, not the db fixture or django_db",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # Kept on the item so fixtures can tell in their teardown whether the test failed (screenshots).
    setattr(item, f"report_{report.when}", report)
    if report.skipped and services_required() and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        if SERVICE_NAME.search(reason) and MISSING_WORDS.search(reason) and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"Skipped for a missing service, which CI does not allow: {reason}"
    return report


# Services -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_url():
    """A throwaway redis-server for the session: ``redis://127.0.0.1:PORT/0``."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL for the session: ``postgres://USER:PASSWORD@127.0.0.1:PORT/DB``."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_postgres_template(postgres_url) -> str:
    """The name of a database migrated once per test process, for fresh_database to copy."""
    base, _, _ = postgres_url.rpartition("/")
    name = f"zwt_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", env={"DATABASE_URL": f"{base}/{name}", "DEBUG": "1"})
    return name


@pytest.fixture
def fresh_database(postgres_url, migrated_postgres_template) -> str:
    """A new, migrated and empty database on the throwaway PostgreSQL, for servers a test starts; its URL.

    Copied from the template (CREATE DATABASE ... TEMPLATE, well under a second) instead of migrating
    each time (ten seconds and more on a busy machine).
    """
    base, _, _ = postgres_url.rpartition("/")
    name = f"zwt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_postgres_template}"')
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def report(request):
    """Print a progress line on the terminal now, also while pytest captures output (slow set-ups)."""
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def say(message: str) -> None:
        if terminal is None:
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            terminal.write_line(f"==> {message}")

    return say


@pytest.fixture(scope="session")
def migrated_sqlite_template(report) -> Path:
    """A SQLite file with every migration applied (var/test-cache/, see tests/support/databases.py).

    Copy it, do not write to it.
    """
    return cached_template(
        "migrated",
        lambda path: manage("migrate", "--noinput", env={"SQLITE_PATH": path}, timeout=SETUP_TIMEOUT, progress=report),
        progress=report,
    )


@pytest.fixture
def migrated_sqlite(migrated_sqlite_template, tmp_path) -> Path:
    """A fresh migrated SQLite file of this test's own, for child processes (``SQLITE_PATH``)."""
    return copy_sqlite(migrated_sqlite_template, tmp_path / "db.sqlite3")


# Live server --------------------------------------------------------------------------------------
LIVE_SERVER_ENV = {"DEBUG": "1", "FAST_PASSWORD_HASHER": "1"}


@pytest.fixture(scope="session")
def seeded_sqlite_template(migrated_sqlite_template, report) -> Path:
    """A migrated SQLite file with ``seed_demo`` loaded, built once per code version (var/test-cache/)."""

    def build(path: Path) -> None:
        copy_sqlite(migrated_sqlite_template, path)
        manage("seed_demo", env={**LIVE_SERVER_ENV, "SQLITE_PATH": path}, timeout=SETUP_TIMEOUT, progress=report)

    return cached_template("seeded", build, progress=report)


@pytest.fixture(scope="session")
def live_server_env(seeded_sqlite_template, tmp_path_factory) -> dict:
    """The environment of the live daphne server: its own copy of the demo database."""
    path = copy_sqlite(seeded_sqlite_template, tmp_path_factory.mktemp("live-server") / "db.sqlite3")
    return {**LIVE_SERVER_ENV, "SQLITE_PATH": str(path)}


@pytest.fixture(scope="session")
def live_server_url(live_server_env, report) -> str:
    """Base URL of a real daphne process serving the portal over the demo data, for the whole session.

    Every e2e test shares its database: make the data a test needs unique to it (a fresh citizen).
    On a loaded machine daphne may take long to import Django: it is polled, with a progress line every
    15 s, for up to SETUP_TIMEOUT seconds; it fails at once if daphne exits.
    """
    with daphne_server(live_server_env, timeout=SETUP_TIMEOUT, progress=report) as url:
        yield url


@pytest.fixture(scope="session")
def live_manage(live_server_env):
    """Run ``manage.py`` against the live server's database, e.g. ``live_manage("shell", "-c", code)``.

    e2e tests set up and inspect data this way: the database belongs to the daphne process, and
    Playwright's sync API forbids Django's ORM in the test process anyway.
    """

    def run(*args: str, **kwargs):
        return manage(*args, env=live_server_env, **kwargs)

    return run


# Browser ------------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """Return the system Chromium: $CHROMIUM, or the Debian/Ubuntu names on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = candidate and shutil.which(candidate)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium driven by Playwright's sync API, for the whole session."""
    executable = find_chromium()
    if executable is None:
        missing("找不到 Chromium（apt-get install chromium）/ chromium not found")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("未安装 playwright（pip install -r requirements.txt）/ playwright is not installed")
    expect.set_options(timeout=10_000)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser, live_server_url, request):
    """Factory: ``new_page("phone")`` or ``new_page("desktop")`` opens a page in a fresh browser context.

    Each call is a separate person (own cookies), so a citizen and an officer are two calls. Relative
    URLs go to the live server: ``page.goto("/")``. If the test fails, every page is saved to
    screenshots/ and the JavaScript errors it saw are printed.
    """
    contexts, pages, js_errors = [], [], []

    def make(kind: str = "desktop"):
        if kind not in VIEWPORTS:
            raise ValueError(f"kind must be one of {sorted(VIEWPORTS)}, not {kind!r}")
        context = browser.new_context(
            base_url=live_server_url, locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[kind]
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error, n=len(pages): js_errors.append(f"page {n}: {error}"))  # noqa: B008
        pages.append(page)
        return page

    yield make

    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, page in enumerate(pages):
            try:
                page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{number}.png"), full_page=True)
            except Exception as error:  # a crashed page must not hide the test's own failure
                print(f"screenshot of page {number} failed: {error}")
        if js_errors:
            print("JavaScript errors:\n" + "\n".join(js_errors))
    for context in contexts:
        context.close()
