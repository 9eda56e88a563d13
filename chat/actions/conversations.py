"""A conversation's life apart from its messages: opening, the duty statement, classifying, closing, rating."""

from django.db import transaction
from django.utils import timezone

from departments.models import Window

from .. import selectors
from ..events import window_group
from ..models import EXEMPT_CLASSIFICATIONS, Classification, Conversation, Rating, Status
from .base import ChatError, add_system_line, lock_conversation, publish_conversation
from .queue import offer_queue, publish_queue


@transaction.atomic
def open_conversation(*, citizen, window: Window) -> Conversation:
    """Return the citizen's open conversation at the window, starting one if there is none."""
    if not citizen.is_citizen:
        raise ChatError("只有市民账户可以发起咨询。", "forbidden")
    if not window.is_active or not window.department.is_active:
        raise ChatError("该窗口暂停服务。", "forbidden")
    existing = selectors.open_conversation_of_citizen(citizen, window)
    if existing is not None:
        return existing
    return Conversation.objects.create(citizen=citizen, window=window, queued_at=timezone.now())


@transaction.atomic
def acknowledge_statement(*, conversation: Conversation, citizen) -> Conversation:
    """Record that the citizen has read the window's duty statement (职责说明)."""
    conversation = lock_conversation(conversation)
    if conversation.citizen_id != citizen.id:
        raise ChatError("您无权操作这个会话。", "forbidden")
    if conversation.statement_acknowledged_at is None:
        conversation.statement_acknowledged_at = timezone.now()
        conversation.save(update_fields=["statement_acknowledged_at"])
    return conversation


@transaction.atomic
def classify_conversation(*, conversation: Conversation, officer, classification) -> Conversation:
    """Record the officer's classification (分类); exempt ones may be closed unanswered."""
    conversation = lock_conversation(conversation)
    if not selectors.officer_may_serve(officer, conversation.window_id):
        raise ChatError("您不是这个窗口的值班人员。", "forbidden")
    if classification not in Classification.values:
        raise ChatError("请选择有效的分类。")
    conversation.classification = classification
    conversation.save(update_fields=["classification"])
    publish_conversation(conversation)
    return conversation


@transaction.atomic
def close_conversation(*, conversation: Conversation, by) -> Conversation:
    """End a conversation. An officer may end one without an answer only when it is classified as exempt."""
    conversation = lock_conversation(conversation)
    if conversation.status == Status.CLOSED:
        return conversation
    if by.is_citizen:
        if conversation.citizen_id != by.id:
            raise ChatError("您无权结束这个会话。", "forbidden")
        text = "市民已结束本次咨询。"
    else:
        if not selectors.officer_may_serve(by, conversation.window_id):
            raise ChatError("您不是这个窗口的值班人员。", "forbidden")
        if conversation.officer_id not in (None, by.id):
            raise ChatError("这个会话由其他值班人员接待。", "forbidden")
        if not conversation.classification:
            raise ChatError("请先为会话选择分类，再结束。")
        if conversation.first_response_at is None and conversation.classification not in EXEMPT_CLASSIFICATIONS:
            raise ChatError("有效咨询需要答复后才能结束；问候闲聊、与职责无关或表述不清的可不予回答。")
        text = "值班人员已结束本次咨询。感谢您的咨询，欢迎对本次服务进行评价。"
    was_queued = conversation.status == Status.QUEUED
    conversation.status = Status.CLOSED
    conversation.closed_at = timezone.now()
    conversation.closed_by = by
    conversation.save(update_fields=["status", "closed_at", "closed_by"])
    add_system_line(conversation, text)
    publish_conversation(conversation, extra_groups=(window_group(conversation.window_id),))
    if was_queued:
        publish_queue(conversation.window_id)
    elif conversation.officer_id:
        offer_queue(conversation.window)
    return conversation


@transaction.atomic
def rate_conversation(*, conversation: Conversation, citizen, rating, comment: str = "") -> Conversation:
    """Record the citizen's satisfaction (满意度) with a closed conversation, once."""
    conversation = lock_conversation(conversation)
    if conversation.citizen_id != citizen.id:
        raise ChatError("您无权评价这个会话。", "forbidden")
    if conversation.status != Status.CLOSED:
        raise ChatError("会话结束后才能评价。")
    if conversation.rating is not None:
        raise ChatError("您已经评价过了，谢谢。")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise ChatError("请选择满意度。") from None
    if rating not in Rating.values:
        raise ChatError("请选择满意度。")
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > 500:
        raise ChatError("评价意见最多 500 个字。")
    conversation.rating = rating
    conversation.rating_comment = comment
    conversation.rated_at = timezone.now()
    conversation.save(update_fields=["rating", "rating_comment", "rated_at"])
    publish_conversation(conversation)
    return conversation
