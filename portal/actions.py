"""Writes for accounts."""
from django.db import transaction

from .models import Role, User


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
    return user
