"""The test services themselves: real Redis, PostgreSQL, daphne and Chromium start, work and go away."""

import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from urllib.parse import urlsplit

import psycopg
import pytest
from channels_redis.core import RedisChannelLayer

from tests.services import PROJECT_DIR, daphne_server, manage, port_is_open, redis_server, service_env


async def test_redis_carries_a_group_message_between_two_channel_layers(redis_url):
    # Two layer instances stand for two daphne processes: one joins the group, the other broadcasts.
    receiver, sender = RedisChannelLayer(hosts=[redis_url]), RedisChannelLayer(hosts=[redis_url])
    group = f"window-{uuid.uuid4().hex[:8]}"
    try:
        first, second = await receiver.new_channel(), await receiver.new_channel()
        await receiver.group_add(group, first)
        await receiver.group_add(group, second)

        await sender.group_send(group, {"type": "chat.message", "body": "驾驶证要不要年检？"})

        for channel in (first, second):
            assert await receiver.receive(channel) == {"type": "chat.message", "body": "驾驶证要不要年检？"}
    finally:
        await receiver.flush()
        await receiver.close_pools()
        await sender.close_pools()


def test_postgres_answers_queries_in_utf8(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TEMPORARY TABLE probe (name text)")
        connection.execute("INSERT INTO probe VALUES (%s)", ["省公安厅·交通车管"])

        assert connection.execute("SELECT name FROM probe").fetchone() == ("省公安厅·交通车管",)
        assert connection.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert urlsplit(postgres_url).hostname == "127.0.0.1"


def test_our_migrations_apply_on_postgresql(postgres_url):
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    database_url = postgres_url.rpartition("/")[0] + f"/{name}"

    manage("migrate", "--noinput", env={"DATABASE_URL": database_url})

    pending = manage("migrate", "--check", env={"DATABASE_URL": database_url}, check=False)
    assert pending.returncode == 0, pending.stdout + pending.stderr


def test_redis_server_is_stopped_and_removed_after_use():
    with redis_server() as url:
        port = urlsplit(url).port
        assert port_is_open(port)

    assert not port_is_open(port)


def test_a_missing_service_skips_on_a_developer_machine_and_fails_in_ci(monkeypatch):
    monkeypatch.setenv("REDIS_SERVER", "/nonexistent/redis-server")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REQUIRE_SERVICES", raising=False)

    with pytest.raises(pytest.skip.Exception, match="找不到 redis-server"):
        with redis_server():
            pass

    monkeypatch.setenv("REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="找不到 redis-server.*CI / REQUIRE_SERVICES"):
        with redis_server():
            pass


def test_daphne_serves_the_portal_and_stops_after_use(migrated_sqlite):
    with daphne_server({"SQLITE_PATH": migrated_sqlite, "DEBUG": "1"}) as base_url:
        with urllib.request.urlopen(base_url + "/") as response:
            assert response.status == 200
            assert response.headers.get_content_type() == "text/html"
        port = urlsplit(base_url).port

    assert not port_is_open(port)


def test_services_command_exports_the_url_and_returns_the_command_exit_code():
    result = subprocess.run(
        [sys.executable, "-m", "tests.services", "redis", "--", "sh", "-c", 'echo "$REDIS_URL"; exit 7'],
        cwd=PROJECT_DIR,
        env=service_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 7, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("redis://127.0.0.1:")
    assert not port_is_open(urlsplit(url).port)


@pytest.mark.e2e
def test_chromium_renders_the_chinese_home_page_on_a_phone(new_page):
    page = new_page("phone")

    response = page.goto("/")

    assert response.status == 200
    assert page.get_attribute("html", "lang").lower().startswith("zh")
    assert "部门" in page.inner_text("body") or "窗口" in page.inner_text("body")
    # Phone-first: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_suite_does_not_leak_service_urls_into_child_processes():
    child = service_env({"SQLITE_PATH": "/tmp/x.sqlite3"})

    assert "DATABASE_URL" not in child and "REDIS_URL" not in child
    assert child["SQLITE_PATH"] == "/tmp/x.sqlite3"


# The suite's own set-up: cached template databases, progress instead of a silent wait -----------
def test_a_template_database_is_rebuilt_when_the_code_changes_not_when_a_test_does(tmp_path, monkeypatch):
    from tests.support import databases

    (tmp_path / "faq").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "faq" / "models.py").write_text("A = 1\n")
    (tmp_path / "tests" / "test_faq.py").write_text("def test(): pass\n")
    monkeypatch.setattr(databases, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(databases, "CACHE_DIR", tmp_path / "var" / "test-cache")
    built = []

    def build(path):
        built.append(path)
        sqlite3.connect(path).close()

    first = databases.cached_template("seeded", build)
    (tmp_path / "tests" / "test_faq.py").write_text("def test(): assert True\n")
    assert databases.cached_template("seeded", build) == first and len(built) == 1

    (tmp_path / "faq" / "models.py").write_text("A = 2\n")
    second = databases.cached_template("seeded", build)
    assert second != first and len(built) == 2 and second.exists()


def test_a_slow_command_reports_progress_and_a_dead_server_fails_at_once_with_its_log(migrated_sqlite):
    lines = []
    manage(
        "shell",
        "-c",
        "import time; time.sleep(3)",
        env={"SQLITE_PATH": migrated_sqlite},
        progress=lines.append,
        progress_every=1,
    )
    assert lines and "still running" in lines[0]

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with"):
        with daphne_server({"SQLITE_PATH": migrated_sqlite, "DJANGO_SETTINGS_MODULE": "no_such.settings"}, timeout=900):
            pass
    assert time.monotonic() - started < 300  # not the 900 s limit: the process died, so the wait ends
