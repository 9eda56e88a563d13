"""What every chat action shares: the error, the row lock, the audience and the two ways to tell it."""

from django.utils import timezone

from infra.errors import DomainError

from .. import selectors
from ..events import conversation_group, send_event_on_commit, user_group, window_group
from ..models import Conversation, Message, SenderKind
from ..payloads import conversation_payload, message_payload


class ChatError(DomainError):
    """A request the duty rules refuse."""


def lock_conversation(conversation: Conversation | int) -> Conversation:
    """Return the conversation locked for update until the transaction ends."""
    pk = conversation if isinstance(conversation, int) else conversation.pk
    # of=("self",): PostgreSQL cannot lock the nullable side (officer) of an outer join.
    return (
        Conversation.objects.select_for_update(of=("self",)).select_related("window", "citizen", "officer").get(pk=pk)
    )


def audience(conversation: Conversation) -> list[str]:
    """Return the groups that follow a conversation: its own, and its officer's desk or its window's desks."""
    groups = [conversation_group(conversation.id)]
    if conversation.officer_id:
        groups.append(user_group(conversation.officer_id))
    else:
        groups.append(window_group(conversation.window_id))
    return groups


def publish_conversation(
    conversation: Conversation, *, extra_groups: tuple[str, ...] = (), for_desks: dict | None = None
) -> None:
    """Tell the conversation's audience its new state, with the citizen's latest question as preview
    and whether the citizen is on the chat page.

    for_desks: fields only officers may see (a transfer note); the citizen's pages get the state without them.
    """
    preview = selectors.citizen_messages(conversation).order_by("-seq").values_list("body", flat=True).first() or ""
    payload = conversation_payload(conversation, preview=preview[:120])
    payload["citizen_online"] = bool(selectors.citizens_on_page([conversation.id]))
    groups = audience(conversation) + list(extra_groups)
    if not for_desks:
        send_event_on_commit(groups, "conversation.updated", {"conversation": payload})
        return
    send_event_on_commit(groups[:1], "conversation.updated", {"conversation": payload})
    send_event_on_commit(groups[1:], "conversation.updated", {"conversation": {**payload, **for_desks}})


def add_message(conversation: Conversation, *, sender, sender_kind: str, body: str, client_id: str = "") -> Message:
    """Add a message to a locked conversation and publish it after commit."""
    conversation.last_seq += 1
    message = Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        sender=sender,
        sender_kind=sender_kind,
        body=body,
        client_id=client_id,
    )
    conversation.last_message_at = timezone.now()
    conversation.save(update_fields=["last_seq", "last_message_at"])
    send_event_on_commit(audience(conversation), "message.new", {"message": message_payload(message)})
    return message


def add_system_line(conversation: Conversation, body: str) -> Message:
    """Add a system line (no sender) to a locked conversation."""
    return add_message(conversation, sender=None, sender_kind=SenderKind.SYSTEM, body=body)
