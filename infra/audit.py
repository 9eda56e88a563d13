"""The audit log (审计日志) as the lower layers reach it.

The log itself (oversight.AuditLog) sits at the top, and nothing imports oversight; so oversight
registers its writer here when the app registry is ready (oversight.apps), and an app below
records through record(). Without a writer (oversight not installed) recording fails loudly:
an audited request must not pass unrecorded.
"""
from collections.abc import Callable

_writer: Callable | None = None


class AuditUnavailable(RuntimeError):
    """No audit writer is registered."""


def register_writer(writer: Callable) -> None:
    """Install the function that appends to the audit log (keyword arguments as record's)."""
    global _writer
    _writer = writer


def record(*, actor, action: str, object_type: str = "", object_id="", summary: str = "", ip_address: str | None = None):
    """Append an entry to the audit log through the registered writer and return it."""
    if _writer is None:
        raise AuditUnavailable("审计日志不可用，操作未执行。")
    return _writer(actor=actor, action=action, object_type=object_type, object_id=object_id, summary=summary,
                   ip_address=ip_address)
