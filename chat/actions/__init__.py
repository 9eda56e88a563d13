"""Writes of the duty room. Each action is one transaction; its events leave after commit.

messages       send_message (the one message path), asend_message, typing, reads, system notices
conversations  open, acknowledge the duty statement, classify, close, rate
queue          waiting, offline questions (留言), assignment, take, transfer
presence       desks, heartbeats and the officer's status; the citizen on the chat page
housekeeping   stale desks and chat pages, busy notices, deleting conversations past retention
"""

from .base import ChatError
from .conversations import (
    acknowledge_statement,
    classify_conversation,
    close_conversation,
    open_conversation,
    rate_conversation,
)
from .housekeeping import (
    delete_conversations,
    expire_stale_citizen_pages,
    expire_stale_desks,
    send_busy_notices,
    sweep,
)
from .messages import (
    RATE_LIMITED_TEXT,
    asend_message,
    mark_read,
    notify_typing,
    post_system_notice,
    send_message,
    validate_body,
    validate_client_id,
)
from .presence import (
    citizen_connected,
    citizen_disconnected,
    desk_connected,
    desk_disconnected,
    desk_heartbeat,
    refresh_citizen_pages,
    set_status,
)
from .queue import take_conversation, take_next, transfer_conversation

__all__ = [
    "RATE_LIMITED_TEXT",
    "ChatError",
    "acknowledge_statement",
    "asend_message",
    "citizen_connected",
    "citizen_disconnected",
    "classify_conversation",
    "close_conversation",
    "delete_conversations",
    "desk_connected",
    "desk_disconnected",
    "desk_heartbeat",
    "refresh_citizen_pages",
    "expire_stale_citizen_pages",
    "expire_stale_desks",
    "mark_read",
    "notify_typing",
    "open_conversation",
    "post_system_notice",
    "rate_conversation",
    "send_busy_notices",
    "send_message",
    "set_status",
    "sweep",
    "take_conversation",
    "take_next",
    "transfer_conversation",
    "validate_body",
    "validate_client_id",
]
