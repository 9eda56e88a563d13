"""The snapshot a desk receives on connect and on request: everything one officer works on."""

from django.utils import timezone

from . import selectors
from .models import Transfer
from .payloads import conversation_payload, iso


def _previews(conversation_ids: list[int]) -> dict[int, str]:
    """Return each conversation's latest citizen message, in one query."""
    rows = (
        selectors.citizen_messages(conversation_ids)
        .order_by("conversation_id", "-seq")
        .values_list("conversation_id", "body")
    )
    previews: dict[int, str] = {}
    for conversation_id, body in rows:
        previews.setdefault(conversation_id, body[:120])
    return previews


def _transfer_notes(conversation_ids: list[int]) -> dict[int, str]:
    """Return the latest transfer of each conversation as "from → to: note", for officers' eyes only."""
    notes: dict[int, str] = {}
    for transfer in (
        Transfer.objects.filter(conversation_id__in=conversation_ids)
        .select_related("from_window__department", "by")
        .order_by("conversation_id", "-created_at")
    ):
        if transfer.conversation_id not in notes:
            notes[transfer.conversation_id] = transfer_note(transfer)
    return notes


def transfer_note(transfer: Transfer) -> str:
    """Return how the desk shows a transfer: "由 from（by）转来：note"."""
    text = f"由 {transfer.from_window}（{transfer.by}）转来"
    return f"{text}：{transfer.note}" if transfer.note else text


# The desk lists this many waiting conversations (all windows together in the snapshot, per window in
# the queue_changed event); the count of all waiting ones comes beside it.
QUEUE_LIMIT = 100


def _lister(conversations: list):
    """Return a function that turns one of the conversations into a desk list item (3 queries for all)."""
    ids = [c.id for c in conversations]
    previews = _previews(ids)
    notes = _transfer_notes(ids)
    on_page = selectors.citizens_on_page(ids)

    def item(conversation, **extra):
        payload = conversation_payload(conversation, preview=previews.get(conversation.id, ""))
        return {
            **payload,
            "transfer_note": notes.get(conversation.id, ""),
            "citizen_online": conversation.id in on_page,
            **extra,
        }

    return item


def desk_queue_items(window_id: int) -> list[dict]:
    """Return the window's waiting conversations as the desk lists them, first come first."""
    queued = list(selectors.queued_conversations(window_id)[:QUEUE_LIMIT])
    item = _lister(queued)
    return [item(c) for c in queued]


def desk_state(officer) -> dict:
    """Return the snapshot a desk receives on connect and on request."""
    window_ids = list(selectors.officer_window_ids(officer))
    # Each window's queue in its own order, the windows' heads together longest waiting first.
    queued = sorted(
        (c for window_id in window_ids for c in selectors.queued_conversations(window_id)[:QUEUE_LIMIT]),
        key=lambda c: (c.queued_at, c.id),
    )[:QUEUE_LIMIT]
    chats = list(selectors.open_conversations_of_officer(officer))
    backlog = list(selectors.offline_backlog(officer)[:200])
    closed = list(selectors.closed_today_of_officer(officer)[:50])
    item = _lister(queued + chats + backlog + closed)
    now = timezone.now()
    presence = selectors.presence_of(officer)

    return {
        "type": "state",
        "now": iso(now),
        "status": presence.status,
        "chosen_status": presence.chosen_status,
        "windows": [
            {"id": w.id, "name": str(w), "max_concurrent_chats": w.max_concurrent_chats}
            for w in selectors.windows_of_officer(officer)
        ],
        "online_windows": sorted(selectors.online_window_ids(window_ids)),
        "queue": [item(c) for c in queued],
        "chats": [item(c, unread=c.unread) for c in chats],
        "backlog": [item(c, overdue=bool(c.due_at and c.due_at < now)) for c in backlog],
        "closed": [item(c) for c in closed],
        "canned_replies": [
            {"id": r.id, "title": r.title, "body": r.body, "window": r.window_id}
            for r in selectors.canned_replies(window_ids)
        ],
    }
