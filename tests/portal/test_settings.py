"""Settings from the environment: production checks, SQLite tuning, engine switches, concurrent writers.

Each case runs manage.py in a child process with its own environment, because settings are read once
per process.
"""

import json
import secrets
import subprocess
import sys

from django.conf import settings

from tests.services import PROJECT_DIR, manage, service_env

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "example.gov.cn",
    # check --deploy does not connect, so nothing needs to listen on these.
    "DATABASE_URL": "postgres://zwt:secret@db.example.gov.cn:5432/zwt",
    "REDIS_URL": "redis://redis.example.gov.cn:6379/0",
    "SMS_BACKEND": "sms.backends.aliyun.AliyunBackend",
}

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""), "port": db.get("PORT", ""),
    "options": {k: v for k, v in db.get("OPTIONS", {}).items() if isinstance(v, (str, int))},
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts", []),
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG, "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""

SQLITE_PRAGMAS = """
from django.db import connection
with connection.cursor() as cursor:
    values = {}
    for pragma in ("journal_mode", "busy_timeout", "synchronous"):
        cursor.execute(f"PRAGMA {pragma}")
        values[pragma] = cursor.fetchone()[0]
print(values["journal_mode"], values["busy_timeout"], values["synchronous"])
"""

# One writer process: each write reads then writes in one transaction, the pattern that raises
# "database is locked" on SQLite when a read lock has to be upgraded while another process writes.
WRITER = """
import datetime, os
from django.db import transaction
from departments.models import CalendarDay
offset = int(os.environ["WRITER_OFFSET"])
start = datetime.date(2000, 1, 1) + datetime.timedelta(days=offset)
for i in range({writes}):
    with transaction.atomic():
        CalendarDay.objects.count()
        CalendarDay.objects.create(date=start + datetime.timedelta(days=i), kind="holiday", name=f"w{{offset}}-{{i}}")
print("done")
"""


def django_settings(env):
    """Return the settings a fresh process sees with ``env``."""
    return json.loads(manage("shell", "--no-imports", "-c", PRINT_SETTINGS, env=env).stdout)


def test_the_suite_uses_the_fast_password_hasher():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_check_deploy_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_while_texts_stay_in_the_outbox():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SMS_BACKEND"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, check=False)

    assert result.returncode != 0
    assert "sms.W001" in result.stderr + result.stdout and "验证码和通知不会真正发出" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}

    result = manage("check", env=env, check=False)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_values_switch_to_postgresql_and_redis():
    values = django_settings(PRODUCTION_ENV)

    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"], values["port"]) == ("zwt", "db.example.gov.cn", 5432)
    assert values["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert values["layer_hosts"] == ["redis://redis.example.gov.cn:6379/0"]
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["debug"] is False
    assert values["allowed_hosts"] == ["example.gov.cn"]


def test_default_is_sqlite_with_the_in_memory_layer(tmp_path):
    values = django_settings({"SQLITE_PATH": tmp_path / "db.sqlite3"})

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "db.sqlite3")
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert values["layer"] == "chat.inmemory_layer.IndexedInMemoryChannelLayer"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path):
    result = manage("shell", "--no-imports", "-c", SQLITE_PRAGMAS, env={"SQLITE_PATH": tmp_path / "db.sqlite3"})

    journal_mode, busy_timeout, synchronous = result.stdout.split()
    assert journal_mode == "wal"
    assert int(busy_timeout) >= 5000
    assert synchronous == "1"  # NORMAL: safe with WAL, and much faster than FULL


def test_two_processes_writing_at_once_never_see_database_is_locked(migrated_sqlite):
    writes = 200
    code = WRITER.format(writes=writes)
    writers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=PROJECT_DIR,
            env=service_env({"SQLITE_PATH": migrated_sqlite, "WRITER_OFFSET": offset}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for offset in (0, 10_000)
    ]
    outputs = [writer.communicate(timeout=300) for writer in writers]

    for writer, (stdout, stderr) in zip(writers, outputs):
        assert "database is locked" not in stderr
        assert writer.returncode == 0, stderr
        assert stdout.strip() == "done"
    count = manage(
        "shell",
        "--no-imports",
        "-c",
        "from departments.models import CalendarDay; print(CalendarDay.objects.count())",
        env={"SQLITE_PATH": migrated_sqlite},
    )
    assert int(count.stdout) == 2 * writes
