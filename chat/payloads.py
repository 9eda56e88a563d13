"""The JSON shapes the duty room sends to browsers (see docs/protocol.md)."""

from django.utils import timezone

from .models import Conversation, Message


def iso(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def message_payload(message: Message) -> dict:
    sender_name = ""
    if message.sender_kind == "officer" and message.sender is not None:
        sender_name = str(message.sender)
    return {
        "conversation": message.conversation_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender": message.sender_kind,
        "sender_name": sender_name,
        "body": message.body,
        "created_at": iso(message.created_at),
    }


def conversation_payload(conversation: Conversation, *, preview: str = "") -> dict:
    return {
        "id": conversation.id,
        "window": conversation.window_id,
        "window_name": str(conversation.window),
        "citizen": conversation.citizen.masked_phone or conversation.citizen.username,
        "officer": conversation.officer_id,
        "officer_name": str(conversation.officer) if conversation.officer_id else "",
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "classification": conversation.classification,
        "queued_at": iso(conversation.queued_at),
        "assigned_at": iso(conversation.assigned_at),
        "closed_at": iso(conversation.closed_at),
        "last_message_at": iso(conversation.last_message_at),
        "ticket": conversation.ticket,
        "due_at": iso(conversation.due_at),
        "is_offline_question": conversation.is_offline_question,
        "answered": conversation.first_response_at is not None,
        "last_seq": conversation.last_seq,
        "rating": conversation.rating,
        "preview": preview,
    }
