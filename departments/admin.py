"""Admin for departments, windows and the working-day calendar."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from infra import audit

from . import actions
from .calendar import unknown_years_ahead
from .models import CalendarDay, CalendarYear, DayKind, Department, Window
from .resources import ChineseExportForm, DepartmentResource, SpreadsheetImportMixin, WindowResource

WEEKDAYS = "一二三四五六日"


class SpreadsheetAdmin(SpreadsheetImportMixin, ImportExportModelAdmin):
    """Import and export as XLSX and CSV; importing needs the right to add and change rows."""

    formats = [base_formats.XLSX, base_formats.CSV]
    export_form_class = ChineseExportForm
    import_template_name = "admin/departments/import.html"
    import_error_display = ("message",)

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


@admin.register(Department)
class DepartmentAdmin(SpreadsheetAdmin):
    resource_classes = [DepartmentResource]
    list_display = ("name", "short_name", "level", "parent", "window_count", "contact_phone", "ordering", "is_active")
    list_display_links = ("name",)
    list_editable = ("ordering", "is_active")
    list_filter = ("level", "is_active", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "short_name", "address", "contact_phone")
    autocomplete_fields = ("parent",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "short_name", "level", "parent")}),
        (_("联系方式"), {"fields": ("contact_phone", "address", "website")}),
        (_("显示"), {"fields": ("ordering", "is_active")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(window_total=Count("windows"))

    @admin.display(description=_("窗口"), ordering="window_total")
    def window_count(self, department: Department):
        url = reverse("admin:departments_window_changelist") + f"?department__id__exact={department.pk}"
        return format_html('<a href="{}">{} 个</a>', url, department.window_total)


@admin.register(Window)
class WindowAdmin(SpreadsheetAdmin):
    resource_classes = [WindowResource]
    list_display = (
        "name",
        "department_name",
        "officer_names",
        "max_concurrent_chats",
        "duty_hours",
        "auto_assign",
        "ordering",
        "is_active",
    )
    list_display_links = ("name",)
    list_filter = ("is_active", "auto_assign", "department__level", "department")
    list_select_related = ("department",)
    search_fields = ("name", "department__name", "department__short_name", "duty_statement")
    autocomplete_fields = ("department", "officers")
    fieldsets = (
        (None, {"fields": ("department", "name", "ordering", "is_active")}),
        (_("职责说明"), {"fields": ("duty_statement", "accepts", "does_not_accept")}),
        (_("值班"), {"fields": ("officers", "duty_start", "duty_end", "max_concurrent_chats", "auto_assign")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("officers")

    def save_related(self, request, form, formsets, change):
        window = form.instance
        before = set(window.officers.values_list("id", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(window.officers.values_list("id", flat=True))
        if before != after:
            names = dict(get_user_model().objects.filter(pk__in=before | after).values_list("id", "username"))
            added = "、".join(names[i] for i in sorted(after - before)) or "无"
            removed = "、".join(names[i] for i in sorted(before - after)) or "无"
            audit.record(
                request=request,
                action=audit.WINDOW_ASSIGNMENT,
                object_type="窗口",
                object_id=window.pk,
                summary=f"{window}：加入 {added}；移出 {removed}",
            )
        # Open desks of officers added, removed or on a window switched off follow at once.
        actions.notify_officer_windows_changed(officer_ids=before | after)

    @admin.display(description=_("部门"), ordering="department__ordering")
    def department_name(self, window: Window) -> str:
        return window.department.display_name

    @admin.display(description=_("值班人员"))
    def officer_names(self, window: Window) -> str:
        return "、".join(str(officer) for officer in window.officers.all()) or "—"

    @admin.display(description=_("值班时间"))
    def duty_hours(self, window: Window) -> str:
        return f"{window.duty_start:%H:%M}–{window.duty_end:%H:%M}"


class CalendarWarningMixin:
    """Warn on the calendar lists when this year's (or, from November, next year's) schedule is missing."""

    def changelist_view(self, request, extra_context=None):
        for year in unknown_years_ahead():
            messages.warning(request, f"尚未录入 {year} 年的节假日安排，该年按周一至周五计算工作日")
        return super().changelist_view(request, extra_context)


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarWarningMixin, admin.ModelAdmin):
    list_display = ("year", "source", "holiday_count", "makeup_count", "notes")
    search_fields = ("year", "source", "notes")
    actions = ["reload_from_package"]

    @admin.display(description=_("工作日休息天数"))
    def holiday_count(self, calendar_year: CalendarYear) -> int:
        return CalendarDay.objects.filter(date__year=calendar_year.year, kind=DayKind.HOLIDAY).count()

    @admin.display(description=_("调休上班天数"))
    def makeup_count(self, calendar_year: CalendarYear) -> int:
        return CalendarDay.objects.filter(date__year=calendar_year.year, kind=DayKind.MAKEUP_WORKDAY).count()

    @admin.action(description=_("从 chinesecalendar 包重新载入所选年份（覆盖手工修改）"), permissions=["change"])
    def reload_from_package(self, request, queryset):
        import chinese_calendar

        package_years = {day.year for day in chinese_calendar.holidays} | {
            day.year for day in chinese_calendar.workdays
        }
        selected = set(queryset.values_list("year", flat=True))
        unknown = sorted(selected - package_years)
        if unknown:
            self.message_user(
                request,
                f"chinesecalendar {chinese_calendar.__version__} 不包含 {'、'.join(map(str, unknown))} 年，"
                "这些年份未改动，请按国务院办公厅通知手工录入。",
                messages.WARNING,
            )
        wanted = sorted(selected & package_years)
        if wanted:
            actions.seed_calendar_from_package(overwrite=True, years=wanted)
            self.message_user(request, f"已重新载入 {'、'.join(map(str, wanted))} 年的节假日安排。", messages.SUCCESS)


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarWarningMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "kind", "name")
    list_filter = ("kind", "name")
    search_fields = ("name", "date")
    date_hierarchy = "date"
    ordering = ("-date",)  # the coming holidays first, not 2004's
    list_per_page = 50

    @admin.display(description=_("星期"))
    def weekday(self, day: CalendarDay) -> str:
        return f"星期{WEEKDAYS[day.date.weekday()]}"

    def get_readonly_fields(self, request, obj=None):
        # A day is keyed by its date: to move it, delete it and add the new date.
        return ("date",) if obj else ()

    def save_model(self, request, obj, form, change):
        day = actions.set_calendar_day(date=obj.date, kind=obj.kind, name=obj.name)
        obj.pk = day.pk
