"""The audit log (审计日志) as the apps below oversight reach it.

The log itself (oversight.AuditLog, append-only) sits at the top, and nothing imports oversight; so
oversight registers its writer here when the app registry is ready (oversight.apps), and an app
below records through record(). Without a writer recording fails loudly: an audited request must
not pass unrecorded. tests/security/test_audit.py proves the entries arrive.
"""

from collections.abc import Callable

from .client import client_address

# Actions that apps below oversight record; oversight.models.AuditAction names them in Chinese.
ACCOUNT_CHANGE = "account_change"
PASSWORD_SET = "password_set"
SEARCH_CONTENT = "search_content"
VIEW_CONTENT = "view_content"
WINDOW_ASSIGNMENT = "window_assignment"

_writer: Callable | None = None


class AuditUnavailable(RuntimeError):
    """No audit writer is registered."""


def register_writer(writer: Callable) -> None:
    """Install the function that appends to the audit log (keyword arguments as record's, less request)."""
    global _writer
    _writer = writer


def record(
    *,
    request=None,
    actor=None,
    action: str,
    object_type: str = "",
    object_id="",
    summary: str = "",
    ip_address: str | None = None,
):
    """Append an entry to the audit log and return it; who and from where come from the request when given."""
    if _writer is None:
        raise AuditUnavailable("审计日志不可用，操作未执行。")
    if request is not None:
        actor = actor if actor is not None else request.user
        ip_address = ip_address or client_address(request)
    return _writer(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary,
        ip_address=ip_address,
    )


class AuditedReadsMixin:
    """For ModelAdmins whose rows hold citizens' text (case questions, archived questions): every
    search by a word (with its query) and every opening of a row is written to the audit log."""

    audit_object_type = ""

    def get_search_results(self, request, queryset, search_term):
        if search_term.strip():
            record(
                request=request,
                action=SEARCH_CONTENT,
                object_type=self.audit_object_type or self.opts.verbose_name,
                summary=f"检索{self.opts.verbose_name}：{search_term.strip()[:200]}",
            )
        return super().get_search_results(request, queryset, search_term)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            record(
                request=request,
                action=VIEW_CONTENT,
                object_type=self.audit_object_type or self.opts.verbose_name,
                object_id=object_id,
                summary=f"查看{self.opts.verbose_name} #{object_id}",
            )
        return response
