"""Who must prove a second factor (TOTP) after the password, for views and websockets alike."""

from django.conf import settings

# seed_demo puts its accounts in this group; with DEBUG on they may skip the second factor.
DEMO_GROUP = "演示账号"
# django_otp.DEVICE_ID_SESSION_KEY, named here so the consumers need not import django-otp's views.
DEVICE_ID_SESSION_KEY = "otp_device_id"


def second_factor_required(user) -> bool:
    """Return whether the user must log in with a one-time code: supervisors and admins, officers when
    OTP_REQUIRED_FOR_OFFICERS is on; with DEBUG on, not the demo accounts."""
    if not user.is_authenticated or not settings.SECOND_FACTOR_REQUIRED:
        return False
    staff = user.is_superuser or user.role in ("supervisor", "admin")
    if not staff and not (user.role == "officer" and settings.OTP_REQUIRED_FOR_OFFICERS):
        return False
    if settings.DEBUG and user.groups.filter(name=DEMO_GROUP).exists():
        return False
    return True


def session_is_verified(session) -> bool:
    """Return whether the session passed the second factor (for websockets, which see no request)."""
    return bool(session and session.get(DEVICE_ID_SESSION_KEY))
