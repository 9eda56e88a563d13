"""The demo FAQ and its precomputed sentence vectors, so that loading the demo data runs no model.

faq/fixtures/faq_demo_vectors.npz holds the passage vector of every text the FAQ import embeds for
faq/fixtures/faq_demo.jsonl (each entry's question, and its department, window, question and answer
as one passage), keyed by the model's name and the text's hash. `seed_demo` imports the demo FAQ
inside ``precomputed(load())``; after the demo FAQ or the model changes, `manage.py demo_faq_vectors`
brings the file up to date, embedding only the texts it lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from faq.engine import embedder as embedding
from faq.engine.text import passage_text
from faq.engine.vectors import VectorCache

FIXTURES = Path(__file__).resolve().parent.parent / "faq" / "fixtures"
FAQ_DEMO_FILE = FIXTURES / "faq_demo.jsonl"
FAQ_DEMO_VECTORS = FIXTURES / "faq_demo_vectors.npz"


def demo_texts(path: Path = FAQ_DEMO_FILE) -> list[str]:
    """Return the texts the FAQ import embeds for the demo file, as faq.actions builds them."""
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        question, answer = row["question"].strip(), row["answer"].strip()
        texts.append(question)
        texts.append(
            passage_text(
                department=row["department"].strip(),
                window=(row.get("window") or "").strip(),
                question=question,
                answer=answer,
            )
        )
    return texts


def load(path: Path = FAQ_DEMO_VECTORS) -> VectorCache:
    """Return the shipped vectors (empty when the file is missing or of another model)."""
    return VectorCache.load(path, model=embedding.MODEL_NAME, dim=embedding.DIM)


@dataclass(frozen=True)
class Refresh:
    texts: int
    reused: int
    computed: int


def stale_texts(cache: VectorCache, texts: list[str]) -> list[str]:
    """Return the texts the cache has no vector of."""
    return [text for text in dict.fromkeys(texts) if text not in cache]


def refresh(
    model: embedding.Embedder,
    *,
    source: Path = FAQ_DEMO_FILE,
    target: Path = FAQ_DEMO_VECTORS,
    batch_size: int = 32,
    progress=None,
) -> Refresh:
    """Write ``target`` with a vector for every text of ``source``; embed only those the file lacks."""
    texts = list(dict.fromkeys(demo_texts(source)))
    old = load(target)
    cache = old.only(texts)  # drops the vectors of texts no longer in the demo file
    todo = stale_texts(cache, texts)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        for text, vector in zip(batch, model.passages(batch)):
            cache.put(text, vector)
        if progress:
            progress(len(batch))
    if todo or len(cache) != len(old):
        cache.save(target)
    return Refresh(texts=len(texts), reused=len(texts) - len(todo), computed=len(todo))
