"""The information center serves a citizen's written request (书面申请) to copy or delete their data.

Two admin actions over citizens' accounts; each asks for the request's reference first, and both
go through portal.rights, which audits the request and its completion.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra import ratelimit

from . import rights
from .models import CitizenDataRequest


class WrittenRequestForm(forms.Form):
    request_note = forms.CharField(
        label="书面申请",
        max_length=200,
        help_text="申请书的编号、收到日期和核验身份的方式，例如“2026-11-20 收到，第 12 号，已核验身份证原件”。",
        error_messages={"required": "请填写书面申请的编号和收到日期。"},
    )
    format = forms.ChoiceField(label="文件格式", choices=[("xlsx", "Excel 表格"), ("json", "JSON")], required=False)


@admin.register(CitizenDataRequest)
class CitizenDataRequestAdmin(admin.ModelAdmin):
    list_display = ("username", "masked_phone", "is_active", "date_joined")
    search_fields = ("username", "phone")
    actions = ["export_data", "delete_data"]
    fields = readonly_fields = ("username", "masked_phone", "is_active", "date_joined", "last_login")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("手机号"))
    def masked_phone(self, user):
        return user.masked_phone

    def _ask(self, request, queryset, action: str, title: str, form):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/portal/citizendatarequest/written_request.html", context)

    @admin.action(description=_("按书面申请导出所选市民的全部数据"), permissions=["change"])
    def export_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "一次只能为一位市民导出数据。", messages.ERROR)
            return None
        form = WrittenRequestForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._ask(request, queryset, "export_data", "按书面申请导出个人数据", form)
        user = queryset.get()
        content, content_type, extension = rights.export_personal_data(
            user=user,
            by=request.user,
            fmt=form.cleaned_data["format"] or "xlsx",
            request_note=form.cleaned_data["request_note"],
            ip_address=ratelimit.client_ip(request),
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="citizen-{user.pk}-{timezone.localdate():%Y%m%d}.{extension}"'
        )
        return response

    @admin.action(description=_("按书面申请注销所选市民账户并删除个人数据"), permissions=["change"])
    def delete_data(self, request, queryset):
        form = WrittenRequestForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._ask(request, queryset, "delete_data", "按书面申请注销账户并删除个人数据", form)
        users = list(queryset.filter(is_active=True))
        for user in users:
            rights.delete_account(
                user=user,
                by=request.user,
                request_note=form.cleaned_data["request_note"],
                ip_address=ratelimit.client_ip(request),
            )
        self.message_user(request, f"已注销 {len(users)} 个账户并删除其个人数据，已记入审计日志。", messages.SUCCESS)
        return None
