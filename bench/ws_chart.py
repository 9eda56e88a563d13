"""Draw ws_load results side by side as SVG bar charts for docs/benchmarks.md.

    .venv/bin/python -m bench.ws_chart --out docs/img/ws-200-prod.svg --title "..." \
        "before=runs/base200.json" "after=runs/final200.json"

Each LABEL=FILE is one ws_load JSON line; the chart shows, per run, the app's p99 latency and the bare
echo's (when the run measured it), and a second chart the server CPU per message. Uses the same small
SVG bar chart as the oversight dashboard.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from oversight.charts import bar_chart  # noqa: E402


def rows(runs: list[tuple[str, dict]], key) -> list[tuple[str, float | None]]:
    items = []
    for label, run in runs:
        for side in ("app", "echo"):
            if side in run:
                value = key(run[side])
                items.append((f"{label} {side}", round(value) if value >= 100 else round(value, 2)))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=FILE")
    parser.add_argument("--out", required=True, help="SVG file to write")
    parser.add_argument("--title", default="ws_load")
    args = parser.parse_args()
    runs = []
    for spec in args.runs:
        label, _, path = spec.partition("=")
        runs.append((label, json.loads(Path(path).read_text())))
    p99 = bar_chart(
        rows(runs, lambda side: side["latency"]["p99_ms"]),
        title=f"{args.title}: p99 ms",
        unit=" ms",
        label_chars=12,
        width=640,
    )
    cpu = bar_chart(
        rows(runs, lambda side: side["server_cpu_ms_per_msg"]),
        title=f"{args.title}: server CPU ms per message",
        unit=" ms",
        label_chars=12,
        width=640,
    )
    Path(args.out).write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 {_height(p99) + _height(cpu) + 48}" '
        f'font-family="sans-serif" font-size="13">'
        f'<text x="8" y="16" font-weight="bold">{args.title}: p99 sender → receiver (ms)</text>'
        f'<g transform="translate(0,22)">{_sized(p99)}</g>'
        f'<text x="8" y="{_height(p99) + 40}" font-weight="bold">server CPU per message (ms)</text>'
        f'<g transform="translate(0,{_height(p99) + 46})">{_sized(cpu)}</g></svg>\n',
        encoding="utf-8",
    )
    print(json.dumps({"bench": "ws_chart", "out": args.out, "runs": [label for label, _ in runs]}))


def _sized(svg: str) -> str:
    """Give a nested chart its own size (a nested <svg> without one fills its parent)."""
    width, height = svg.split('viewBox="0 0 ', 1)[1].split('"', 1)[0].split()
    return svg.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)


def _height(svg: str) -> int:
    return int(svg.split('viewBox="0 0 ', 1)[1].split('"', 1)[0].split()[1])


if __name__ == "__main__":
    main()
