"""Reads for accounts."""

from django.db.models import Q

from .models import Role, User


def citizen_with_phone(phone: str) -> User | None:
    """Return the active citizen account of a mobile number; staff numbers get no SMS codes."""
    return User.objects.filter(phone=phone, role=Role.CITIZEN, is_active=True).first()


def phone_taken(phone: str) -> bool:
    """Return whether any account, citizen or staff, has the number as its phone or username."""
    return User.objects.filter(Q(phone=phone) | Q(username=phone)).exists()
