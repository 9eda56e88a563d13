"""Pages of the duty room: the citizen's chat window, the history of a consultation, the officer's desk."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from departments import selectors as department_selectors

from . import actions, privacy, selectors
from .models import Classification, Rating


def _citizen_required(request):
    if not request.user.is_citizen:
        raise PermissionDenied("只有市民账户可以发起咨询。")


@login_required
@require_POST
def start_chat(request, window_id: int):
    _citizen_required(request)
    window = department_selectors.get_window(window_id)
    try:
        conversation = actions.open_conversation(citizen=request.user, window=window)
    except actions.ChatError as error:
        messages.error(request, error.message)
        return redirect("portal:window", window_id=window.id)
    return redirect("chat:conversation", conversation_id=conversation.id)


@login_required
@require_http_methods(["GET", "POST"])
def conversation_detail(request, conversation_id: int):
    """The chat window; without JavaScript its form still sends messages and rates."""
    _citizen_required(request)
    conversation = selectors.access_conversation(request.user, conversation_id)
    if request.method == "POST":
        try:
            if "rating" in request.POST:
                actions.rate_conversation(
                    conversation=conversation,
                    citizen=request.user,
                    rating=request.POST.get("rating"),
                    comment=request.POST.get("comment", ""),
                )
                if request.POST.get("publication_consent"):
                    privacy.set_publication_consent(conversation=conversation, citizen=request.user, allowed=True)
                messages.success(request, "感谢您的评价。")
            elif "end" in request.POST:
                actions.close_conversation(conversation=conversation, by=request.user)
            else:
                if conversation.statement_acknowledged_at is None:
                    actions.acknowledge_statement(conversation=conversation, citizen=request.user)
                actions.send_message(
                    conversation=conversation,
                    sender=request.user,
                    body=request.POST.get("body", ""),
                    client_id=request.POST.get("client_id", ""),
                )
        except (actions.ChatError, privacy.ConsentError) as error:
            messages.error(request, error.message)
        return redirect("chat:conversation", conversation_id=conversation.id)
    window = conversation.window
    availability = selectors.window_availability([window.id])[window.id]
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "window": window,
            "chat_messages": selectors.messages_after(conversation, 0, limit=1000),
            "availability": availability,
            "is_online": availability == selectors.Availability.ONLINE,
            "busy_notice_seconds": settings.QUEUE_BUSY_NOTICE_SECONDS,
            "ping_seconds": settings.CHAT_PING_SECONDS,
            "ratings": Rating.choices,
            "position": selectors.queue_position(conversation)
            if conversation.status == "queued" and conversation.first_question_at
            else None,
        },
    )


@login_required
def desk(request):
    if not request.user.is_officer:
        raise PermissionDenied("值班台仅供值班人员使用。")
    return render(
        request,
        "chat/desk.html",
        {
            "windows": selectors.windows_of_officer(request.user),
            "classifications": Classification.choices,
            "directory": department_selectors.directory(),
        },
    )
