"""Events to the channel layer, sent only after the surrounding transaction commits."""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def window_group(window_id: int) -> str:
    return f"window.{window_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send(groups: list[str], payload: dict) -> None:
    layer = get_channel_layer()
    send = async_to_sync(layer.group_send)
    for group in groups:
        try:
            send(group, payload)
        except Exception:
            # The message is already committed; a client that missed the event catches up from the
            # database when it resumes, so a failing channel layer must not fail the request.
            logger.exception("channel layer send to %s failed", group)


def send_event_on_commit(groups: list[str], event_type: str, data: dict) -> None:
    """Send {"type": event_type, **data} to each group once the current transaction commits."""
    payload = {"type": event_type, **data}
    transaction.on_commit(lambda: _send(list(dict.fromkeys(groups)), payload))
