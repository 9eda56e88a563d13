"""BM25 over an inverted index kept in flat numpy arrays (CSR: term -> postings)."""

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np


class BM25Index:
    """Okapi BM25 (k1, b) over documents given as term lists; rows are the documents' positions."""

    def __init__(self, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for row, document in enumerate(documents):
            lengths.append(len(document))
            for term, count in Counter(document).items():
                term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                doc_ids.append(row)
                counts.append(count)
        self.vocabulary = vocabulary
        self.size = len(lengths)
        term_array = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(term_array, kind="stable")
        self.doc_ids = np.asarray(doc_ids, dtype=np.int32)[order]
        tf = np.asarray(counts, dtype=np.float32)[order]
        self.indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_array, minlength=len(vocabulary)), out=self.indptr[1:])
        length = np.asarray(lengths, dtype=np.float32)
        average = float(length.mean()) if self.size else 1.0
        # The saturated term frequency depends on the document only, so it is precomputed per posting.
        norm = k1 * (1 - b + b * length / max(average, 1e-9))
        self.weights = (tf * (k1 + 1) / (tf + norm[self.doc_ids])).astype(np.float32)
        df = np.diff(self.indptr).astype(np.float64)
        self.idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).astype(np.float32)

    def scores(self, query_terms: Iterable[str], *, max_postings: int | None = None) -> np.ndarray:
        """Return the BM25 score of every document for the query (each distinct term counted once).

        Terms with more postings than max_postings are skipped: on a large index they are
        near-stopwords whose low idf adds little and whose long lists cost the most time.
        """
        out = np.zeros(self.size, dtype=np.float32)
        ids = {self.vocabulary[term] for term in query_terms if term in self.vocabulary}
        doc_parts, weight_parts = [], []
        for term_id in ids:
            start, end = self.indptr[term_id], self.indptr[term_id + 1]
            if max_postings is not None and end - start > max_postings:
                continue
            doc_parts.append(self.doc_ids[start:end])
            weight_parts.append(self.weights[start:end] * self.idf[term_id])
        if doc_parts:
            out += np.bincount(
                np.concatenate(doc_parts), weights=np.concatenate(weight_parts), minlength=self.size
            ).astype(np.float32)
        return out

    @property
    def nbytes(self) -> int:
        return self.doc_ids.nbytes + self.weights.nbytes + self.indptr.nbytes + self.idf.nbytes


def default_max_postings(size: int) -> int | None:
    """Skip only on large indexes; a small one scores every term, as plain BM25 does."""
    return None if size < 50_000 else max(5_000, size // 20)
