"""Public pages of the portal and citizens' accounts."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from cases import selectors as case_selectors
from chat import selectors as chat_selectors
from departments import selectors as department_selectors
from departments.calendar import end_of_next_working_day

from infra import ratelimit
from .actions import register_citizen
from .forms import LoginForm, RegistrationForm


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
            "due_at": end_of_next_working_day(timezone.now()) if availability == "offline" else None,
            "busy_notice_seconds": settings.QUEUE_BUSY_NOTICE_SECONDS,
        },
    )


@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.hit("register", ratelimit.client_ip(request)):
            form.add_error(None, "注册过于频繁，请稍后再试。")
        elif form.is_valid():
            user = register_citizen(phone=form.cleaned_data["phone"], password=form.cleaned_data["password1"])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "注册成功，欢迎使用政务通。")
            return redirect("portal:home")
    return render(request, "portal/register.html", {"form": form}, status=400 if form.errors else 200)


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request, request.POST or None)
    if request.method == "POST":
        keys = [ratelimit.client_ip(request), f"user:{request.POST.get('username', '').strip().lower()}"]
        if any(ratelimit.is_blocked("login", key) for key in keys):
            form.add_error(None, "登录失败次数过多，请 5 分钟后再试。")
        elif form.is_valid():
            login(request, form.user)
            for key in keys[1:]:
                ratelimit.reset("login", key)
            return redirect(_safe_next(request) or _landing_page(form.user))
        else:
            for key in keys:
                ratelimit.hit("login", key)
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
            "conversations": chat_selectors.conversations_of_citizen(request.user),
            "cases": case_selectors.cases_of_citizen(request.user),
        },
    )
