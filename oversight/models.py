"""Oversight (督查考核): the audit log, snapshots of closed months' figures, and admin entry points."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from chat.models import Conversation


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an audit log entry."""


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("审计日志只能追加，不能修改。")

    def delete(self):
        raise AppendOnlyError("审计日志只能追加，不能删除。")


class AuditAction(models.TextChoices):
    VIEW_TRANSCRIPT = "view_transcript", _("查看对话记录")
    EXPORT_TRANSCRIPTS = "export_transcripts", _("导出对话列表")
    EXPORT_ASSESSMENT = "export_assessment", _("导出考核表")
    PURGE = "purge", _("清理过期记录")
    DATA_EXPORT = "data_export", _("导出个人数据")
    ACCOUNT_DELETE = "account_delete", _("注销账户并删除个人数据")
    SEARCH_CONTENT = "search_content", _("按内容检索")
    VIEW_CONTENT = "view_content", _("查看含市民原文的记录")
    ACCOUNT_CHANGE = "account_change", _("修改账户")
    PASSWORD_SET = "password_set", _("设置密码")
    WINDOW_ASSIGNMENT = "window_assignment", _("调整窗口人员")
    CLOSE_MONTH = "close_month", _("考核定稿")
    CHANGE_RULE = "change_rule", _("修改考核细则")
    VIEW_LIVE = "view_live", _("查看进行中的会话")


class AuditLog(models.Model):
    """An append-only record (审计日志) of who read or exported what, and when."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    # No database constraint: the entry must outlive the account and never be rewritten by a cascade.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=50, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=50, blank=True, db_index=True)
    summary = models.CharField(_("摘要"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError("审计日志只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("审计日志只能追加，不能删除。")


class MonthlyFigure(models.Model):
    """The frozen assessment figures (考核数据) of one closed month for one department, window or officer.

    Taken before expired transcripts are purged, so a closed month's assessment survives its transcripts.
    """

    class Level(models.TextChoices):
        DEPARTMENT = "department", _("部门")
        WINDOW = "window", _("窗口")
        OFFICER = "officer", _("值班人员")
        TOTAL = "total", _("全省合计")

    month = models.DateField(_("月份"), help_text=_("该月第一天"), db_index=True)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    object_id = models.PositiveBigIntegerField(_("对象编号"))
    name = models.CharField(_("名称"), max_length=200)
    department_name = models.CharField(_("所属部门"), max_length=100, blank=True)
    figures = models.JSONField(_("考核数据"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        ordering = ["-month", "level", "object_id"]
        verbose_name = _("月度考核快照")
        verbose_name_plural = _("月度考核快照")
        constraints = [
            models.UniqueConstraint(fields=["month", "level", "object_id"], name="unique_monthly_figure"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.get_level_display()} {self.name}"


class MonthClose(models.Model):
    """The close (定稿) of a month's assessment: from then on its MonthlyFigure rows are the official figures."""

    month = models.DateField(_("月份"), help_text=_("该月第一天"), unique=True)
    closed_at = models.DateTimeField(_("定稿时间"))
    # No database constraint, as for the audit log: the record outlives the account.
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("定稿人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    closed_by_name = models.CharField(_("定稿人账号"), max_length=150, blank=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("考核定稿")
        verbose_name_plural = _("考核定稿")

    def __str__(self):
        return f"{self.month:%Y年%m月} 已定稿"


# The measures a score weighs, with the default weights (out of 100) of docs/assessment.md.
DEFAULT_WEIGHTS = {
    "answer_rate": 20,
    "on_time_rate": 20,
    "duty_coverage": 15,
    "satisfied_rate": 15,
    "live_rate": 10,
    "direct_rate": 10,
    "rated_share": 5,
    "one_time_rate": 5,
}


def _weight(label: str, key: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label, default=DEFAULT_WEIGHTS[key], help_text=_("分值，各项合计 100"))


class AssessmentRule(models.Model):
    """The weights of the measures (考核细则) in one year's score; a year without a rule uses DEFAULT_WEIGHTS."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    answer_rate = _weight(_("答复率"), "answer_rate")
    on_time_rate = _weight(_("按期办结率"), "on_time_rate")
    duty_coverage = _weight(_("值班时段在线率"), "duty_coverage")
    satisfied_rate = _weight(_("满意率"), "satisfied_rate")
    live_rate = _weight(_("即时答复率"), "live_rate")
    direct_rate = _weight(_("直接解答率"), "direct_rate")
    rated_share = _weight(_("参评率"), "rated_share")
    one_time_rate = _weight(_("一次办结率"), "one_time_rate")
    note = models.TextField(_("说明"), blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("考核细则")
        verbose_name_plural = _("考核细则")

    def __str__(self):
        return f"{self.year} 年考核细则"

    def weights(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in DEFAULT_WEIGHTS}

    def clean(self):
        total = sum(value or 0 for value in self.weights().values())
        if total != 100:
            raise ValidationError(f"各项权重合计应为 100，当前合计 {total}。")
        if not 2000 <= (self.year or 0) <= 2100:
            raise ValidationError({"year": "年度应在 2000 至 2100 之间。"})


class Assessment(models.Model):
    """The supervisor dashboard (考核看板); no table, it only carries the admin entry and its permission."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = _("考核看板")
        verbose_name_plural = _("考核看板")


class Transcript(Conversation):
    """A conversation seen by the information center as a transcript (对话记录); every opening is audited."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("对话记录")
        verbose_name_plural = _("对话记录")
