"""Writes for accounts."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from chat.events import send_event_on_commit, user_group
from infra import audit
from infra.errors import DomainError
from infra.second_factor import DEMO_GROUP
from infra.sessions import session_fingerprint

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
    "oversight.assessmentrule",  # the yearly weights (考核细则)
    "oversight.monthclose",  # adding one is closing (定稿) a month
}


LOCKOUT_PERMISSIONS = ["view_accessattempt", "delete_accessattempt", "view_accessfailurelog", "view_accesslog"]


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
    # Login lockouts (django-axes): the information center sees them and lifts one by deleting it.
    permissions += Permission.objects.filter(content_type__app_label="axes", codename__in=LOCKOUT_PERMISSIONS)
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
    user = User(
        username=phone, phone=phone, role=Role.CITIZEN, phone_verified_at=timezone.now() if phone_verified else None
    )
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
def reset_password(*, user: User, password: str) -> None:
    """Set a new password after an SMS code proved the number, and end every session and socket of the user."""
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


# Ending sessions ------------------------------------------------------------------------------------
# Close codes the pages understand (docs/protocol.md): 4401 log in again, 4403 no longer allowed here.
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


@transaction.atomic
def end_sessions(user: User, *, code: int = CLOSE_UNAUTHORIZED, keep_session_key: str | None = None) -> int:
    """Sign the user out everywhere: delete their sessions and close their open sockets in every process.

    `keep_session_key` spares one session (the one that just changed its own password). Sockets get
    `code` (4401: log in again; 4403: the account may no longer use them). Return the sessions deleted.
    """
    # Sessions are found through UserSession, filled at every sign-in (a scan that decodes every
    # session took 2.6 s per 20,000 sessions).
    keys = [
        key
        for key in UserSession.objects.filter(user=user).values_list("session_key", flat=True)
        if key != keep_session_key
    ]
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    send_event_on_commit(
        [user_group(user.pk)], "session.end", {"code": code, "keep": session_fingerprint(keep_session_key)}
    )
    return len(keys)


def end_session_sockets(*, user: User, session_key: str | None) -> None:
    """Close the sockets opened with one session (a logout); the user's other sessions stay."""
    if not session_key:
        return
    send_event_on_commit(
        [user_group(user.pk)], "session.end", {"code": CLOSE_UNAUTHORIZED, "session": session_fingerprint(session_key)}
    )


# Account changes made by staff ------------------------------------------------------------------------
# Fields whose change is audited; a change of the last three also ends the user's sessions.
AUDITED_FIELDS = {"role": "角色", "is_active": "启用", "is_staff": "可进入后台", "is_superuser": "超级用户"}


def is_system_admin(user: User) -> bool:
    """Return whether the user is the system administrator (role admin, or a superuser)."""
    return user.is_superuser or user.role == Role.ADMIN


def may_set_password(actor: User, user: User) -> bool:
    """Only the system administrator sets another person's password (else: take over the account unseen)."""
    return actor.pk == user.pk or is_system_admin(actor)


def record_account_deletion(*, request, user: User) -> None:
    audit.record(
        request=request,
        action=audit.ACCOUNT_CHANGE,
        object_type="用户",
        object_id=user.pk,
        summary=f"删除账户 {user.username}（{user.get_role_display()}）",
    )


def _shown(user: User, field: str) -> str:
    if field == "role":
        return user.get_role_display()
    return "是" if getattr(user, field) else "否"


def account_changes(before: User | None, after: User) -> dict[str, tuple[str, str]]:
    """Return {field label: (old, new)} for the audited fields that differ."""
    return {
        label: (_shown(before, field) if before else "—", _shown(after, field))
        for field, label in AUDITED_FIELDS.items()
        if before is None or getattr(before, field) != getattr(after, field)
    }


def record_account_change(*, request, before: User | None, user: User) -> None:
    """Audit what staff changed on an account, and end the sessions the change makes invalid.

    Deactivation signs the user out everywhere (4401); a change of role or console rights closes the
    open sockets with 4403, since what the user may do there changed.
    """
    changes = account_changes(before, user)
    if not changes:
        return
    summary = "；".join(f"{label}：{old} → {new}" for label, (old, new) in changes.items())
    audit.record(
        request=request,
        action=audit.ACCOUNT_CHANGE,
        object_type="用户",
        object_id=user.pk,
        summary=f"{'新建' if before is None else '修改'}账户 {user.username}：{summary}"[:500],
    )
    if before is None:
        return
    if before.is_active and not user.is_active:
        end_sessions(user, code=CLOSE_UNAUTHORIZED)
    elif any(getattr(before, field) != getattr(user, field) for field in ("role", "is_staff", "is_superuser")):
        end_sessions(user, code=CLOSE_FORBIDDEN)


def record_password_set(*, request, user: User) -> None:
    """Audit a password set in the console and sign the user out of every other session."""
    audit.record(
        request=request,
        action=audit.PASSWORD_SET,
        object_type="用户",
        object_id=user.pk,
        summary=f"设置账户 {user.username} 的密码",
    )
    own = request.user.pk == user.pk
    end_sessions(user, code=CLOSE_UNAUTHORIZED, keep_session_key=request.session.session_key if own else None)


@transaction.atomic
def mark_demo_accounts(*, users) -> None:
    """Put accounts created with the published demo password in the demo group (infra.second_factor)."""
    group, _ = Group.objects.get_or_create(name=DEMO_GROUP)
    group.user_set.add(*users)
