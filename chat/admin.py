"""Admin for conversations, presence and canned replies.

Conversations and presence are written only by the chat actions, so the console shows them read-only.
Message text (and rating comments) is not shown here at all: the one way for staff to read it is the
audited transcript in 督查考核 (oversight.admin.TranscriptAdmin), which writes the audit log for every
opening, search and export. Canned replies are edited here.
"""

from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from infra.admin import ReadOnlyMixin
from infra.privacy import person_label

from .models import CannedReply, Conversation, DeskConnection, OfficerPresence, PresenceInterval, Transfer


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Rows that only the chat actions write."""


class TransferInline(ReadOnlyMixin, admin.TabularInline):
    model = Transfer
    fk_name = "conversation"
    fields = ("created_at", "from_window", "to_window", "by", "note")
    readonly_fields = fields
    extra = 0


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "window",
        "citizen_masked",
        "officer",
        "status",
        "classification",
        "created_at",
        "answered_live",
        "is_offline_question",
        "due_at",
        "rating",
    )
    list_display_links = ("id", "window")
    list_filter = (
        "status",
        "classification",
        "answered_live",
        "is_offline_question",
        "rating",
        "window__department",
    )
    list_select_related = ("window__department", "citizen", "officer")
    search_fields = (
        "=id",
        "citizen__username",
        "citizen__phone",
        "officer__username",
        "officer__display_name",
        "window__name",
    )
    date_hierarchy = "created_at"
    # No messages here: message text is read only through 督查考核 › 对话记录, which writes the audit log.
    inlines = [TransferInline]
    # The timestamps are for checking figures; folded away so the transcript comes first.
    fieldsets = (
        (None, {"fields": ("window", "citizen_masked", "officer", "status", "classification", "due_at")}),
        (_("评价"), {"fields": ("rating", "rated_at")}),
        (_("公开同意"), {"fields": ("publication_consent", "publication_consent_at", "publication_consent_by")}),
        (
            _("时间与计数"),
            {
                "classes": ("collapse",),
                "fields": (
                    "created_at",
                    "queued_at",
                    "statement_acknowledged_at",
                    "first_question_at",
                    "assigned_at",
                    "first_response_at",
                    "answered_live",
                    "is_offline_question",
                    "busy_notice_sent_at",
                    "closed_at",
                    "closed_by",
                    "ticket",
                    "last_seq",
                    "last_message_at",
                    "citizen_read_seq",
                    "officer_read_seq",
                ),
            },
        ),
    )

    @admin.display(description=_("市民"), ordering="citizen__username")
    def citizen_masked(self, conversation: Conversation) -> str:
        return person_label(conversation.citizen) or "—"


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("conversation", "from_window", "to_window", "by", "created_at", "note")
    list_filter = ("from_window__department", "to_window__department")
    list_select_related = ("conversation", "from_window__department", "to_window__department", "by")
    search_fields = ("=conversation__id", "note", "from_window__name", "to_window__name")
    date_hierarchy = "created_at"


@admin.register(OfficerPresence)
class OfficerPresenceAdmin(ReadOnlyAdmin):
    list_display = ("officer", "status", "chosen_status", "since")
    list_filter = ("status", "chosen_status", "officer__windows__department")
    list_select_related = ("officer",)
    search_fields = ("officer__username", "officer__display_name")


@admin.register(DeskConnection)
class DeskConnectionAdmin(ReadOnlyAdmin):
    list_display = ("officer", "channel_name", "connected_at", "last_heartbeat")
    list_select_related = ("officer",)
    search_fields = ("officer__username", "officer__display_name", "channel_name")
    date_hierarchy = "connected_at"


@admin.register(PresenceInterval)
class PresenceIntervalAdmin(ReadOnlyAdmin):
    list_display = ("officer", "status", "started_at", "ended_at", "duration")
    list_filter = ("status", "officer__windows__department")
    list_select_related = ("officer",)
    search_fields = ("officer__username", "officer__display_name")
    date_hierarchy = "started_at"

    @admin.display(description=_("时长"))
    def duration(self, interval: PresenceInterval) -> str:
        if interval.ended_at is None:
            return _("进行中")
        minutes = int((interval.ended_at - interval.started_at).total_seconds() // 60)
        return f"{minutes // 60} 小时 {minutes % 60} 分" if minutes >= 60 else f"{minutes} 分"


class CannedReplyScopeFilter(admin.SimpleListFilter):
    title = _("适用范围")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("global", _("所有窗口通用")), ("window", _("指定窗口"))]

    def queryset(self, request, queryset):
        if self.value() == "global":
            return queryset.filter(window__isnull=True)
        if self.value() == "window":
            return queryset.filter(window__isnull=False)
        return queryset


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "scope", "short_body", "ordering")
    list_editable = ("ordering",)
    list_filter = (CannedReplyScopeFilter, "window__department")
    list_select_related = ("window__department",)
    search_fields = ("title", "body", "window__name", "window__department__name")
    autocomplete_fields = ("window",)

    @admin.display(description=_("适用范围"), ordering="window")
    def scope(self, reply: CannedReply) -> str:
        return str(reply.window) if reply.window_id else _("所有窗口通用")

    @admin.display(description=_("内容"))
    def short_body(self, reply: CannedReply) -> str:
        return Truncator(reply.body).chars(60)
