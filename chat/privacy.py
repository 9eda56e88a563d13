"""Writes about a citizen's personal data in chat: consent to publish, de-identification.

A module of its own (not chat.actions) so that the message path can be reorganised without it.
"""

from django.db import transaction
from django.utils import timezone

from infra import personal_data
from infra.errors import DomainError

from .models import Conversation, Message, SenderKind, Status

ERASED_BODY = "〔市民已注销账户，内容已删除〕"


class ConsentError(DomainError):
    """A consent change the rules refuse."""


@transaction.atomic
def set_publication_consent(*, conversation: Conversation, citizen, allowed: bool, by=None) -> Conversation:
    """Record whether the citizen allows the de-identified publication of this Q&A, with who and when.

    by: who recorded the choice when it is not the citizen themself (the information center acting on
    a written request). Withdrawing a published entry is faq.actions.change_publication_consent.
    """
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.citizen_id != citizen.id:
        raise ConsentError("这不是您的咨询。", "forbidden")
    if conversation.status != Status.CLOSED:
        raise ConsentError("咨询结束后才能选择是否公开。")
    allowed = bool(allowed)
    if conversation.publication_consent != allowed or conversation.publication_consent_at is None:
        conversation.publication_consent = allowed
        conversation.publication_consent_at = timezone.now()
        conversation.publication_consent_by = by or citizen
        conversation.save(update_fields=["publication_consent", "publication_consent_at", "publication_consent_by"])
    return conversation


def known_names(user) -> tuple[str, ...]:
    """Return the strings that identify a user in free text: names and phone number."""
    return tuple(
        value
        for value in (
            user.get_full_name(),
            user.first_name,
            user.last_name,
            getattr(user, "display_name", ""),
            getattr(user, "phone", "") or "",
        )
        if value and len(value) >= 2
    )


@transaction.atomic
def deidentify_conversations(*, citizen) -> int:
    """Remove the citizen's words from their conversations and keep the rest for the figures.

    Every timestamp, the window, the officer, the classification and the rating value stay, so the
    assessment of closed months is unchanged; the citizen's messages are replaced, the officers'
    replies lose any personal data, and the rating comment and consent are cleared. Return the
    number of conversations de-identified.
    """
    names = known_names(citizen)
    conversations = Conversation.objects.filter(citizen=citizen)
    Message.objects.filter(conversation__in=conversations, sender_kind=SenderKind.CITIZEN).update(body=ERASED_BODY)
    for message in Message.objects.filter(conversation__in=conversations).exclude(sender_kind=SenderKind.CITIZEN):
        masked = personal_data.mask(message.body, known_names=names, names=False)
        if masked != message.body:
            message.body = masked
            message.save(update_fields=["body"])
    return conversations.update(
        rating_comment="", publication_consent=False, publication_consent_at=timezone.now(), publication_consent_by=None
    )
