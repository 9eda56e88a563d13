"""Cosine similarity of a query to every entry's two vectors (question, passage).

Small indexes are scored exactly in float32. From IVF_MIN_ROWS rows on, rows are stored as int8
(a scale per row) and grouped by a coarse k-means partition (IVF) on the sum of their two vectors;
a query scores only the rows of its nprobe nearest partitions, so memory is a quarter and time a
few percent of the exact scan.
"""

import math

import numpy as np

IVF_MIN_ROWS = 50_000


def _normalize(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _quantize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.round(matrix / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def kmeans(data: np.ndarray, k: int, *, iterations: int = 8, seed: int = 0) -> np.ndarray:
    """Return k unit centroids of unit rows (spherical k-means)."""
    rng = np.random.default_rng(seed)
    centroids = data[rng.choice(len(data), size=k, replace=False)].copy()
    for _ in range(iterations):
        labels = assign(data, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, data)
        empty = np.bincount(labels, minlength=k) == 0
        sums[empty] = data[rng.choice(len(data), size=int(empty.sum()), replace=False)]
        centroids = _normalize(sums)
    return centroids.astype(np.float32)


def assign(data: np.ndarray, centroids: np.ndarray, *, chunk: int = 65_536) -> np.ndarray:
    labels = np.empty(len(data), dtype=np.int32)
    for start in range(0, len(data), chunk):
        labels[start : start + chunk] = np.argmax(data[start : start + chunk] @ centroids.T, axis=1)
    return labels


class DenseIndex:
    """The question and passage vectors of N rows; rows without vectors (zeros) never score high."""

    def __init__(
        self,
        question: np.ndarray,
        passage: np.ndarray,
        *,
        ivf_min_rows: int = IVF_MIN_ROWS,
        nlist: int | None = None,
        nprobe: int | None = None,
        seed: int = 0,
    ):
        self.size = len(question)
        self.ivf = self.size >= ivf_min_rows
        if not self.ivf:
            self.question = np.ascontiguousarray(question, dtype=np.float32)
            self.passage = np.ascontiguousarray(passage, dtype=np.float32)
            return
        self.nlist = nlist or max(16, int(math.sqrt(self.size)))
        self.nprobe = nprobe or max(8, self.nlist // 40)
        combined = _normalize(question + passage).astype(np.float32)
        sample = combined[
            np.random.default_rng(seed).choice(self.size, size=min(self.size, 40 * self.nlist), replace=False)
        ]
        self.centroids = kmeans(sample, self.nlist, seed=seed)
        labels = assign(combined, self.centroids)
        del combined
        # Rows are stored grouped by partition so that a probe reads contiguous slices.
        self.order = np.argsort(labels, kind="stable").astype(np.int64)
        self.offsets = np.zeros(self.nlist + 1, dtype=np.int64)
        np.cumsum(np.bincount(labels, minlength=self.nlist), out=self.offsets[1:])
        self.position = np.empty(self.size, dtype=np.int64)
        self.position[self.order] = np.arange(self.size)
        self.question, self.question_scale = _quantize(question[self.order])
        self.passage, self.passage_scale = _quantize(passage[self.order])

    def search(self, query: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Return (rows, question scores, passage scores); rows is None when every row was scored."""
        if not self.ivf:
            return None, self.question @ query, self.passage @ query
        probes = np.argpartition(-(self.centroids @ query), min(self.nprobe, self.nlist) - 1)[: self.nprobe]
        # Contiguous slices, multiplied as int8 directly: a fancy-indexed copy cost 4x the time.
        spans = [(self.offsets[p], self.offsets[p + 1]) for p in probes]
        question = np.concatenate([self.question[a:b] @ query * self.question_scale[a:b] for a, b in spans])
        passage = np.concatenate([self.passage[a:b] @ query * self.passage_scale[a:b] for a, b in spans])
        return np.concatenate([self.order[a:b] for a, b in spans]), question, passage

    def score_rows(self, query: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.ivf:
            return self.question[rows] @ query, self.passage[rows] @ query
        return self._score_slots(query, self.position[rows])

    def _score_slots(self, query: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = self.question[slots].astype(np.float32) @ query * self.question_scale[slots]
        p = self.passage[slots].astype(np.float32) @ query * self.passage_scale[slots]
        return q, p

    @property
    def nbytes(self) -> int:
        total = self.question.nbytes + self.passage.nbytes
        if self.ivf:
            total += self.centroids.nbytes + self.order.nbytes + self.position.nbytes + 2 * self.question_scale.nbytes
        return total
