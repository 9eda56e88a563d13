"""Pages for cases: the public lookup, the receiving unit's case desk, and the chat desk's JSON endpoints."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import selectors as chat_selectors
from departments.calendar import due_text
from departments.models import Department, Window
from infra import ratelimit

from . import actions, selectors, workflow
from .models import CaseStatus, TargetKind
from .numbers import normalize_tracking_number

LOOKUP_ERROR = "受理编号或查询码不正确。"


# Public lookup ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def lookup(request):
    """Look a case up by tracking number and query code; no login, no JavaScript, no personal data."""
    context = {"number": "", "case": None, "error": ""}
    status = 200
    if request.method == "POST":
        number = request.POST.get("number", "")
        code = request.POST.get("code", "")
        context["number"] = number.strip()[:40]
        # Per address, and per tracking number: guessing one number's query code from many addresses
        # stops after RATE_LIMITS["lookup_number"] failures, whether the number exists or not.
        number_key = normalize_tracking_number(number)[:40]
        if not ratelimit.hit("public_lookup", ratelimit.client_ip(request)):
            context["error"] = "查询过于频繁，请一分钟后再试。"
            status = 429
        elif not number.strip() or not code.strip():
            context["error"] = "请填写受理编号和查询码。"
            status = 400
        elif ratelimit.is_blocked("lookup_number", number_key):
            context["error"] = "这个受理编号的查询失败次数过多，请一小时后再试。"
            status = 429
        else:
            case = selectors.lookup_case(number, code)
            if case is None:
                ratelimit.hit("lookup_number", number_key)
                context["error"] = LOOKUP_ERROR
                status = 400
            else:
                context["case"] = case
    return render(request, "cases/lookup.html", context, status=status)


# The receiving unit's desk ----------------------------------------------------------------------


def _officer_required(request) -> None:
    if not request.user.is_officer:
        raise PermissionDenied("转办件办理页面仅供值班人员使用。")


STATUS_FILTERS = [("", "全部"), *CaseStatus.choices, ("overdue", "已逾期")]


@login_required
@require_GET
def desk_list(request):
    _officer_required(request)
    status = request.GET.get("status", "")
    if status not in dict(STATUS_FILTERS):
        status = ""
    return render(
        request,
        "cases/desk_list.html",
        {
            "cases": selectors.cases_for_officer(request.user, status=status)[:500],
            "status": status,
            "status_filters": STATUS_FILTERS,
        },
    )


def _window(value) -> Window | None:
    try:
        return Window.objects.select_related("department").get(pk=int(value))
    except (Window.DoesNotExist, TypeError, ValueError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def desk_detail(request, case_id: int):
    _officer_required(request)
    case = selectors.access_case(request.user, case_id)
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            done = workflow.run_step(step, case=case, by=request.user, form=request.POST, desk=True)
        except actions.CaseError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done)
            if step == "pass_on":  # the case now belongs to another department
                return redirect("cases:desk_list")
        return redirect("cases:desk_detail", case_id=case.id)
    return render(
        request,
        "cases/desk_detail.html",
        {
            "case": case,
            "events": selectors.events_of(case),
            "departments": Department.objects.filter(is_active=True).exclude(pk=case.lead_unit_id),
        },
    )


# JSON endpoints for the chat desk ---------------------------------------------------------------


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, json_dumps_params={"ensure_ascii": False})


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise actions.CaseError("请求格式不正确。") from None
    if not isinstance(data, dict):
        raise actions.CaseError("请求格式不正确。")
    return data


def desk_api(view):
    """Let only signed-in officers in, and turn refusals into JSON with a Chinese message."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _json_error("请先登录。", 401)
        if not request.user.is_officer:
            return _json_error("仅供值班人员使用。", 403)
        try:
            return view(request, *args, **kwargs)
        except actions.CaseError as error:
            status = {"forbidden": 403, "rate_limited": 429, "conflict": 409}.get(error.code, 400)
            return _json_error(error.message, status)
        except PermissionDenied as error:
            return _json_error(str(error) or "您无权进行这个操作。", 403)
        except Http404 as error:
            return _json_error(str(error) or "没有找到。", 404)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_GET
@desk_api
def api_directory(request):
    """The departments and windows for the desk's pickers, and the targets with their due days."""
    departments = [
        {
            "id": department.id,
            "name": department.name,
            "level": department.get_level_display(),
            "windows": [
                {"id": window.id, "name": window.name, "duty_hours": window.duty_hours}
                for window in department.windows.all()
            ],
        }
        for department in selectors.directory()
    ]
    targets = [
        {"value": value, "label": str(label), "due_days": actions.due_working_days(value)}
        for value, label in TargetKind.choices
    ]
    return JsonResponse({"departments": departments, "targets": targets}, json_dumps_params={"ensure_ascii": False})


@require_POST
@desk_api
def api_escalate(request):
    """Turn the conversation into a case: {conversation, target_kind, department, question, note}."""
    data = _json_body(request)
    conversation = chat_selectors.access_conversation(request.user, data.get("conversation"))
    department = None
    if data.get("target_kind") != TargetKind.GOVERNOR_MAILBOX and data.get("department") not in (None, ""):
        department = selectors.active_department(data.get("department"))
        if department is None:
            raise actions.CaseError("请选择一个有效的部门。")
    escalation = actions.escalate_conversation(
        conversation=conversation,
        officer=request.user,
        target_kind=data.get("target_kind"),
        department=department,
        question=data.get("question", ""),
        note=data.get("note", ""),
    )
    case = escalation.case
    return JsonResponse(
        {
            "case": {
                "id": case.id,
                "tracking_number": case.tracking_number,
                "query_code": escalation.query_code,
                "target": case.target_label,
                "status": case.get_status_display(),
                "due_at": case.due_at.isoformat(),
                "due_text": due_text(case.due_at),
            },
            "message": {"conversation": conversation.id, "seq": escalation.message.seq},
        },
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )


@require_POST
@desk_api
def api_referral(request):
    """Send a unit's contact card into the conversation: {conversation, department, window?, client_id?}."""
    data = _json_body(request)
    conversation = chat_selectors.access_conversation(request.user, data.get("conversation"))
    department = selectors.active_department(data.get("department"))
    if department is None:
        raise actions.CaseError("请选择一个有效的部门。")
    window = None
    if data.get("window") not in (None, ""):
        window = _window(data.get("window"))
        if window is None:
            raise actions.CaseError("所选窗口不存在。")
    client_id = data.get("client_id", "")
    message = actions.send_referral(
        conversation=conversation,
        officer=request.user,
        department=department,
        window=window,
        client_id=client_id if isinstance(client_id, str) else "",
    )
    return JsonResponse(
        {"message": {"conversation": conversation.id, "seq": message.seq, "body": message.body}},
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )
