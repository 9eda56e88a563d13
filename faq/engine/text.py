"""Text preparation for lexical ranking and for the embedding model."""

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)

# Runs of anything that is not a letter, a digit or a CJK character split a text into segments.
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)


def segments(text: str) -> list[str]:
    return [segment for segment in _SEPARATORS.split(text.lower()) if segment]


def terms(text: str) -> list[str]:
    """Return the lexical terms of a text: jieba words, characters and character bigrams.

    Colloquial and formal names of the same thing often share characters but not words
    (驾照 / 驾驶证, 社保 / 社会保险), so character n-grams catch what word segmentation splits apart.
    """
    out: list[str] = []
    for segment in segments(text):
        out.extend(segment)
        out.extend(segment[i : i + 2] for i in range(len(segment) - 1))
        out.extend(word for word in jieba.lcut_for_search(segment) if len(word) > 2)
    return out


def passage_text(*, department: str, window: str, question: str, answer: str) -> str:
    """Return the text an entry is embedded and indexed as: where it belongs, what is asked, the answer."""
    place = " ".join(part for part in (department, window) if part)
    return f"{place}：{question}\n{answer}" if place else f"{question}\n{answer}"
