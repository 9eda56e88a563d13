"""Pages and JSON endpoints of the similar-question search. Thin: selectors read, actions write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from chat import selectors as chat_selectors
from chat.models import Status as ChatStatus
from departments import selectors as department_selectors
from infra import ratelimit

from . import actions, selectors
from .forms import PublishForm, SearchForm
from .models import Source

PAGE_SIZE = 10
RATE_LIMITED = "查询过于频繁，请稍候一分钟再试。"


@require_GET
def search_page(request):
    """The citizens' search over published answers; a plain GET form that works without JavaScript."""
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"form": form, "query": query, "page": None, "limited": False}
    status = 200
    if query:
        if not ratelimit.hit("public_lookup", ratelimit.client_ip(request)):
            context["limited"] = True
            status = 429
        else:
            results = selectors.search_public(
                query, margin=selectors.SEARCH_MARGIN, min_score=selectors.relevance_cut()
            )
            context["page"] = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
            if not results:
                # Nothing similar: say so, and still show the three nearest for what they are.
                context["near"] = selectors.search_public(query, limit=3)
    return render(request, "faq/search.html", context, status=status)


@require_GET
def entry_detail(request, entry_id: int):
    entry = selectors.get_public_entry(entry_id)
    return render(request, "faq/entry.html", {"entry": entry})


def _public_item(result: selectors.Result) -> dict:
    entry = result.entry
    return {
        "id": entry.id,
        "question": entry.question,
        "department": entry.department.name,
        "window": entry.window.name if entry.window else "",
        "url": reverse("faq:entry", args=[entry.id]),
    }


@require_GET
def suggest(request):
    """JSON: published entries like the question being typed in the chat box."""
    query = request.GET.get("q", "").strip()[:200]
    if len(query) < 2:
        return JsonResponse({"results": []})
    # Suggestions fire as a citizen types, so they have their own budget (settings.RATE_LIMITS).
    if not ratelimit.hit("faq_suggest", ratelimit.client_ip(request)):
        return JsonResponse({"error": RATE_LIMITED, "results": []}, status=429)
    department_id = window_id = None
    if request.GET.get("window", "").isdigit():
        try:
            window = department_selectors.get_window(int(request.GET["window"]))
            department_id, window_id = window.department_id, window.id
        except Http404:
            pass
    results = selectors.suggestions(query, department_id=department_id, window_id=window_id)
    return JsonResponse({"results": [_public_item(r) for r in results]})


def _officer_conversation(request, conversation_id):
    if not request.user.is_authenticated or not request.user.is_officer:
        raise PermissionDenied("只有本窗口的值班人员可以使用。")
    return chat_selectors.access_conversation(request.user, conversation_id)


@require_GET
def similar(request):
    """JSON for the desk: the five answers most like the conversation's latest citizen question."""
    try:
        conversation = _officer_conversation(request, request.GET.get("conversation", ""))
    except PermissionDenied as error:
        return JsonResponse({"error": str(error) or "无权访问。"}, status=403)
    except Http404 as error:
        return JsonResponse({"error": str(error) or "没有找到这个会话。"}, status=404)
    department_ids = selectors.officer_department_ids(request.user)
    # Answered conversations closed since the last visit become suggestions (bounded per request).
    actions.archive_answered_conversations(department_ids=department_ids, limit=10)
    query = selectors.latest_citizen_question(conversation)
    results = [
        r
        for r in selectors.search_for_officer(request.user, query, window=conversation.window, limit=6)
        if r.entry.conversation_id != conversation.id
    ]
    closed = conversation.status == ChatStatus.CLOSED
    return JsonResponse(
        {
            "query": query,
            # Where the officer turns this conversation into an entry, once it is closed.
            "publish_url": reverse("faq:publish", args=[conversation.id]) if closed else "",
            "results": [
                {
                    **_public_item(r),
                    "url": reverse("faq:entry", args=[r.entry.id]) if r.entry.is_published else "",
                    "answer": r.entry.answer,
                    "published": r.entry.is_published,
                    "source": r.entry.get_source_display(),
                }
                for r in results[:5]
            ],
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def publish(request, conversation_id: int):
    """An officer of the window turns a closed conversation into an entry: draft or published."""
    conversation = _officer_conversation(request, conversation_id)
    question, answer = selectors.conversation_draft(conversation)
    form = PublishForm(request.POST or None, initial={"question": question, "answer": answer})
    known_names = tuple(
        name
        for person in (conversation.citizen, conversation.officer)
        if person is not None
        for name in (person.get_full_name(), person.display_name, person.first_name, person.last_name)
        if name
    )
    status = 200
    if request.method == "POST":
        publish_now = request.POST.get("action") == "publish"
        if form.is_valid():
            try:
                entry = actions.publish_from_conversation(
                    conversation=conversation,
                    officer=request.user,
                    question=form.cleaned_data["question"],
                    answer=form.cleaned_data["answer"],
                    publish=publish_now,
                    names_confirmed=form.cleaned_data["confirm_personal_data"],
                )
            except actions.FaqError as error:
                form.add_error(None, error.message.removeprefix(f"conv-{conversation.id}："))
            else:
                messages.success(
                    request, "已发布，市民可以检索到这条答复。" if entry.is_published else "已保存为草稿，市民看不到。"
                )
                return redirect("faq:publish", conversation_id=conversation.id)
        status = 400
    data = form.data if form.is_bound else form.initial
    shown = {name: data.get(name, "") for name in ("question", "answer")}
    entry = conversation.faq_entry if hasattr(conversation, "faq_entry") else None
    highlighted = {
        name: selectors.highlight(text, selectors.find_personal_data(text, known_names=known_names))
        for name, text in shown.items()
    }
    return render(
        request,
        "faq/publish.html",
        {
            "conversation": conversation,
            "form": form,
            "entry": entry if entry and entry.source != Source.ARCHIVE else None,
            "highlighted": highlighted,
            "has_flags": any(flag for pieces in highlighted.values() for _, flag in pieces),
            "has_blocked": any(flag and flag.blocked for pieces in highlighted.values() for _, flag in pieces),
            "has_names": any(flag and not flag.blocked for pieces in highlighted.values() for _, flag in pieces),
        },
        status=status,
    )
