"""The second factor for staff (双因素认证): TOTP codes from an authenticator app, one-time recovery codes.

After the password, a supervisor or an admin (an officer when OTP_REQUIRED_FOR_OFFICERS is on) reaches
nothing but this page until they enter a code: the first time they enrol by scanning a QR code and get
ten recovery codes, each usable once.
"""

import base64
import io
import secrets

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from infra import audit
from infra.second_factor import second_factor_required

RECOVERY_CODES = 10
# Paths an unverified user may still reach: this page, logging out, static files.
OPEN_PATHS = ("/accounts/second-factor/", "/accounts/logout/", "/admin/logout/", "/static/")


class RequireSecondFactor:
    """Send a user who still owes the second factor to the code page, from every other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(OPEN_PATHS)
            and not user.is_verified()
            and second_factor_required(user)
        ):
            if request.content_type == "application/json" or "application/json" in request.headers.get("Accept", ""):
                return JsonResponse(
                    {"error": "请先完成双因素认证。"}, status=401, json_dumps_params={"ensure_ascii": False}
                )
            return redirect(f"{reverse('portal:second_factor')}?next={request.get_full_path()}")
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="验证码",
        max_length=16,
        help_text="身份验证器应用中的 6 位数字，或一个恢复码。",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("admin:index") if request.user.is_staff else reverse("portal:home")


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@transaction.atomic
def _finish_enrolment(user, device: TOTPDevice) -> list[str]:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    static, _ = StaticDevice.objects.get_or_create(user=user, name="恢复码")
    static.token_set.all().delete()
    codes = [secrets.token_hex(4) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    """Verify a code, or enrol an authenticator app first."""
    user = request.user
    if not second_factor_required(user) or user.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if not enrolled:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name="身份验证器", confirmed=False
        )
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip().replace(" ", "")
        if enrolled:
            matched = django_otp.match_token(user, code)
            if matched is not None:
                django_otp.login(request, matched)
                return redirect(_next(request))
        elif device.verify_token(code):
            codes = _finish_enrolment(user, device)
            django_otp.login(request, device)
            audit.record(
                request=request,
                action=audit.ACCOUNT_CHANGE,
                object_type="用户",
                object_id=user.pk,
                summary=f"账户 {user.username} 启用双因素认证",
            )
            return render(request, "security/recovery_codes.html", {"codes": codes, "next": _next(request)})
        form.add_error("code", "验证码不正确或已过期，请重新输入。")
    context = {"form": form, "enrolled": enrolled, "next": request.GET.get("next", "")}
    if not enrolled:
        context["qr_svg"] = _qr_svg(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "security/second_factor.html", context, status=400 if form.errors else 200)
