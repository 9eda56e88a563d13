"""Tracking numbers stay unique when many escalations take one at the same moment, on SQLite and PostgreSQL."""

import json
import uuid

import pytest

from tests.services import manage

# Run in a child process against a real database file or server: sixteen threads, each on its own
# connection, released together by a barrier, each taking one number in its own transaction.
RACE = """
import json, threading
from django.db import connection, transaction
from cases.numbers import allocate_tracking_number

barrier = threading.Barrier(16)
numbers, errors = [], []

def take():
    try:
        barrier.wait()
        with transaction.atomic():
            numbers.append(allocate_tracking_number())
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=take) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"numbers": numbers, "errors": errors}))
"""


def _race(env: dict) -> dict:
    result = manage("shell", "-c", RACE, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _assert_unique(outcome: dict) -> None:
    assert outcome["errors"] == []
    numbers = outcome["numbers"]
    assert len(numbers) == 16 and len(set(numbers)) == 16
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, 17))


def test_sixteen_concurrent_numbers_on_sqlite_are_unique(migrated_sqlite):
    _assert_unique(_race({"SQLITE_PATH": str(migrated_sqlite)}))


@pytest.mark.services
def test_sixteen_concurrent_numbers_on_postgresql_are_unique(postgres_url):
    import psycopg

    base, _, _ = postgres_url.rpartition("/")
    name = f"zwt_cases_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {"DATABASE_URL": f"{base}/{name}"}
    manage("migrate", "--noinput", env=env)
    _assert_unique(_race(env))
