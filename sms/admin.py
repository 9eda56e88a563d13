from django.contrib import admin

from .models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    """短信发送记录: read-only; the number is masked and codes are hidden once a provider took the text."""

    list_display = (
        "created_at",
        "masked_phone",
        "template",
        "status",
        "attempts",
        "backend",
        "provider_answer",
        "sent_at",
    )
    list_filter = ("status", "template", "backend")
    search_fields = ("masked_phone", "provider_id", "subject")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "masked_phone",
        "template",
        "text",
        "subject",
        "status",
        "backend",
        "attempts",
        "provider_answer",
        "provider_id",
        "next_attempt_at",
        "sent_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
