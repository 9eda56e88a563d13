"""The search index of the knowledge base, kept in each process's memory and rebuilt on change.

The database is the only shared state: entries carry their own vectors and terms, and IndexState
holds a token that every change replaces. A search reads the token (one cheap query) and rebuilds
the in-memory index when it differs, so all daphne processes see an entry saved by any of them.
"""

import logging
import threading
from dataclasses import dataclass

import numpy as np

from .engine import embedder as embedding
from .engine.dense import DenseIndex
from .engine.lexical import BM25Index
from .engine.ranker import DEFAULT_WEIGHTS, Hit, Weights, rank
from .engine.text import segments, terms
from .models import Entry, IndexState, Synonym

logger = logging.getLogger(__name__)


@dataclass
class MemoryIndex:
    token: str
    entry_ids: np.ndarray
    department_ids: np.ndarray
    window_ids: np.ndarray
    published: np.ndarray
    lexical: BM25Index
    dense: DenseIndex | None
    has_vector: np.ndarray
    synonyms: list[tuple[str, ...]]

    @property
    def size(self) -> int:
        return len(self.entry_ids)


_lock = threading.Lock()
_current: MemoryIndex | None = None


def current_token() -> str:
    return IndexState.objects.values_list("token", flat=True).first() or ""


def build_index(token: str) -> MemoryIndex:
    """Build the in-memory index from every entry in the database."""
    rows = list(
        Entry.objects.order_by("id").values_list(
            "id",
            "department_id",
            "window_id",
            "is_published",
            "terms",
            "question_vector",
            "passage_vector",
            "vector_model",
        )
    )
    size = len(rows)
    question = np.zeros((size, embedding.DIM), dtype=np.float32)
    passage = np.zeros((size, embedding.DIM), dtype=np.float32)
    has_vector = np.zeros(size, dtype=bool)
    for row, (*_, question_bytes, passage_bytes, model) in enumerate(rows):
        q, p = embedding.vector_from_bytes(question_bytes), embedding.vector_from_bytes(passage_bytes)
        if model == embedding.MODEL_NAME and q is not None and p is not None:
            question[row], passage[row] = q, p
            has_vector[row] = True
    with_vectors = int(has_vector.sum())
    if with_vectors < size:
        logger.warning(
            "FAQ search: %d of %d entries have no vectors; run `manage.py faq_reindex`.", size - with_vectors, size
        )
    return MemoryIndex(
        token=token,
        entry_ids=np.array([r[0] for r in rows], dtype=np.int64),
        department_ids=np.array([r[1] for r in rows], dtype=np.int64),
        window_ids=np.array([r[2] or 0 for r in rows], dtype=np.int64),
        published=np.array([r[3] for r in rows], dtype=bool),
        lexical=BM25Index(r[4].split() for r in rows),
        dense=DenseIndex(question, passage) if with_vectors else None,
        has_vector=has_vector,
        synonyms=[group.words_tuple() for group in Synonym.objects.filter(is_active=True)],
    )


def expanded_terms(query: str, synonyms: list[tuple[str, ...]]) -> list[str]:
    """Return the query's lexical terms plus those of the synonyms of every word of a group it contains."""
    out = terms(query)
    lowered = query.lower()
    for group in synonyms:
        if any(word.lower() in lowered for word in group):
            for word in group:
                if word.lower() not in lowered:
                    out.extend(terms(word))
    return out


def get_index() -> MemoryIndex:
    """Return this process's index, rebuilt first if an entry changed anywhere since it was built."""
    global _current
    token = current_token()
    index = _current
    if index is not None and index.token == token:
        return index
    # While another thread rebuilds, answer from the previous index rather than queue behind it.
    if not _lock.acquire(blocking=index is None):
        return index
    try:
        if _current is None or _current.token != token:
            _current = build_index(token)
        return _current
    finally:
        _lock.release()


def search(
    query: str,
    *,
    allowed_departments: set[int] | None = None,
    published_only: bool = True,
    prefer_department: int | None = None,
    prefer_window: int | None = None,
    limit: int = 10,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[tuple[int, Hit]]:
    """Return (entry id, hit) pairs, best first.

    Visible rows are the published ones (all rows when published_only is False), plus every row of
    allowed_departments. Rows of prefer_department get a small bonus, and rows of prefer_window
    (the window the citizen writes to, which is in that department) twice that again: where a
    question was asked says which of two similar entries (驾驶证遗失 / 从业资格证遗失) it is about.
    """
    query = (query or "").strip()
    if not segments(query):
        return []
    index = get_index()
    if index.size == 0:
        return []
    model = embedding.get_embedder() if index.dense is not None else None
    allowed = None
    if published_only:
        allowed = index.published.copy()
        if allowed_departments:
            allowed |= np.isin(index.department_ids, list(allowed_departments))
    prefer = None
    if prefer_department or prefer_window:
        prefer = np.zeros(index.size, dtype=np.float32)
        if prefer_department:
            prefer += index.department_ids == prefer_department
        if prefer_window:
            # Twice the department's: enough to outweigh a neighbouring window's better overall match.
            prefer += 2.0 * (index.window_ids == prefer_window)
    hits = rank(
        lexical=index.lexical,
        dense=index.dense if model is not None else None,
        window_ids=index.window_ids,
        query=query,
        embed=model.query if model is not None else None,
        allowed=allowed,
        prefer=prefer,
        limit=limit,
        weights=weights,
        has_vector=index.has_vector,
        query_terms=expanded_terms(query, index.synonyms) if index.synonyms else None,
    )
    return [(int(index.entry_ids[hit.row]), hit) for hit in hits]
