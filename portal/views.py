"""Public pages of the portal and citizens' accounts."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from cases import selectors as case_selectors
from chat import selectors as chat_selectors
from departments import selectors as department_selectors
from departments.calendar import due_moment
from infra import ratelimit
from sms import actions as sms_actions
from sms import selectors as sms_selectors
from sms.actions import CodeError, normalize_phone
from sms.models import Purpose
from sms.notices import notices_enabled, set_notices
from sms.texts import CODE_MINUTES

from . import rights_views
from .actions import AccountError, mark_phone_verified, register_citizen, reset_password
from .forms import CodeLoginForm, LoginForm, PasswordResetForm, RegistrationForm, VerifyPhoneForm
from .selectors import citizen_with_phone, phone_taken


def _mark_availability(windows) -> None:
    """Set .availability on each window: what happens to a question asked there now."""
    windows = list(windows)
    availability = chat_selectors.window_availability([window.id for window in windows])
    for window in windows:
        window.availability = availability[window.id]


def home(request):
    departments = list(department_selectors.directory())
    _mark_availability(window for department in departments for window in department.windows.all())
    return render(request, "portal/home.html", {"departments": departments})


def department_detail(request, department_id: int):
    department = department_selectors.get_department(department_id)
    _mark_availability(department.windows.all())
    return render(request, "portal/department.html", {"department": department})


def window_detail(request, window_id: int):
    window = department_selectors.get_window(window_id)
    availability = chat_selectors.window_availability([window.id])[window.id]
    return render(
        request,
        "portal/window.html",
        {
            "window": window,
            "availability": availability,
            "is_online": availability == chat_selectors.Availability.ONLINE,
            # An offline question asked now is due by this moment (the same rule the chat applies).
            "due_at": due_moment(timezone.now(), window=window) if availability == "offline" else None,
            "busy_notice_seconds": settings.QUEUE_BUSY_NOTICE_SECONDS,
        },
    )


def _next_url(request) -> str:
    return _safe_next(request) or ""


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _send_code(request, *, phone_value: str, purpose: str, has_account) -> tuple[dict, int]:
    """Handle 获取验证码: return the status shown under the number and the HTTP status.

    The page says the same whether the number has an account (`has_account` is asked only here).
    """
    try:
        phone = normalize_phone(phone_value)
        sent = sms_actions.request_code(
            phone=phone, purpose=purpose, address=ratelimit.client_ip(request), has_account=has_account(phone)
        )
    except CodeError as error:
        status = 429 if error.code in ("wait", "limit") else 400
        return {"ok": False, "message": error.message, "wait": error.wait_seconds}, status
    if purpose == Purpose.REGISTER:
        message = f"短信已发送至 {sent.masked_phone}，验证码 {CODE_MINUTES} 分钟内有效。"
    else:
        message = f"如果该手机号已注册政务通，验证码已发送至 {sent.masked_phone}，{CODE_MINUTES} 分钟内有效。"
    if sms_selectors.provider_in_trouble():
        message += "短信服务暂时不稳定，我们正在自动重发；如 5 分钟内仍未收到，请稍后重新获取。"
    return {"ok": True, "message": message, "wait": sent.wait_seconds}, 200


def _send_code_response(request, template: str, form, *, purpose: str, has_account, phone_value=None, **context):
    """Answer 获取验证码: JSON for the page's script (the typed fields stay), the page itself without it."""
    if phone_value is None:
        phone_value = request.POST.get("phone", "")
    code_status, status = _send_code(request, phone_value=phone_value, purpose=purpose, has_account=has_account)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(code_status, status=status)
    return _code_page(request, template, form, code_status=code_status, status=status, **context)


def _code_page(request, template: str, form, *, code_status=None, status: int | None = None, **context):
    if status is None:
        status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        template,
        {"form": form, "next": _next_url(request), "code_status": code_status, **context},
        status=status,
    )


def _use_code(form, *, phone: str, purpose: str) -> bool:
    try:
        sms_actions.use_code(phone=phone, purpose=purpose, code=form.cleaned_data["code"])
    except CodeError as error:
        form.add_error("code", error.message)
        return False
    return True


@require_http_methods(["GET", "POST"])
def register(request):
    """Registration with a verified number: 手机号 → 获取验证码 → 验证码 and 密码."""
    if request.user.is_authenticated:
        return redirect(_next_url(request) or "portal:home")
    if request.POST.get("action") == "send_code":
        return _send_code_response(
            request,
            "portal/register.html",
            RegistrationForm(initial={"phone": request.POST.get("phone", "")}),
            purpose=Purpose.REGISTER,
            has_account=phone_taken,
        )
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.hit("register", ratelimit.client_ip(request)):
            form.add_error(None, "注册过于频繁，请稍后再试。")
        elif form.is_valid():
            phone = form.cleaned_data["phone"]
            if _use_code(form, phone=phone, purpose=Purpose.REGISTER):
                try:
                    user = register_citizen(phone=phone, password=form.cleaned_data["password1"])
                except AccountError as error:
                    form.add_error("phone", error.message)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(request, "注册成功，欢迎使用政务通。")
                    return redirect(_next_url(request) or "portal:home")
    return _code_page(request, "portal/register.html", form)


def _has_citizen_account(phone: str) -> bool:
    return citizen_with_phone(phone) is not None


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """忘记密码: 手机号 and 验证码 → 新密码; every session of the account ends."""
    if request.POST.get("action") == "send_code":
        return _send_code_response(
            request,
            "portal/password_reset.html",
            PasswordResetForm(initial={"phone": request.POST.get("phone", "")}),
            purpose=Purpose.RESET,
            has_account=_has_citizen_account,
        )
    form = PasswordResetForm(request.POST or None, initial={"phone": request.GET.get("phone", "")})
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        if _use_code(form, phone=phone, purpose=Purpose.RESET):
            user = citizen_with_phone(phone)
            if user is None:  # no code was sent to a number without an account: it cannot have matched
                form.add_error("code", "验证码不正确，请重新获取。")
            else:
                reset_password(user=user, password=form.cleaned_data["password1"])
                if request.user.is_authenticated:
                    logout(request)
                messages.success(request, "密码已重设，所有设备上的登录都已退出。请用新密码登录。")
                return redirect(_with_next("portal:login", _next_url(request)))
    return _code_page(request, "portal/password_reset.html", form)


@require_http_methods(["GET", "POST"])
def code_login(request):
    """验证码登录: a citizen signs in with the number and an SMS code instead of the password."""
    if request.POST.get("action") == "send_code":
        return _send_code_response(
            request,
            "portal/code_login.html",
            CodeLoginForm(initial={"phone": request.POST.get("phone", "")}),
            purpose=Purpose.LOGIN,
            has_account=_has_citizen_account,
        )
    form = CodeLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        if _use_code(form, phone=phone, purpose=Purpose.LOGIN):
            user = citizen_with_phone(phone)
            if user is None:
                form.add_error("code", "验证码不正确，请重新获取。")
            else:
                mark_phone_verified(user=user)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(_next_url(request) or "portal:home")
    return _code_page(request, "portal/code_login.html", form)


@login_required
@require_http_methods(["GET", "POST"])
def verify_phone(request):
    """Ask a citizen registered before SMS codes existed to prove the number once."""
    user = request.user
    if not user.needs_phone_verification:
        return redirect(_next_url(request) or "portal:home")
    if request.POST.get("action") == "send_code":
        return _send_code_response(
            request,
            "portal/verify_phone.html",
            VerifyPhoneForm(),
            purpose=Purpose.VERIFY,
            has_account=lambda phone: True,
            phone_value=user.phone,
            masked_phone=user.masked_phone,
        )
    form = VerifyPhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _use_code(form, phone=user.phone, purpose=Purpose.VERIFY):
            mark_phone_verified(user=user)
            messages.success(request, "手机号验证成功。")
            return redirect(_next_url(request) or "portal:home")
    return _code_page(request, "portal/verify_phone.html", form, masked_phone=user.masked_phone)


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


@require_http_methods(["GET", "POST"])
def login_view(request):
    # Failed logins are counted and locked per (username, address) by django-axes (settings.AXES_*),
    # which answers a locked pair with its own page.
    form = LoginForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user)
        target = _safe_next(request) or reverse(_landing_page(form.user))
        if form.user.needs_phone_verification:
            return redirect(_with_next("portal:verify_phone", target))
        return redirect(target)
    return render(
        request,
        "portal/login.html",
        {"form": form, "next": _safe_next(request) or ""},
        status=400 if form.errors else 200,
    )


def _landing_page(user) -> str:
    if user.is_officer:
        return "chat:desk"
    if user.is_supervisor:
        return "admin:index"
    return "portal:home"


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "您已退出登录。")
    return redirect("portal:home")


@login_required
def my_consultations(request):
    if not request.user.is_citizen:
        return render(request, "portal/not_citizen.html", status=403)
    return render(
        request,
        "portal/my_consultations.html",
        {
            "conversations": rights_views.consultations_of(request.user),
            "cases": case_selectors.cases_of_citizen(request.user),
            "sms_notices_enabled": notices_enabled(request.user),
        },
    )


@login_required
@require_POST
def sms_notices(request):
    """Switch the citizen's SMS notices on or off (我的咨询)."""
    if not request.user.is_citizen:
        return render(request, "portal/not_citizen.html", status=403)
    enabled = request.POST.get("enabled") == "1"
    set_notices(user=request.user, enabled=enabled)
    messages.success(request, "已开启短信通知。" if enabled else "已关闭短信通知，答复仍会显示在“我的咨询”中。")
    return redirect("portal:my_consultations")
