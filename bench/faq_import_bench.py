"""Import N FAQ entries through the admin's import path while citizens keep logging in.

Prints one JSON line: preview (dry run), confirm and re-import (unchanged file) times, and the logins
done during them with their failures and latencies. The import runs in its own process (as the admin's
request would, beside the daphne process that serves the logins), on the same SQLite file:

    .venv/bin/python bench/faq_import_bench.py --entries 10000

Embeddings are off (FAQ_DISABLE_EMBEDDINGS=1): 10,000 entries embed in about an hour on the shared
2-core machine, and the embedding runs outside any transaction anyway; what this measures is how long
the database is held and whether logins get through meanwhile.
"""

import argparse
import csv
import http.cookiejar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, the project is not

from deploy.processes import Daphne, free_port  # noqa: E402

PY = sys.executable
CITIZENS = ["13800000001", "13800000002", "13800000003"]
PASSWORD = "zwt-demo-2026"

IMPORT = r"""
import json, time, tablib
from faq.resources import EntryResource
text = open({path!r}, encoding="utf-8-sig").read()
out = {{}}
for label, dry in (("preview_s", True), ("confirm_s", False), ("preview_unchanged_s", True), ("reimport_unchanged_s", False)):
    data = tablib.Dataset().load(text, format="csv")
    started = time.perf_counter()
    result = EntryResource().import_data(data, dry_run=dry, raise_errors=False)
    out[label] = round(time.perf_counter() - started, 2)
    out[label.replace("_s", "_rows_listed")] = len([r for r in result.rows if r.import_type != "skip"])
    assert not result.has_errors() and not result.has_validation_errors(), label
print("RESULT " + json.dumps(out))
"""

PLACES = """
import json
from departments.models import Window
print("PLACES " + json.dumps([[w.department.name, w.name] for w in Window.objects.select_related("department")]))
"""


def env(db: str) -> dict:
    return {**os.environ, "SQLITE_PATH": db, "FAQ_DISABLE_EMBEDDINGS": "1", "DEBUG": "1"}


def manage(db: str, *args: str) -> str:
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env(db), capture_output=True, text=True, check=True)
    return done.stdout


def login_once(base: str, phone: str) -> tuple[int, float]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    started = time.perf_counter()
    try:
        page = opener.open(f"{base}/accounts/login/", timeout=60).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": phone, "password": PASSWORD}).encode()
        request = urllib.request.Request(
            f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"}
        )
        reply = opener.open(request, timeout=60)
        ok = reply.status == 200 and "/accounts/login/" not in reply.url
        return (200 if ok else 400), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started
    except Exception:
        return 0, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--base", help="a migrated SQLite file with seed_demo's departments (default: make one)")
    parser.add_argument("--db", default="/tmp/zwt-faq-import-bench.sqlite3")
    args = parser.parse_args()

    if args.base:
        shutil.copyfile(args.base, args.db)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
        manage(args.db, "migrate", "--noinput")
        manage(args.db, "seed_demo")
    places = json.loads(manage(args.db, "shell", "-c", PLACES).split("PLACES ", 1)[1])
    path = Path(args.db).with_suffix(".csv")
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "部门", "窗口", "问题", "答复", "已发布"])
        for n in range(args.entries):
            department, window = places[n % len(places)]
            writer.writerow(
                [
                    f"bench-{n:05d}",
                    department,
                    window,
                    f"第{n}号测试问题：{window}业务如何办理？",
                    f"您好！第{n}号答复：请携带身份证到{department}{window}窗口办理。",
                    "是",
                ]
            )

    # Its log: faq-import-daphne.log beside the database.
    server = Daphne(Path(args.db).parent, free_port(), env(args.db), behind_proxy=False, name="faq-import-daphne")
    server.start(timeout=120)
    base = server.url
    try:
        results: list[tuple[int, float]] = []
        stop = threading.Event()

        def log_in_forever():
            n = 0
            while not stop.is_set():
                results.append(login_once(base, CITIZENS[n % len(CITIZENS)]))
                n += 1

        workers = [threading.Thread(target=log_in_forever) for _ in range(2)]
        for worker in workers:
            worker.start()
        started = time.perf_counter()
        done = subprocess.run(
            [PY, "manage.py", "shell", "-c", IMPORT.format(path=str(path))],
            cwd=ROOT,
            env=env(args.db),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        stop.set()
        for worker in workers:
            worker.join()
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        figures = json.loads(done.stdout.split("RESULT ", 1)[1])
        latencies = sorted(t for _, t in results)
        print(
            json.dumps(
                {
                    "entries": args.entries,
                    **figures,
                    "import_process_s": round(elapsed, 1),
                    "logins": len(results),
                    "login_failures": sum(1 for code, _ in results if code != 200),
                    "login_failure_codes": sorted({code for code, _ in results if code != 200}),
                    "login_p50_ms": round(statistics.median(latencies) * 1000),
                    "login_max_ms": round(latencies[-1] * 1000),
                },
                ensure_ascii=False,
            )
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
