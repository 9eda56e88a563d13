"""Writes for accounts."""
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from infra.errors import DomainError

from .models import Role, User, UserSession

INFORMATION_CENTER_GROUP = "信息中心"

# Models whose rows the information center adds and deletes itself; of the other project models
# it may only view and change what the admin lets it change.
MANAGED_MODELS = {
    "departments.department",
    "departments.window",
    "departments.calendaryear",
    "departments.calendarday",
    "chat.cannedreply",
    "portal.user",
    "faq.entry",  # DESIGN.md: the information center manages the FAQ
}


@transaction.atomic
def ensure_information_center_group() -> Group:
    """Create or refresh the information center's group with its permissions on the project's models."""
    group, _ = Group.objects.get_or_create(name=INFORMATION_CENTER_GROUP)
    labels = [
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR) and ".venv" not in Path(config.path).parts
    ]
    permissions = []
    for permission in Permission.objects.filter(content_type__app_label__in=labels).select_related("content_type"):
        model = f"{permission.content_type.app_label}.{permission.content_type.model}"
        action = permission.codename.split("_", 1)[0]
        if action in ("add", "delete") and model not in MANAGED_MODELS:
            continue
        permissions.append(permission)
    group.permissions.set(permissions)
    return group


@transaction.atomic
def make_supervisor_member(*, user: User) -> None:
    """Put a supervisor in the information center's group so that the admin console works for them."""
    user.groups.add(ensure_information_center_group())


class AccountError(DomainError):
    """An account change the rules refuse."""


@transaction.atomic
def register_citizen(*, phone: str, password: str, phone_verified: bool = True) -> User:
    """Create a citizen account whose username is the mobile number. The caller validates the input
    and, on the portal, has checked the SMS code; staff accounts are never created here."""
    if User.objects.filter(phone=phone).exists() or User.objects.filter(username=phone).exists():
        raise AccountError("该手机号已注册，请直接登录；忘记密码可用短信验证码找回。", "exists")
    user = User(username=phone, phone=phone, role=Role.CITIZEN, phone_verified_at=timezone.now() if phone_verified else None)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def mark_phone_verified(*, user: User) -> None:
    """Record that the citizen proved the number is theirs (an SMS code)."""
    if user.phone_verified_at is None:
        user.phone_verified_at = timezone.now()
        user.save(update_fields=["phone_verified_at"])


def record_session(sender, request, user, **kwargs) -> None:
    """Remember the session `user` just signed in with (connected to user_logged_in in apps.py)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return
    stale = timezone.now() - timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, created_at__lt=stale).delete()
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


@transaction.atomic
def end_sessions(user: User) -> int:
    """End every signed-in session of `user`; return how many. The one place that logs a user out everywhere.

    Called after 忘记密码. Sessions are found through UserSession (a scan that decodes every session
    took 2.6 s per 20,000 sessions). A session older than that table is refused anyway at its next
    request, because the new password changes the session's auth hash.
    Open websockets: the security change closes them from here too (socket revocation).
    """
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return ended


@transaction.atomic
def reset_password(*, user: User, password: str) -> None:
    """Set a new password after an SMS code proved the number, and end every session of the user."""
    user.set_password(password)
    if user.phone_verified_at is None:
        user.phone_verified_at = timezone.now()
    user.save(update_fields=["password", "phone_verified_at"])
    end_sessions(user)


@transaction.atomic
def create_staff_user(*, username: str, password: str, role: str, display_name: str = "", **extra) -> User:
    """Create an officer, a supervisor or an admin; supervisors and admins may enter the admin site."""
    user = User(
        username=username,
        role=role,
        display_name=display_name,
        is_staff=role in (Role.SUPERVISOR, Role.ADMIN),
        is_superuser=role == Role.ADMIN,
        **extra,
    )
    user.set_password(password)
    user.save()
    if role == Role.SUPERVISOR:
        make_supervisor_member(user=user)
    return user
