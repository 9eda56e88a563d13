"""Oversight (督查考核): the audit log, snapshots of closed months' figures, and admin entry points."""
from django.conf import settings
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
