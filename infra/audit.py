"""A hook to the audit log (审计日志) for the apps below oversight.

The audit log lives in oversight, which nothing may import. An app that must leave a trace (an account
changed in the console, a search of message text) calls `record`; oversight listens (registered in its
AppConfig.ready) and appends the entry. oversight is always installed; tests/security/test_audit.py
proves the entries arrive.
"""
from django.dispatch import Signal

from .client import client_address

# Actions that apps below oversight record; oversight.models.AuditAction names them in Chinese.
ACCOUNT_CHANGE = "account_change"
PASSWORD_SET = "password_set"
SEARCH_CONTENT = "search_content"
VIEW_CONTENT = "view_content"
WINDOW_ASSIGNMENT = "window_assignment"

audit_requested = Signal()


def record(*, request=None, actor=None, action: str, object_type: str = "", object_id="", summary: str = "") -> None:
    """Ask the audit log to append an entry; who and from where come from the request when given."""
    if actor is None and request is not None:
        actor = request.user
    audit_requested.send(
        sender=None,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary,
        ip_address=client_address(request) if request is not None else None,
    )


class AuditedReadsMixin:
    """For ModelAdmins whose rows hold citizens' text (case questions, archived questions): every
    search by a word (with its query) and every opening of a row is written to the audit log."""

    audit_object_type = ""

    def get_search_results(self, request, queryset, search_term):
        if search_term.strip():
            record(request=request, action=SEARCH_CONTENT, object_type=self.audit_object_type or self.opts.verbose_name,
                   summary=f"检索{self.opts.verbose_name}：{search_term.strip()[:200]}")
        return super().get_search_results(request, queryset, search_term)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            record(request=request, action=VIEW_CONTENT, object_type=self.audit_object_type or self.opts.verbose_name,
                   object_id=object_id, summary=f"查看{self.opts.verbose_name} #{object_id}")
        return response
