"""Cross-validation of the FAQ ranking weights over the two halves of a labelled query file.

    SQLITE_PATH=/tmp/faq.sqlite3 .venv/bin/python manage.py migrate
    SQLITE_PATH=/tmp/faq.sqlite3 .venv/bin/python manage.py faq_import ../shared/eval/faq_corpus.jsonl --create-missing
    SQLITE_PATH=/tmp/faq.sqlite3 .venv/bin/python bench/faq_cv.py ../shared/eval/faq_dev_queries.jsonl \\
        --grid passage=0.5,0.75,1 lexical=0.2,0.3,0.4 window=0.2,0.3,0.45

Ranks exactly as `faq_eval` does (faq.search's index, every entry visible, faq.engine.ranker.rank), but
embeds each query once and reuses the vector for every point of the grid, so a grid of 27 points over
320 queries takes under a minute instead of 27 runs of `faq_eval`. The halves are those of
`faq_eval --half`: even lines (the first line counts as even) and odd lines. For each half, the point
with the best MRR on it is chosen and measured on the other half; the mean of the two held-out MRRs is
the cross-validated figure docs/search.md reports. A change of method earns its place only if it
raises the held-out MRR of both halves.

--grid takes fields of faq.engine.ranker.Weights (question, passage, lexical, window, window_top,
window_depth, candidates); unnamed fields keep the shipped values. Progress goes to stderr; one JSON
line per grid point, then a summary line, go to stdout.
"""

import argparse
import dataclasses
import itertools
import json
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from faq import search  # noqa: E402
from faq.engine import embedder as embedding  # noqa: E402
from faq.engine.ranker import DEFAULT_WEIGHTS, Weights, rank  # noqa: E402
from faq.models import Entry  # noqa: E402

FIELDS = {field.name: field.type for field in dataclasses.fields(Weights)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_grid(items: list[str]) -> list[Weights]:
    axes = []
    for item in items:
        name, _, values = item.partition("=")
        if name not in FIELDS or not values:
            raise SystemExit(f"--grid: expected FIELD=V1,V2,... with FIELD one of {', '.join(FIELDS)}; got {item!r}")
        cast = int if FIELDS[name] in (int, "int") else float
        axes.append([(name, cast(value)) for value in values.split(",")])
    return [dataclasses.replace(DEFAULT_WEIGHTS, **dict(point)) for point in itertools.product(*axes)]


def reciprocal_ranks(index, queries, vectors, gold_rows, weights: Weights) -> np.ndarray:
    out = np.zeros(len(queries))
    for i, query in enumerate(queries):
        hits = rank(
            lexical=index.lexical,
            dense=index.dense if vectors is not None else None,
            window_ids=index.window_ids,
            query=query,
            embed=(lambda _text, vector=vectors[i]: vector) if vectors is not None else None,
            limit=10,
            weights=weights,
        )
        rows = [hit.row for hit in hits]
        position = next((k for k, row in enumerate(rows) if row in gold_rows[i]), None)
        out[i] = 0.0 if position is None else 1.0 / (position + 1)
    return out


def figures(rr: np.ndarray) -> dict:
    return {"mrr": round(float(rr.mean()), 4), "recall@5": round(float((rr >= 0.2).mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help='JSON Lines queries: {"query": ..., "gold": [key, ...]}')
    parser.add_argument("--grid", nargs="*", default=[], metavar="FIELD=V1,V2", help="weights to try")
    args = parser.parse_args()

    lines = [json.loads(line) for line in Path(args.path).read_text(encoding="utf-8").splitlines() if line.strip()]
    index = search.get_index()
    keys = dict(Entry.objects.values_list("id", "key"))
    row_of = {keys[int(entry_id)]: row for row, entry_id in enumerate(index.entry_ids)}
    missing = {key for line in lines for key in line["gold"]} - set(row_of)
    if missing:
        raise SystemExit(f"gold keys not in the database (run faq_import first): {sorted(missing)[:10]}")
    queries = [line["query"] for line in lines]
    gold_rows = [{row_of[key] for key in line["gold"]} for line in lines]
    model = embedding.get_embedder() if index.dense is not None else None
    vectors = None
    if model is not None:
        log(f"embedding {len(queries)} queries once ...")
        vectors = np.stack([model.query(query) for query in queries])
    even = np.arange(len(queries)) % 2 == 0

    results = []
    for weights in parse_grid(args.grid) or [DEFAULT_WEIGHTS]:
        rr = reciprocal_ranks(index, queries, vectors, gold_rows, weights)
        results.append((weights, rr))
        point = {name: getattr(weights, name) for name in FIELDS}
        print(
            json.dumps({"weights": point, "all": figures(rr), "even": figures(rr[even]), "odd": figures(rr[~even])}),
            flush=True,
        )

    summary = {}
    for chosen_on, mask in (("even", even), ("odd", ~even)):
        weights, rr = max(results, key=lambda result: result[1][mask].mean())
        summary[f"chosen_on_{chosen_on}"] = {
            "weights": {name: getattr(weights, name) for name in FIELDS},
            "held_out": figures(rr[~mask]),
        }
    summary["cross_validated_mrr"] = round(
        (summary["chosen_on_even"]["held_out"]["mrr"] + summary["chosen_on_odd"]["held_out"]["mrr"]) / 2, 4
    )
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main()
