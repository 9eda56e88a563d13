"""The information center's console for oversight: dashboard, weekly report, downloads, transcripts, audit log.

Every page here is read-only. Access needs a supervisor (信息中心 or admin role) with the matching view
permission; a staff officer gets 403.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ExportMixin

from chat.models import Message
from departments.resources import ChineseExportForm
from infra.admin import ReadOnlyMixin
from infra.client import client_address
from infra.privacy import person_label

from . import actions, dashboard, exports, figures, selectors, wallboard
from .actions import record_audit
from .models import Assessment, AssessmentRule, AuditAction, AuditLog, MonthClose, MonthlyFigure, Transcript
from .periods import PeriodError, parse_month
from .resources import AuditLogResource, TranscriptResource


def _client_ip(request) -> str | None:
    return client_address(request)


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Nobody adds, changes or deletes here, superusers included; only supervisors with the view permission look."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_supervisor and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_supervisor and super().has_module_permission(request)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    """考核看板: the dashboard is this entry's list page; the weekly report and downloads hang below it."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("", view(self.dashboard_view), name="oversight_assessment_changelist"),
            path("weekly/", view(self.weekly_view), name="oversight_assessment_weekly"),
            path("download/", view(self.download_view), name="oversight_assessment_download"),
            path("close/", view(self.close_view), name="oversight_assessment_close"),
            path("year/", view(self.year_view), name="oversight_assessment_year"),
            path("wallboard/", view(self.wallboard_view), name="oversight_assessment_wallboard"),
        ]

    def _require_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied("只有信息中心人员可以查看考核数据。")

    def dashboard_view(self, request):
        self._require_view(request)
        period, department_id, errors = dashboard.parse_filters(request.GET)
        for error in errors:
            messages.error(request, error)
        context = {
            **self.admin_site.each_context(request),
            **dashboard.dashboard_context(period, department_id),
            "can_close": request.user.has_perm("oversight.add_monthclose"),
            "title": f"考核看板 · {period.label}",
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/oversight/dashboard.html", context)

    def close_view(self, request):
        """定稿: freeze an ended month (POST only, needs the add permission of 考核定稿)."""
        self._require_view(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"], "请在考核看板上点击“定稿”按钮。")
        if not request.user.has_perm("oversight.add_monthclose"):
            raise PermissionDenied("只有有定稿权限的信息中心人员可以定稿。")
        month = request.POST.get("month", "")
        try:
            period = parse_month(month)
            actions.close_month(period=period, actor=request.user, ip_address=_client_ip(request))
        except (PeriodError, actions.OversightError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{period.label}考核已定稿。")
        target = reverse("admin:oversight_assessment_changelist")
        return HttpResponseRedirect(f"{target}?month={month}" if month[:4].isdigit() else target)

    def wallboard_view(self, request):
        """实时监控: the page renders the state once; the websocket keeps it live."""
        self._require_view(request)
        state = wallboard.state()
        context = {
            **self.admin_site.each_context(request),
            "state": state,
            "state_at": timezone.now(),
            "threshold_text": wallboard.threshold_text(state["threshold"]),
            "title": "实时监控",
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/oversight/wallboard.html", context)

    def year_view(self, request):
        self._require_view(request)
        try:
            year = dashboard.parse_year(request.GET.get("year"))
        except PeriodError as error:
            messages.error(request, str(error))
            year = timezone.localdate().year
        context = {
            **self.admin_site.each_context(request),
            **dashboard.year_context(year),
            "title": f"{year} 年度考核",
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/oversight/year.html", context)

    def weekly_view(self, request):
        self._require_view(request)
        departments = list(selectors.departments())
        raw = request.GET.get("department") or (str(departments[0].id) if departments else "")
        try:
            if not raw.isdigit():
                raise PeriodError(f"没有这个部门：{raw}。")
            context = dashboard.weekly_context(int(raw), request.GET.get("week"))
        except PeriodError as error:
            messages.error(request, str(error))
            context = {"departments": departments, "failed": True}
        context.update(self.admin_site.each_context(request))
        context["opts"] = self.opts
        context["title"] = (
            (
                f"{context['department'].name} 一周运行情况（{context['week'].first:%Y-%m-%d} 至 "
                f"{context['week'].last:%Y-%m-%d}）"
            )
            if "week" in context
            else "一周运行情况"
        )
        return TemplateResponse(request, "admin/oversight/weekly.html", context)

    def download_view(self, request):
        self._require_view(request)
        period, department_id, errors = dashboard.parse_filters(request.GET)
        if errors:
            for error in errors:
                messages.error(request, error)
            return HttpResponse(status=302, headers={"Location": reverse("admin:oversight_assessment_changelist")})
        report = figures.report_for(period, department_id=department_id)
        span = f"{period.first:%Y-%m}" if period.is_month else f"{period.first:%Y%m%d}-{period.last:%Y%m%d}"
        name = f"assessment-{span}{'-d' + str(department_id) if department_id else ''}"
        if request.GET.get("format") == "csv":
            response = HttpResponse(
                ("\ufeff" + exports.csv_text(report)).encode("utf-8"), content_type="text/csv; charset=utf-8"
            )
            name += ".csv"
        else:
            response = HttpResponse(
                exports.workbook_bytes(report),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            name += ".xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        record_audit(
            actor=request.user,
            action=AuditAction.EXPORT_ASSESSMENT,
            object_type="考核表",
            object_id=span,
            summary=f"下载{period.label}考核表 {name}",
            ip_address=_client_ip(request),
        )
        return response


@admin.register(Transcript)
class TranscriptAdmin(ExportMixin, ReadOnlyAdmin):
    """对话记录: read-only, searchable and filterable; opening one is written to the audit log."""

    resource_classes = [TranscriptResource]
    export_form_class = ChineseExportForm
    list_display = [
        "id",
        "department",
        "window_name",
        "citizen_masked",
        "officer",
        "status",
        "classification",
        "first_question_at",
        "answered_live",
        "is_offline_question",
        "rating",
    ]
    list_display_links = ["id"]
    list_filter = [
        "window__department",
        "status",
        "classification",
        "answered_live",
        "is_offline_question",
        "rating",
        "first_question_at",
    ]
    search_fields = [
        "=id",
        "=citizen__phone",
        "window__name",
        "window__department__name",
        "officer__display_name",
        "messages__body",
    ]
    search_help_text = "按会话编号、市民手机号（完整号码）、部门、窗口、值班人员或消息内容搜索"
    date_hierarchy = "first_question_at"
    list_select_related = ["window__department", "citizen", "officer"]
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "department",
        "window_name",
        "citizen_masked",
        "officer",
        "status",
        "classification",
        "first_question_at",
        "assigned_at",
        "first_response_at",
        "answered_live",
        "is_offline_question",
        "due_at",
        "closed_at",
        "rating",
        "rating_comment",
        "transcript",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["oversight/oversight.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("window__department", "citizen", "officer")

    @admin.display(description="部门", ordering="window__department__ordering")
    def department(self, obj):
        return obj.window.department.name

    @admin.display(description="窗口", ordering="window__name")
    def window_name(self, obj):
        return obj.window.name

    @admin.display(description="市民")
    def citizen_masked(self, obj):
        return person_label(obj.citizen)

    @admin.display(description="对话记录")
    def transcript(self, obj):
        rows = Message.objects.filter(conversation=obj).select_related("sender").order_by("seq")

        def who(message):
            if message.sender_kind == "citizen":
                return f"市民 {person_label(message.sender)}"
            if message.sender_kind == "officer":
                return str(message.sender) if message.sender else "值班人员"
            return "系统"

        return (
            format_html(
                '<table class="oversight-transcript"><tbody>{}</tbody></table>',
                format_html_join(
                    "",
                    '<tr class="from-{}"><td>{}</td><td>{}</td><td>{}</td></tr>',
                    (
                        (m.sender_kind, f"{timezone.localtime(m.created_at):%m-%d %H:%M:%S}", who(m), m.body)
                        for m in rows
                    ),
                ),
            )
            if obj.pk
            else ""
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and request.method == "GET":
            conversation = self.get_object(request, object_id)
            record_audit(
                actor=request.user,
                action=AuditAction.VIEW_TRANSCRIPT,
                object_type="会话",
                object_id=object_id,
                summary=f"查看对话记录 #{object_id} {conversation.window if conversation else ''}",
                ip_address=_client_ip(request),
            )
        return response

    def get_search_results(self, request, queryset, search_term):
        # A search by a word reveals which conversations contain it: it is a read of message text.
        if search_term.strip():
            record_audit(
                actor=request.user,
                action=AuditAction.SEARCH_CONTENT,
                object_type="会话",
                summary=f"检索对话记录：{search_term.strip()[:200]}",
                ip_address=_client_ip(request),
            )
        return super().get_search_results(request, queryset, search_term)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        record_audit(
            actor=request.user,
            action=AuditAction.EXPORT_TRANSCRIPTS,
            object_type="会话",
            summary=f"导出对话列表 {queryset.count()} 条（{file_format.get_title()}）",
            ip_address=_client_ip(request),
        )
        return data


@admin.register(AuditLog)
class AuditLogAdmin(ExportMixin, ReadOnlyAdmin):
    """审计日志: append-only; nobody may add, change or delete entries here. The information center
    reads, filters and downloads it."""

    resource_classes = [AuditLogResource]
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "summary", "ip_address"]
    list_filter = ["action", "at", "object_type"]
    search_fields = ["actor_name", "object_id", "summary", "=ip_address"]
    date_hierarchy = "at"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(MonthlyFigure)
class MonthlyFigureAdmin(ReadOnlyAdmin):
    """月度考核快照: the frozen figures of purged months."""

    list_display = ["month", "level", "name", "department_name", "answer_rate", "conversations", "computed_at"]
    list_filter = ["month", "level"]
    search_fields = ["name", "department_name"]
    actions = None

    @admin.display(description="咨询量")
    def conversations(self, obj):
        return obj.figures.get("conversations")

    @admin.display(description="答复率")
    def answer_rate(self, obj):
        rate = obj.figures.get("answer_rate")
        return "—" if rate is None else f"{rate * 100:.1f}%"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(MonthClose)
class MonthCloseAdmin(ReadOnlyAdmin):
    """考核定稿: which months are frozen, when and by whom; closing happens on the dashboard."""

    list_display = ["month", "closed_at", "closed_by_name"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(AssessmentRule)
class AssessmentRuleAdmin(admin.ModelAdmin):
    """考核细则: the weights of one year's score; every change is written to the audit log."""

    list_display = [
        "year",
        "answer_rate",
        "on_time_rate",
        "duty_coverage",
        "satisfied_rate",
        "live_rate",
        "direct_rate",
        "rated_share",
        "one_time_rate",
        "updated_at",
    ]
    fields = [
        "year",
        "answer_rate",
        "on_time_rate",
        "duty_coverage",
        "satisfied_rate",
        "live_rate",
        "direct_rate",
        "rated_share",
        "one_time_rate",
        "note",
    ]
    actions = None

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_supervisor and super().has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actions.save_rule(rule=obj, actor=request.user, ip_address=_client_ip(request))
