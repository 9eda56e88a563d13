"""Admin for cases: the information center's list with filters, and the workflow steps over cases.actions.

Cases are created only by escalation from a chat and change only through the actions, so every field
is read-only here; the steps are forms under the case (reply, return, pass on, assign lead unit)
and bulk actions on the list (accept, close).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from departments.models import Department
from infra.admin import ReadOnlyMixin
from infra.audit import AuditedReadsMixin
from infra.privacy import person_label

from . import actions, selectors, workflow
from .models import Case, CaseEvent, CaseStatus


class AttentionFilter(admin.SimpleListFilter):
    """The information center's lists: cases to coordinate, and overdue cases."""

    title = _("信息中心关注")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("coordination", _("需信息中心协调")), ("overdue", _("已逾期")), ("unassigned", _("未指定承办单位"))]

    def queryset(self, request, queryset):
        if self.value() == "coordination":
            return queryset.filter(selectors.coordination_q())
        if self.value() == "overdue":
            return queryset.filter(selectors.overdue_q())
        if self.value() == "unassigned":
            return queryset.filter(lead_unit__isnull=True).exclude(status__in=[CaseStatus.CLOSED])
        return queryset


class CaseEventInline(ReadOnlyMixin, admin.TabularInline):
    model = CaseEvent
    fields = ("created_at", "kind", "actor", "from_status", "to_status", "department", "note")
    readonly_fields = fields
    extra = 0
    ordering = ("created_at", "id")


@admin.register(Case)
class CaseAdmin(AuditedReadsMixin, admin.ModelAdmin):
    list_display = (
        "tracking_number",
        "target",
        "lead_unit",
        "status",
        "pass_on_count",
        "created_at",
        "due_at",
        "overdue",
        "coordination",
        "replied_at",
    )
    list_filter = (AttentionFilter, "status", "target_kind", "lead_unit", "target_department")
    list_select_related = ("lead_unit", "target_department")
    search_fields = ("=tracking_number", "question")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = [CaseEventInline]
    actions = ["accept_selected", "close_selected"]
    change_form_template = "cases/admin/case_change_form.html"
    change_list_template = "cases/admin/case_change_list.html"
    fieldsets = (
        (
            None,
            {"fields": ("tracking_number", "target_kind", "target_department", "lead_unit", "status", "pass_on_count")},
        ),
        (_("问题"), {"fields": ("question", "citizen_masked", "source_conversation", "escalated_by", "internal_note")}),
        (_("答复"), {"fields": ("reply", "replied_by", "return_reason")}),
        (_("时间"), {"fields": ("created_at", "due_at", "accepted_at", "replied_at", "closed_at", "returned_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [field for group in self.fieldsets for field in group[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("转办对象"), ordering="target_kind")
    def target(self, case: Case) -> str:
        return case.target_label

    @admin.display(description=_("逾期"), boolean=True)
    def overdue(self, case: Case) -> bool:
        return case.is_overdue

    @admin.display(description=_("需协调"), boolean=True)
    def coordination(self, case: Case) -> bool:
        return case.needs_coordination

    @admin.display(description=_("市民"))
    def citizen_masked(self, case: Case) -> str:
        return person_label(case.citizen)

    def changelist_view(self, request, extra_context=None):
        queryset = self.get_queryset(request)
        extra_context = {
            **(extra_context or {}),
            "coordination_count": queryset.filter(selectors.coordination_q()).count(),
            "overdue_count": queryset.filter(selectors.overdue_q()).count(),
            "unassigned_count": queryset.filter(lead_unit__isnull=True, status=CaseStatus.PENDING).count(),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "workflow_departments": Department.objects.filter(is_active=True),
            "can_handle": self.has_change_permission(request),
            # Every field is read-only: the steps below the case replace the save buttons.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # Steps --------------------------------------------------------------------------------------

    def _run_bulk(self, request, queryset, step, done: str) -> None:
        succeeded = 0
        for case in queryset:
            try:
                step(case=case, by=request.user)
            except actions.CaseError as error:
                self.message_user(request, f"{case.tracking_number}：{error.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{done} {succeeded} 件。", messages.SUCCESS)

    @admin.action(description=_("受理所选转办件"), permissions=["change"])
    def accept_selected(self, request, queryset):
        self._run_bulk(request, queryset, actions.accept_case, "已受理")

    @admin.action(description=_("办结所选转办件（须已答复）"), permissions=["change"])
    def close_selected(self, request, queryset):
        self._run_bulk(request, queryset, actions.close_case, "已办结")

    def get_urls(self):
        return [
            path(
                "<int:case_id>/workflow/",
                self.admin_site.admin_view(require_POST(self.workflow_view)),
                name="cases_case_workflow",
            ),
            *super().get_urls(),
        ]

    def workflow_view(self, request, case_id: int):
        """Run one step of the workflow from the forms under a case, then go back to the case."""
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            raise Http404("没有找到这个转办件。")
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        try:
            done = workflow.run_step(request.POST.get("step", ""), case=case, by=request.user, form=request.POST)
        except actions.CaseError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("admin:cases_case_change", args=[case.pk]))


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("case", "kind", "actor", "from_status", "to_status", "department", "short_note", "created_at")
    list_filter = ("kind", "to_status", "department")
    list_select_related = ("case", "actor", "department")
    search_fields = ("=case__tracking_number",)
    date_hierarchy = "created_at"

    @admin.display(description=_("说明"))
    def short_note(self, event: CaseEvent) -> str:
        return Truncator(event.note).chars(60)
