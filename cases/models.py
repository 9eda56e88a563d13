"""Cases (转办件): questions escalated from a chat to 省长信箱, a 厅长信箱 or a department, with their history."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chat.models import Conversation
from departments.models import Department

# A case passed on this many times while no unit has accepted it needs the information center.
COORDINATION_PASS_ONS = 3


class TargetKind(models.TextChoices):
    GOVERNOR_MAILBOX = "governor_mailbox", _("省长信箱")
    DIRECTOR_MAILBOX = "director_mailbox", _("厅长信箱")
    DEPARTMENT = "department", _("部门")


class CaseStatus(models.TextChoices):
    PENDING = "pending", _("待受理")
    PROCESSING = "processing", _("办理中")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    RETURNED = "returned", _("退回")


# Statuses in which the lead unit still owes an answer; only these can be overdue.
OPEN_STATUSES = (CaseStatus.PENDING, CaseStatus.PROCESSING)


class Case(models.Model):
    """A case (转办件) escalated from a consultation, tracked by its number (受理编号) and query code (查询码)."""

    tracking_number = models.CharField(_("受理编号"), max_length=24, unique=True)
    query_code_hash = models.CharField(_("查询码摘要"), max_length=128, editable=False)
    target_kind = models.CharField(_("转办对象"), max_length=24, choices=TargetKind.choices, db_index=True)
    target_department = models.ForeignKey(
        Department,
        verbose_name=_("收件部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="addressed_cases",
        help_text=_("省长信箱的转办件为空"),
    )
    lead_unit = models.ForeignKey(
        Department,
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_cases",
        help_text=_("当前负责办理的部门；省长信箱的转办件由信息中心指定"),
    )
    source_conversation = models.ForeignKey(
        Conversation,
        verbose_name=_("来源会话"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("市民"), on_delete=models.PROTECT, related_name="cases"
    )
    question = models.TextField(_("问题"))
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("转办人"), on_delete=models.PROTECT, related_name="escalated_cases"
    )
    internal_note = models.TextField(_("内部备注"), blank=True, help_text=_("仅工作人员可见，不向市民公开"))
    status = models.CharField(
        _("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.PENDING, db_index=True
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    reply = models.TextField(_("答复内容"), blank=True, help_text=_("公开的答复，市民在“我的咨询”和查询页可见"))
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("答复人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    pass_on_count = models.PositiveSmallIntegerField(_("转交次数"), default=0)
    due_at = models.DateTimeField(_("办理期限"), db_index=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("转办件")
        verbose_name_plural = _("转办件")
        indexes = [
            models.Index(fields=["lead_unit", "status", "due_at"], name="case_lead_unit_status"),
            models.Index(fields=["citizen", "-created_at"], name="case_citizen_recent"),
        ]

    def __str__(self):
        return self.tracking_number

    @property
    def target_label(self) -> str:
        """Name the addressee as the citizen reads it: 省长信箱, 省公安厅厅长信箱 or 省公安厅."""
        if self.target_kind == TargetKind.GOVERNOR_MAILBOX:
            return str(TargetKind.GOVERNOR_MAILBOX.label)
        name = self.target_department.name if self.target_department_id else ""
        if self.target_kind == TargetKind.DIRECTOR_MAILBOX:
            return f"{name}厅长信箱"
        return name

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATUSES and self.due_at < timezone.now()

    @property
    def needs_coordination(self) -> bool:
        """Return whether the information center must step in (passed on too often, nobody accepted)."""
        return self.status == CaseStatus.PENDING and self.pass_on_count >= COORDINATION_PASS_ONS


class EventKind(models.TextChoices):
    ESCALATED = "escalated", _("转办")
    ACCEPTED = "accepted", _("受理")
    REPLIED = "replied", _("答复")
    CLOSED = "closed", _("办结")
    RETURNED = "returned", _("退回")
    PASSED_ON = "passed_on", _("转交")
    ASSIGNED = "assigned", _("指定承办单位")


class CaseEvent(models.Model):
    """One step of a case: who did what, when, and how the status moved."""

    case = models.ForeignKey(Case, verbose_name=_("转办件"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("操作"), max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(_("原状态"), max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=CaseStatus.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("操作后的承办单位"),
    )
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["case_id", "created_at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self):
        return f"{self.case} {self.get_kind_display()}"


class TrackingCounter(models.Model):
    """The last tracking number handed out on one day; locked while the next one is taken."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("受理编号计数")
        verbose_name_plural = _("受理编号计数")

    def __str__(self):
        return f"{self.day} {self.last}"
