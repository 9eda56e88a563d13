"""Cheap fault drills (bench/faults.py) as tests: break a part mid-chat, lose nothing, duplicate nothing.

Citizens and officer desks chat through two daphne processes sharing PostgreSQL and Redis, with clients
that behave like the pages (resume after the last seq, resend unacknowledged messages with the same
client_id, reconnect to the other process when theirs is gone). The database is a fresh one on the
session's throwaway PostgreSQL; Redis and the daphne processes are this module's own, because the drills
kill them with SIGKILL. The whole module takes about 40 s.
"""

import argparse
import asyncio
import time
import types
import uuid

import psycopg
import pytest

from bench.common import populate
from bench.faults import BENCH_ENV, Setup, run_drill
from deploy.stack import Daphne, Redis, free_port
from tests.services import find_redis_server, missing

pytestmark = pytest.mark.services

ARGS = argparse.Namespace(rate=20, warmup=1, after=2.5, offline_seconds=10, slow_seconds=5, slow_control=False)


@pytest.fixture(scope="module")
def drill_setup(postgres_url, migrated_postgres_template, tmp_path_factory):
    if find_redis_server() is None:
        missing("找不到 redis-server（apt-get install redis-server）/ redis-server not found")
    base, _, _ = postgres_url.rpartition("/")
    name = f"zwt_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_postgres_template}"')
    database = f"{base}/{name}"
    workdir = tmp_path_factory.mktemp("faults")
    redis = Redis(workdir, free_port())
    redis.start()
    env = {"DATABASE_URL": database, "REDIS_URL": redis.url, "DEBUG": "1", **BENCH_ENV}
    daphnes = [Daphne(workdir, free_port(), env, index=i) for i in range(2)]
    try:
        population = populate(env, 8, 2, uuid.uuid4().hex[:6])
        for daphne in daphnes:
            daphne.spawn()
        for daphne in daphnes:
            _wait_ready(daphne)
        stack = types.SimpleNamespace(redis=redis, daphnes=daphnes)
        yield Setup(stack, population, [d.url for d in daphnes], database)
    finally:
        for daphne in daphnes:
            daphne.stop()
        redis.stop()


def _wait_ready(daphne, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not daphne.answers():
        assert daphne.running(), f"{daphne.name} exited: see {daphne.log_path}"
        assert time.monotonic() < deadline, f"{daphne.name} not ready: see {daphne.log_path}"
        time.sleep(0.1)


def _drill(name: str, setup: Setup) -> dict:
    result = asyncio.run(run_drill(name, setup, ARGS))
    assert result["sent"] > 30, result
    assert result["lost"] == 0, result
    assert result["duplicated"] == 0, result
    assert result["back_s"] is not None and result["back_s"] < 15, result
    return result


def test_a_client_that_drops_before_its_ack_resends_and_the_message_is_stored_once(drill_setup):
    result = _drill("ack_drop", drill_setup)
    assert result["reconnects"] >= result["dropped_before_ack"]


def test_a_citizen_offline_for_10_s_gets_every_answer_once_on_return(drill_setup):
    result = _drill("offline", drill_setup)
    assert result["sent_while_offline"] >= 15
    assert result["history_after_s"] < 5


def test_redis_killed_mid_chat_and_restarted_loses_nothing(drill_setup):
    _drill("redis_kill", drill_setup)
    assert drill_setup.stack.redis.running()


def test_one_daphne_killed_its_clients_move_to_the_other_and_lose_nothing(drill_setup):
    killed = drill_setup.stack.daphnes[0]
    try:
        result = _drill("daphne_kill", drill_setup)
        assert not killed.running()
        assert result["reconnects"] >= 1
    finally:
        if not killed.running():
            killed.start()
