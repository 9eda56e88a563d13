"""Accounts: one user model for citizens, duty officers, the information center and admins."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from infra.privacy import mask_phone
from infra.roles import Role


class User(AbstractUser):
    """A person who signs in: a citizen (市民), a duty officer (值班人员), a supervisor or an admin.

    Citizens sign in with their mobile number, which is also their username.
    """

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    phone = models.CharField(
        _("手机号"), max_length=11, unique=True, null=True, blank=True, help_text=_("中国大陆手机号，11 位，以 1 开头")
    )
    phone_verified_at = models.DateTimeField(
        _("手机号验证时间"),
        null=True,
        blank=True,
        help_text=_("市民用短信验证码证明手机号归本人的时间；空表示尚未验证"),
    )
    display_name = models.CharField(
        _("显示名称"), max_length=50, blank=True, help_text=_("值班人员对市民显示的称呼，如“值班员 张丘”")
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_citizen(self) -> bool:
        return self.role == Role.CITIZEN

    @property
    def is_officer(self) -> bool:
        return self.role == Role.OFFICER

    @property
    def is_supervisor(self) -> bool:
        """Return whether the user may see oversight: the information center and admins."""
        return self.role in (Role.SUPERVISOR, Role.ADMIN) or self.is_superuser

    @property
    def needs_phone_verification(self) -> bool:
        """Return whether a citizen registered before SMS codes existed and has not proved the number yet."""
        return self.is_citizen and bool(self.phone) and self.phone_verified_at is None

    @property
    def masked_phone(self) -> str:
        """Return the phone number with its middle four digits hidden (138****1234)."""
        return mask_phone(self.phone)


class CitizenManager(UserManager):
    def get_queryset(self):
        return super().get_queryset().filter(role=Role.CITIZEN)


class CitizenDataRequest(User):
    """A citizen's account as the information center sees it when serving a written request
    (书面申请) to copy or delete their personal data (portal.rights)."""

    objects = CitizenManager()

    class Meta:
        proxy = True
        default_permissions = ("view", "change")
        verbose_name = _("个人信息权利申请")
        verbose_name_plural = _("个人信息权利申请")


class UserSession(models.Model):
    """A session a user signed in with, so that ending all of a user's sessions needs no scan of every session."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(_("会话"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("登录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
