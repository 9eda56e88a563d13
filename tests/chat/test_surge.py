"""The cheap surge (bench/surge.py): 200 citizens ask at one window within 10 s while 6 officers work.

Runs the benchmark itself against its own daphne (SQLite, in-memory layer): every waiting citizen ends
up shown their true place, no place ever goes up, no message is lost or stored twice.
"""

import json
import subprocess
import sys

from tests.services import PROJECT_DIR


def test_a_surge_of_200_citizens_keeps_every_place_right_and_loses_nothing():
    run = subprocess.run(
        [sys.executable, "-m", "bench.surge", "--citizens", "200", "--duration", "10", "--drain", "5"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.stdout.strip(), run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["arrivals"] == 200
    assert result["wrong_positions"] == 0, result["examples"]
    assert result["never_told"] == 0 and result["non_monotone"] == 0
    assert result["waiting_at_end"] > 0 and result["position_latency"]["n"] > 0
    assert result["audit"]["lost"] == 0 and result["audit"]["duplicated"] == 0, result["audit"]
    assert run.returncode == 0
