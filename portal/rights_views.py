"""我的咨询: the citizen's consent to publish, a copy of their data, and deleting their account."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from chat import privacy as chat_privacy
from chat import selectors as chat_selectors
from faq import actions as faq_actions
from faq.models import Entry
from infra import ratelimit

from . import rights


def _citizen(request):
    if not request.user.is_citizen:
        raise PermissionDenied("只有市民账户可以使用。")


def consultations_of(user) -> list:
    """Return the citizen's conversations, each with .faq_published: its published entry or None."""
    conversations = list(chat_selectors.conversations_of_citizen(user))
    published = {
        entry.conversation_id: entry
        for entry in Entry.objects.filter(conversation__in=conversations, is_published=True).only(
            "id", "conversation_id"
        )
    }
    for conversation in conversations:
        conversation.faq_published = published.get(conversation.id)
    return conversations


@login_required
@require_POST
def consent(request, conversation_id: int):
    """Set or withdraw the consent to publish one consultation (rating step and 我的咨询)."""
    _citizen(request)
    conversation = chat_selectors.access_conversation(request.user, conversation_id)
    allowed = request.POST.get("allowed") in ("1", "on", "true")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        entry = faq_actions.change_publication_consent(conversation=conversation, citizen=request.user, allowed=allowed)
    except chat_privacy.ConsentError as error:
        if wants_json:
            return JsonResponse({"error": error.message}, status=400)
        messages.error(request, error.message)
    else:
        if wants_json:
            return JsonResponse({"allowed": allowed})
        if allowed:
            messages.success(request, "已同意：去除个人信息后，本次问答可能公开，帮助其他市民。")
        elif entry is not None and entry.published_at:
            messages.success(request, "已撤回同意，公开的问答已撤下。")
        else:
            messages.success(request, "已选择不公开本次问答。")
    return redirect(f"{reverse('portal:my_consultations')}#consultation-{conversation.id}")


@login_required
@require_http_methods(["GET", "POST"])
def my_data(request):
    """The download of all my data (POST, audited) and the way to deleting my account."""
    _citizen(request)
    if request.method == "POST":
        fmt = request.POST.get("format", "json")
        if fmt not in ("json", "xlsx"):
            messages.error(request, "请选择 JSON 或 Excel 格式。")
            return redirect("portal:my_data")
        content, content_type, extension = rights.export_personal_data(
            user=request.user, fmt=fmt, ip_address=ratelimit.client_ip(request)
        )
        response = HttpResponse(content, content_type=content_type)
        name = f"my-data-{timezone.localdate():%Y%m%d}.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(request, "portal/my_data.html", {"sections": [section.title for section in rights.SECTIONS]})


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    """Delete my account and data, after the password and an explicit confirmation."""
    _citizen(request)
    error = ""
    if request.method == "POST":
        if not request.POST.get("confirm"):
            error = "请勾选确认：注销后无法恢复。"
        # A stolen session must not be able to guess the password here faster than at the login page.
        elif not ratelimit.hit("account_delete", str(request.user.pk)):
            error = "尝试次数过多，请 5 分钟后再试。"
        elif not request.user.check_password(request.POST.get("password", "")):
            error = "密码不正确。"
        else:
            rights.delete_account(user=request.user, ip_address=ratelimit.client_ip(request))
            logout(request)
            messages.success(request, "您的账户已注销，个人信息已删除。")
            return redirect("portal:home")
    return render(request, "portal/delete_account.html", {"error": error}, status=400 if error else 200)
