"""The roles a user has: the apps below portal check them without importing the user model's module."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITIZEN = "citizen", _("市民")
    OFFICER = "officer", _("值班人员")
    SUPERVISOR = "supervisor", _("信息中心")
    ADMIN = "admin", _("系统管理员")
