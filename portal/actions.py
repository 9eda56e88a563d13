"""Writes for accounts."""
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role, User

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


@transaction.atomic
def register_citizen(*, phone: str, password: str) -> User:
    """Create a citizen account whose username is the mobile number. The caller validates the input."""
    user = User(username=phone, phone=phone, role=Role.CITIZEN)
    user.set_password(password)
    user.save()
    return user


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
