"""Precomputed passage vectors: a file of the vectors of known texts, keyed by model name and text hash.

The demo FAQ ships its vectors this way (faq/fixtures/faq_demo_vectors.npz), so that loading the demo
data does not run the model. A cache holds the vectors of one model; looked up for another model it
finds nothing, and a text whose hash is not in it is embedded as usual. The vectors are stored as the
model returned them (float32), so a vector from the file is the one the model would compute.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

KEY_BYTES = 16  # of SHA-256: no collision among a few thousand texts


def text_key(text: str) -> bytes:
    """Return the key a text's vector is stored under: the first 16 bytes of the SHA-256 of its UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


class VectorCache:
    """The passage vectors of known texts for one model."""

    def __init__(self, model: str, dim: int, vectors: dict[bytes, np.ndarray] | None = None):
        self.model = model
        self.dim = dim
        self._vectors: dict[bytes, np.ndarray] = dict(vectors or {})

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, text: str) -> bool:
        return text_key(text) in self._vectors

    def get(self, text: str, *, model: str) -> np.ndarray | None:
        """Return the stored vector of a text for the given model, or None."""
        if model != self.model:
            return None
        return self._vectors.get(text_key(text))

    def put(self, text: str, vector: np.ndarray) -> None:
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim} dimensions, got shape {vector.shape}")
        self._vectors[text_key(text)] = vector

    def only(self, texts: Iterable[str]) -> VectorCache:
        """Return a cache with the vectors of the given texts only (those it holds)."""
        keys = {text_key(text) for text in texts}
        return VectorCache(self.model, self.dim, {k: v for k, v in self._vectors.items() if k in keys})

    def save(self, path: Path) -> None:
        """Write the cache as one .npz file: model name, sorted keys and float32 rows (written atomically)."""
        keys = sorted(self._vectors)
        rows = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), dtype=np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            model=np.array(self.model),
            # Raw bytes, not numpy's "S" strings, which drop a key's trailing zero bytes.
            keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES),
            vectors=rows.astype("<f4"),
        )
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(buffer.getvalue())
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path, *, model: str, dim: int) -> VectorCache:
        """Read a cache file; a missing, unreadable or other model's file gives an empty cache (logged)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                stored_model = str(data["model"])
                keys, rows = data["keys"], data["vectors"]
                if stored_model != model:
                    logger.info("Precomputed vectors in %s are of %s, not %s: not used.", path, stored_model, model)
                    return cls(model, dim)
                if keys.shape != (len(rows), KEY_BYTES) or rows.shape != (len(keys), dim):
                    raise ValueError(f"keys of shape {keys.shape} and vectors of shape {rows.shape}, {dim} dimensions")
                rows = rows.astype(np.float32)
                return cls(model, dim, {key.tobytes(): rows[i] for i, key in enumerate(keys)})
        except FileNotFoundError:
            return cls(model, dim)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            logger.warning("Precomputed vectors in %s are unreadable (%s): embedding instead.", path, error)
            return cls(model, dim)
