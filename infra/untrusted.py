"""Checks for input from outside before any of it reaches the rules or the database.

Frames and JSON bodies are parsed by the standard library, which happily returns what nothing behind it
can take: integers of any size (OverflowError in SQL), nesting deep enough to exhaust the stack
(RecursionError), lone surrogates "\\ud800" (UnicodeEncodeError when encoded) and NUL characters
(PostgreSQL refuses them in text). `parse_json` and `check_value` turn each into a MalformedInput with a
Chinese message, so the caller answers with an error instead of crashing.
"""

import json
import math
import re

from .errors import DomainError

MAX_DEPTH = 8
# The widest integer a PostgreSQL bigint (and SQLite) holds.
MAX_INT = 2**63 - 1
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")


class MalformedInput(DomainError):
    """Input that no rule could accept: wrong encoding, out-of-range number, too deeply nested."""

    def __init__(self, message: str):
        super().__init__(message, "bad_frame")


class NotJson(MalformedInput):
    """Text that is not JSON at all (views that parse JSON word this their own way)."""


def check_text(value: str) -> str:
    """Return the text if it holds no NUL and no lone surrogate, else raise MalformedInput."""
    if _FORBIDDEN_CHARS.search(value):
        raise MalformedInput("内容含有无法识别的字符（如空字符或不成对的代理字符），请删除后重试。")
    return value


def check_value(value, *, max_depth: int = MAX_DEPTH):
    """Walk a parsed JSON value (without recursion) and return it if every part is acceptable."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise MalformedInput("数据嵌套层次过深。")
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT <= item <= MAX_INT:
                raise MalformedInput("数字超出允许的范围。")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise MalformedInput("数字超出允许的范围。")
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return value


def parse_json(text: str | bytes):
    """Parse JSON from outside and check it; raise MalformedInput with a Chinese message otherwise."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise NotJson("数据不是有效的 UTF-8 编码。") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise MalformedInput("数据嵌套层次过深。") from None
    except ValueError:
        raise NotJson("消息格式不正确（不是有效的 JSON）。") from None
    return check_value(value)
