"""Hybrid ranking: dense similarity of the question and of the whole entry, BM25, and the window.

Each signal is standardised (z-score) over the rows scored for the query, then summed with fixed
weights; finally each of the best candidates gets a bonus from how well its window as a whole
matches (the mean of the window's two best rows among the 200 best), because confusable entries
usually differ in the window a citizen's situation belongs to. Weights were chosen by cross-validation over two
halves of the dev queries; see docs/search.md.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .dense import DenseIndex
from .lexical import BM25Index, default_max_postings
from .text import terms


@dataclass(frozen=True)
class Weights:
    question: float = 1.0
    passage: float = 0.75
    lexical: float = 0.3
    window: float = 0.3
    window_top: int = 2
    # A window's score is the mean of its best window_top rows among the window_depth best rows.
    window_depth: int = 200
    candidates: int = 50
    # Lexical top rows added to the pool when the dense index scores only some partitions.
    lexical_pool: int = 200


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Hit:
    row: int
    score: float
    similarity: float  # cosine of the query to the entry's question; 0 without the model
    lexical: float


_embedding_pool: ThreadPoolExecutor | None = None


def _embed_in_background(embed: Callable[[str], np.ndarray], query: str):
    """Start embedding the query in a worker thread; the model's C code runs without the GIL,
    so the lexical scoring of the same query proceeds meanwhile on the other core."""
    global _embedding_pool
    if _embedding_pool is None:
        _embedding_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="faq-embed")
    return _embedding_pool.submit(embed, query)


def _standardize(values: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """Return z-scores of values, with mean and spread taken over the rows `among` (all by default)."""
    sample = values if among is None else values[among]
    if len(sample) == 0:
        return np.zeros_like(values)
    std = float(sample.std())
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(sample.mean())) / std


def _window_scores(fused: np.ndarray, windows: np.ndarray, best: np.ndarray, weights: Weights) -> np.ndarray:
    """Return, for each row of best, how well its window as a whole matches the query.

    That is the mean of the window's window_top best fused scores among the window_depth best
    rows; a window with fewer rows there counts the missing ones at the lowest score among them
    (an upper bound of their true scores). Counting only the rows present instead would give a
    window with one good row its full score while a window with two was pulled down by its second.
    """
    finite = int(np.isfinite(fused).sum())
    depth = max(min(weights.window_depth, finite), len(best))
    near = np.argpartition(-fused, depth - 1)[:depth] if depth < len(fused) else np.arange(len(fused))
    near = near[np.isfinite(fused[near])]
    scores, groups = fused[near].astype(np.float64), windows[near]
    floor = float(scores.min())
    order = np.lexsort((-scores, groups))
    scores, groups = scores[order], groups[order]
    position = np.arange(len(groups))
    group_start = np.maximum.accumulate(np.where(np.r_[True, groups[1:] != groups[:-1]], position, 0))
    keep = position - group_start < weights.window_top
    names, index = np.unique(groups[keep], return_inverse=True)
    total = np.bincount(index, weights=scores[keep], minlength=len(names))
    present = np.bincount(index, minlength=len(names))
    mean = (total + (weights.window_top - present) * floor) / weights.window_top
    return mean[np.searchsorted(names, windows[best])]


def rank(
    *,
    lexical: BM25Index,
    dense: DenseIndex | None,
    window_ids: np.ndarray,
    query: str,
    embed: Callable[[str], np.ndarray] | None,
    allowed: np.ndarray | None = None,
    prefer: np.ndarray | None = None,
    prefer_bonus: float = 0.3,
    limit: int = 10,
    weights: Weights = DEFAULT_WEIGHTS,
    has_vector: np.ndarray | None = None,
    query_terms: list[str] | None = None,
) -> list[Hit]:
    """Return the best rows for the query, best first.

    embed returns the query's vector (None: lexical ranking only). allowed masks the rows the
    asker may see; prefer marks rows that get prefer_bonus (e.g. the department of the window the
    citizen is writing to). has_vector marks the rows that have vectors: the others (saved while
    the model was off) are ranked by their lexical score alone and kept out of the dense signals'
    normalisation, where their zero similarities would squash everyone else's spread. query_terms
    replaces the query's own lexical terms (e.g. with synonyms added).
    """
    if lexical.size == 0:
        return []
    pending = _embed_in_background(embed, query) if dense is not None and embed is not None else None
    lex_terms = query_terms if query_terms is not None else terms(query)
    lex_all = lexical.scores(lex_terms, max_postings=default_max_postings(lexical.size))
    query_vector = pending.result() if pending is not None else None
    if query_vector is not None:
        rows, question, passage = dense.search(query_vector)
        if rows is None:
            pool, lex = np.arange(lexical.size), lex_all
        else:
            top_lex = np.argpartition(-lex_all, min(weights.lexical_pool, lexical.size) - 1)[: weights.lexical_pool]
            scored = np.zeros(lexical.size, dtype=bool)
            scored[rows] = True
            extra = top_lex[(lex_all[top_lex] > 0) & ~scored[top_lex]]
            extra_question, extra_passage = dense.score_rows(query_vector, extra)
            pool = np.concatenate([rows, extra])
            question = np.concatenate([question, extra_question])
            passage = np.concatenate([passage, extra_passage])
            lex = lex_all[pool]
        if has_vector is None or has_vector.all():
            fused = (
                weights.question * _standardize(question)
                + weights.passage * _standardize(passage)
                + weights.lexical * _standardize(lex)
            )
        else:
            vectored = has_vector[pool]
            fused = (
                weights.question * _standardize(question, vectored)
                + weights.passage * _standardize(passage, vectored)
                + weights.lexical * _standardize(lex, vectored)
            )
            # Rows without vectors: their lexical z-score (on the same scale) carries all three weights.
            lexical_only = (weights.question + weights.passage + weights.lexical) * _standardize(lex, vectored)
            fused = np.where(vectored, fused, lexical_only)
            question = np.where(vectored, question, 0.0).astype(np.float32)
    else:
        pool = np.flatnonzero(lex_all > 0)
        question = np.zeros(len(pool), dtype=np.float32)
        lex = lex_all[pool]
        # On the scale of the fused scores above (all three weights on the one signal), so that one
        # relevance cut-off means the same with and without the model.
        total = weights.question + weights.passage + weights.lexical
        fused = total * _standardize(lex) if len(pool) > 1 else lex.astype(np.float32)
    if allowed is not None:
        fused = np.where(allowed[pool], fused, -np.inf)
    if prefer is not None:
        fused = fused + prefer_bonus * prefer[pool]
    count = min(weights.candidates, int(np.isfinite(fused).sum()))
    if count == 0:
        return []
    best = np.argpartition(-fused, count - 1)[:count]
    best = best[np.isfinite(fused[best])]
    final = fused[best].astype(np.float64)
    if weights.window:
        final += weights.window * _window_scores(fused, window_ids[pool], best, weights)
    order = np.argsort(-final, kind="stable")[:limit]
    return [
        Hit(
            row=int(pool[best[i]]),
            score=float(final[i]),
            similarity=float(question[best[i]]),
            lexical=float(lex[best[i]]),
        )
        for i in order
    ]
