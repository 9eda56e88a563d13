"""Departments (部门), their duty windows (值班窗口) and the working-day calendar (工作日)."""

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infra.roles import Role


class Level(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")


class Department(models.Model):
    """A government body (部门/厅局): provincial now, city and county bodies below it later."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=30, blank=True)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices, default=Level.PROVINCE)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    contact_phone = models.CharField(_("联系电话"), max_length=50, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    website = models.URLField(_("网站"), blank=True)
    ordering = models.PositiveIntegerField(_("排序"), default=100, help_text=_("数字小的排在前面"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["ordering", "id"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class Window(models.Model):
    """A duty window (值班窗口): one queue of a department with its own officers and duty statement."""

    department = models.ForeignKey(Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="windows")
    name = models.CharField(_("窗口名称"), max_length=50)
    duty_statement = models.TextField(_("职责说明"), help_text=_("本窗口的职责概述；市民打开对话时自动弹出"))
    accepts = models.TextField(_("受理内容"), blank=True, help_text=_("每行一项"))
    does_not_accept = models.TextField(_("不受理内容"), blank=True, help_text=_("每行一项，可注明应找哪个部门"))
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("值班人员"),
        blank=True,
        related_name="windows",
        limit_choices_to={"role": Role.OFFICER},
    )
    max_concurrent_chats = models.PositiveSmallIntegerField(
        _("每人最多同时会话"), default=10, help_text=_("一名值班人员在本窗口同时处理的会话上限")
    )
    auto_assign = models.BooleanField(
        _("自动分配"), default=True, help_text=_("新会话自动分配给在线且会话最少的值班人员；关闭则由值班人员自行接入")
    )
    duty_start = models.TimeField(_("值班开始"), default=datetime.time(8, 30))
    duty_end = models.TimeField(_("值班结束"), default=datetime.time(17, 0))
    ordering = models.PositiveIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["department__ordering", "ordering", "id"]
        verbose_name = _("值班窗口")
        verbose_name_plural = _("值班窗口")
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="unique_window_name_per_department")]

    def __str__(self):
        return f"{self.department.display_name}·{self.name}"

    @property
    def accepts_list(self) -> list[str]:
        return [line.strip() for line in self.accepts.splitlines() if line.strip()]

    @property
    def does_not_accept_list(self) -> list[str]:
        return [line.strip() for line in self.does_not_accept.splitlines() if line.strip()]

    @property
    def duty_hours(self) -> str:
        return f"工作日 {self.duty_start:%H:%M}–{self.duty_end:%H:%M}"


class CalendarYear(models.Model):
    """A year whose official holiday schedule is known; other years fall back to weekends only."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(
        _("来源"), max_length=100, blank=True, help_text=_("例如：国务院办公厅通知，或 chinesecalendar 包")
    )
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("已发布的年度节假日安排")
        verbose_name_plural = _("已发布的年度节假日安排")

    def __str__(self):
        return f"{self.year} 年"


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日（休息）")
    MAKEUP_WORKDAY = "workday", _("调休上班")


class CalendarDay(models.Model):
    """An exception to the Monday-to-Friday week: a holiday on a weekday, or a make-up working day (调休)."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True, help_text=_("如：国庆节"))

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()
