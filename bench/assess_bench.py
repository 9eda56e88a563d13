"""Benchmark of the monthly assessment: figures and the XLSX over a month of history at N times the pilot.

    .venv/bin/python bench/assess_bench.py --scale 100          # about 1.4 M messages, SQLite
    .venv/bin/python bench/assess_bench.py --scale 100 --reuse  # time again without regenerating
    DATABASE_URL=postgres://... .venv/bin/python bench/assess_bench.py --scale 10

Uses its own database (SQLITE_PATH, default /tmp/zwt-assess-bench.sqlite3), never the project's db.sqlite3:
migrates it, loads seed_demo's departments, windows and officers, generates one calendar month of history
(the month before the current one) with demo.history.generate_history, then times
  - figures: oversight.figures.compute for the month, every department, window and officer, with the
    12345 measures (按期办结率, 满意率, 参评率, 直接解答率, 一次办结率, 退回) and the scores and ranks;
  - xlsx: `manage.py assess --month M --xlsx FILE` end to end (figures, the previous month for 环比, the
    汇总 and 值班台账 sheets, workbook, file);
  - dashboard: everything the supervisor dashboard computes, hot topics (jieba) and the duty ledger included;
  - year: the year view (each department's score in each month of the month's year, annual score);
  - close / frozen_xlsx / frozen_year: closing (定稿) the month, then the workbook and the year view of the
    frozen month, inside a transaction that is rolled back (the database stays as it was).
Each timing is the best of --repeat runs. Progress goes to stderr; ONE JSON line goes to stdout.
Limits from issues 5 and 15: figures < 5 s, XLSX < 10 s, year view < 10 s at --scale 100.
"""

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("SQLITE_PATH", "/tmp/zwt-assess-bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from chat.models import Conversation, Message  # noqa: E402
from demo.history import generate_history  # noqa: E402
from oversight import dashboard, exports, figures  # noqa: E402
from oversight.actions import close_month  # noqa: E402
from oversight.periods import previous_month  # noqa: E402

LIMITS = {"figures_seconds": 5.0, "xlsx_seconds": 10.0, "year_seconds": 10.0}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "database": connection.vendor,
        "sqlite": sqlite3.sqlite_version if connection.vendor == "sqlite" else None,
    }


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        cache.clear()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


class _RolledBack(Exception):
    pass


def frozen_timings(period, repeat: int) -> dict:
    """Close (定稿) the month inside a transaction, time what a frozen month costs to show, then roll back."""
    result = {}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            close_month(period=period, actor=None)
            result["close_seconds"] = round(time.perf_counter() - started, 3)
            result["frozen_xlsx_seconds"] = best_of(repeat, lambda: exports.workbook_bytes(figures.report_for(period)))
            result["frozen_year_seconds"] = best_of(repeat, lambda: dashboard.year_context(period.first.year))
            raise _RolledBack
    except _RolledBack:
        pass
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="times the pilot's month (100 = about 1.4 M messages)")
    parser.add_argument("--reuse", action="store_true", help="keep the history already in the bench database")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing; the best is reported")
    args = parser.parse_args()
    if args.scale < 1 or args.repeat < 1:
        parser.error("--scale and --repeat must be at least 1")

    period = previous_month()
    log = sys.stderr
    call_command("migrate", verbosity=0, interactive=False)
    generated = None
    if not (args.reuse and Conversation.objects.exists()):
        call_command("seed_demo", stdout=log)
        started = time.perf_counter()
        generated = generate_history(days=len(period.days), scale=args.scale, end=period.last, stdout=log)
        generated["seconds"] = round(time.perf_counter() - started, 1)
    conversations = Conversation.objects.count()
    messages = Message.objects.count()
    print(f"bench database: {conversations} conversations, {messages} messages", file=log)

    figures_seconds = best_of(args.repeat, lambda: figures.compute(period))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "assessment.xlsx"
        xlsx_seconds = best_of(
            args.repeat,
            lambda: call_command(
                "assess", "--month", period.first.strftime("%Y-%m"), "--xlsx", str(target), stdout=log
            ),
        )
        xlsx_bytes = target.stat().st_size
    dashboard_seconds = best_of(args.repeat, lambda: dashboard.dashboard_context(period, None))
    year_seconds = best_of(args.repeat, lambda: dashboard.year_context(period.first.year))
    frozen = frozen_timings(period, args.repeat)

    result = {
        "bench": "assess",
        "command": " ".join([Path(sys.executable).name, "bench/assess_bench.py", *sys.argv[1:]]),
        "machine": machine(),
        "month": period.first.strftime("%Y-%m"),
        "scale": args.scale,
        "conversations": conversations,
        "messages": messages,
        "generate": generated,
        "figures_seconds": figures_seconds,
        "xlsx_seconds": xlsx_seconds,
        "xlsx_bytes": xlsx_bytes,
        "dashboard_seconds": dashboard_seconds,
        "year_seconds": year_seconds,
        **frozen,
        "limits": LIMITS,
        "ok": (
            figures_seconds < LIMITS["figures_seconds"]
            and xlsx_seconds < LIMITS["xlsx_seconds"]
            and year_seconds < LIMITS["year_seconds"]
        ),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
