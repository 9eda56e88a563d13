"""Websocket consumers: the citizen's chat window and the officer's desk (protocol in docs/protocol.md)."""

import asyncio
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import Http404

from departments import selectors as department_selectors
from infra import ratelimit, untrusted
from infra.second_factor import second_factor_required, session_is_verified
from infra.sessions import session_fingerprint

from . import actions, desk_state, selectors
from .actions import ChatError
from .events import conversation_group, user_group, window_group
from .payloads import conversation_payload, message_payload
from .queue_watch import watch

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
# Keepalives are answered at once; the housekeeping they trigger runs at most this often per process
# (and, through the shared cache, at most once per 5 s across all processes).
SWEEP_EVERY_SECONDS = 5
# A desk hears its windows' queue lists at most this often (the latest one; the first at once).
QUEUE_EVERY_SECONDS = 0.5
_last_sweep = 0.0


def _int(frame: dict, key: str, *, minimum: int = 0) -> int:
    value = frame.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ChatError(f"字段 {key} 必须是不小于 {minimum} 的整数。", "bad_frame")
    return value


class OpenPages:
    """The chat pages open in this process, whose presence it refreshes in bulk.

    Every CITIZEN_REFRESH_SECONDS, while the process has pages open, one task records them all as still
    open (actions.refresh_citizen_pages: one UPDATE per 1,000 pages) and runs the shared housekeeping,
    instead of a database write per page ping. A process that dies stops refreshing, so its pages go
    stale and the sweep of another process tells their desks that the citizen left.
    """

    def __init__(self):
        self.pages: dict[str, object] = {}
        self.task: asyncio.Task | None = None

    def add(self, channel_name: str, conversation) -> None:
        self.pages[channel_name] = conversation
        loop = asyncio.get_running_loop()
        # (A task of another loop: only in tests, where each test runs its own.)
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self.refresh())

    def discard(self, channel_name: str) -> bool:
        """Forget a page; return whether it was open. The task stops with the last page."""
        found = self.pages.pop(channel_name, None) is not None
        if not self.pages and self.task is not None:
            self.task.cancel()
            self.task = None
        return found

    async def refresh(self) -> None:
        while self.pages:
            await asyncio.sleep(settings.CITIZEN_REFRESH_SECONDS)
            try:
                await database_sync_to_async(actions.refresh_citizen_pages)(pages=self.pages)
                await database_sync_to_async(actions.sweep)()
            except Exception:
                # The database or Redis is away for a moment: the next round tries again.
                logger.exception("refreshing the open chat pages failed")


open_pages = OpenPages()


class BaseConsumer(AsyncJsonWebsocketConsumer):
    """Shared frame handling: JSON validation, a flood limit, and Chinese error frames."""

    handlers: dict[str, str] = {}
    frame_limit: ratelimit.LocalWindow
    # Frames that cost nothing and are not counted against the frame limit.
    unmetered: frozenset[str] = frozenset()
    idle_timer: asyncio.TimerHandle | None = None

    @classmethod
    async def encode_json(cls, content):
        # Chinese as UTF-8, not \uXXXX escapes: half the bytes on the wire and in every buffer.
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))

    def idle_timeout(self) -> int:
        """Seconds of silence after which this socket is closed (0: never)."""
        return settings.WS_IDLE_TIMEOUT_SECONDS

    def watch_idle(self) -> None:
        """Note a frame from the peer: a socket that sends nothing, not even the pages' pings, is closed.

        daphne buffers without limit for a peer that stopped reading; this bounds how long it can. One
        timer per socket, moved on only when it fires, rather than a new timer for every frame.
        """
        loop = asyncio.get_running_loop()
        self.last_frame_at = loop.time()
        if self.idle_timer is None and (timeout := self.idle_timeout()) > 0:
            self.idle_timer = loop.call_at(self.last_frame_at + timeout, self._check_idle, timeout)

    def _check_idle(self, timeout: int) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self.last_frame_at >= timeout:
            self.idle_timer = None
            asyncio.ensure_future(self.close(code=CLOSE_IDLE))
        else:
            self.idle_timer = loop.call_at(self.last_frame_at + timeout, self._check_idle, timeout)

    def stop_watching_idle(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    async def dispatch(self, message):
        # Channels (4.2+) first hops to the database thread to close stale connections before every
        # handler, events included: each delivered message then waited behind every other socket's
        # writes on that one thread. Every database call here goes through database_sync_to_async,
        # which closes stale connections itself, so the hop is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message):
        self.frame_limit = ratelimit.LocalWindow(*settings.RATE_LIMITS["ws_frame"])
        await super().websocket_connect(message)

    async def receive(self, text_data=None, bytes_data=None):
        self.watch_idle()
        if text_data is None:
            await self.send_error("bad_frame", "只接受 JSON 文本帧。")
            return
        if len(text_data) > 16_000:
            await self.send_error("bad_frame", "消息帧过大。")
            return
        try:
            frame = untrusted.parse_json(text_data)
        except untrusted.MalformedInput as error:
            await self.send_error(error.code, error.message)
            return
        await self.receive_json(frame)

    async def receive_json(self, frame, **kwargs):
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", "消息格式不正确：缺少 type 字段。")
            return
        handler = self.handlers.get(frame["type"])
        if handler is None:
            await self.send_error("unknown_type", f"不支持的消息类型：{frame['type'][:40]}。")
            return
        if frame["type"] not in self.unmetered and not self.frame_limit.hit():
            await self.send_error("rate_limited", "操作太频繁了，请稍候再试。")
            return
        try:
            await getattr(self, handler)(frame)
        except ChatError as error:
            await self.send_error(error.code, error.message, ref=frame.get("client_id"))
        except PermissionDenied as error:
            await self.send_error("forbidden", str(error) or "您无权进行这个操作。")
        except Http404 as error:
            await self.send_error("not_found", str(error) or "没有找到。")
        except (DataError, ValueError, TypeError, OverflowError, UnicodeError):
            # Input the frame checks let through but the database or a rule could not take: the frame is
            # refused, the socket stays open (a 1011 close would only make the page reconnect).
            logger.warning("frame refused: %r", frame.get("type"), exc_info=True)
            await self.send_error("invalid", "无法处理这条消息，请检查内容后重试。", ref=frame.get("client_id"))

    async def join_account_group(self) -> None:
        """Listen for the end of this user's sessions (logout, deactivation, password or role change)."""
        self.account_group = user_group(self.user.id)
        if self.account_group not in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_add(self.account_group, self.channel_name)

    async def leave_account_group(self) -> None:
        if hasattr(self, "account_group") and self.account_group not in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(self.account_group, self.channel_name)

    async def session_end(self, event):
        """The user's session ended elsewhere (portal.actions.end_sessions): close with its code.

        An event may name one session (a logout) or spare one (the session that changed its own password).
        """
        mine = session_fingerprint(getattr(self.scope.get("session"), "session_key", None))
        if event.get("session") and event["session"] != mine:
            return
        if event.get("keep") and event["keep"] == mine:
            return
        await self.close(code=event.get("code", CLOSE_UNAUTHORIZED))

    async def refuse(self, code: int) -> None:
        """Accept, then close with the code: a close before the handshake reaches the browser as 1006,
        and the page could not tell "log in again" from a lost network."""
        await self.accept()
        await self.close(code=code)

    async def send_error(self, code: str, message: str, ref=None):
        payload = {"type": "error", "code": code, "message": message}
        if isinstance(ref, str):
            payload["ref"] = ref[:64]
        await self.send_json(payload)

    async def send_history(self, conversation, after: int):
        messages = await database_sync_to_async(selectors.messages_after)(conversation, after)
        await self.send_json(
            {
                "type": "history",
                "conversation": conversation.id,
                "after": after,
                "messages": [message_payload(m) for m in messages],
            }
        )

    async def send_message_frame(self, conversation_id: int, body, client_id):
        message, _created = await actions.asend_message(
            conversation_id=conversation_id, sender=self.user, body=body, client_id=client_id
        )
        # Sent after send_message returned, i.e. after its transaction committed.
        await self.send_json(
            {"type": "ack", "conversation": message.conversation_id, "client_id": message.client_id, "seq": message.seq}
        )

    # Events from the channel layer: each one only forwards JSON.
    async def message_new(self, event):
        await self.send_json({"type": "message", **event["message"]})

    async def conversation_updated(self, event):
        await self.send_json({"type": "conversation", "conversation": event["conversation"]})

    async def typing(self, event):
        await self.send_json({"type": "typing", "conversation": event["conversation"], "sender": event["sender"]})


class ChatConsumer(BaseConsumer):
    """The citizen's side of one conversation."""

    handlers = {
        "resume": "on_resume",
        "ack_statement": "on_ack_statement",
        "message": "on_message",
        "typing": "on_typing",
        "read": "on_read",
        "close": "on_close",
        "rate": "on_rate",
        "ping": "on_ping",
    }
    unmetered = frozenset({"ping"})

    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHORIZED)
            return
        try:
            self.conversation = await database_sync_to_async(selectors.access_conversation)(
                self.user, self.scope["url_route"]["kwargs"]["conversation_id"]
            )
        except (PermissionDenied, Http404):
            await self.refuse(CLOSE_FORBIDDEN)
            return
        if not self.user.is_citizen:
            await self.refuse(CLOSE_FORBIDDEN)
            return
        self.group = conversation_group(self.conversation.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_account_group()
        # While the conversation waits, this process's queue watch tells the socket its place.
        self.waiting_at, self.ticket, self.position = None, None, None
        await self.accept()
        await self.follow_queue(conversation_payload(self.conversation))
        self.watch_idle()
        await database_sync_to_async(actions.citizen_connected)(
            conversation=self.conversation, channel_name=self.channel_name
        )
        open_pages.add(self.channel_name, self.conversation)

    def idle_timeout(self) -> int:
        # A page that pings is given three of its intervals; one that does not (CHAT_PING_SECONDS=0) is
        # left to the server's websocket protocol pings, which drop a peer that stops answering.
        if settings.CHAT_PING_SECONDS <= 0 or settings.WS_IDLE_TIMEOUT_SECONDS <= 0:
            return 0
        return max(settings.WS_IDLE_TIMEOUT_SECONDS, 3 * settings.CHAT_PING_SECONDS)

    async def disconnect(self, code):
        self.stop_watching_idle()
        await self.leave_account_group()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "waiting_at", None) is not None:
            await watch().unfollow(self, self.waiting_at)
        if open_pages.discard(self.channel_name):
            await database_sync_to_async(actions.citizen_disconnected)(
                conversation=self.conversation, channel_name=self.channel_name
            )

    async def follow_queue(self, conversation: dict) -> None:
        """Follow the queue of the conversation's window with its ticket while it waits, else nothing."""
        ticket = conversation["ticket"] if conversation["status"] == "queued" else None
        waiting_at = conversation["window"] if ticket is not None else None
        if ticket != self.ticket:
            self.ticket, self.position = ticket, None
        if waiting_at != self.waiting_at:
            if self.waiting_at is not None:
                await watch().unfollow(self, self.waiting_at)
            self.waiting_at = waiting_at
            if waiting_at is not None:
                await watch().follow(self, waiting_at)

    async def tell_position(self, position: int | None) -> None:
        """Send the citizen's place unless it says nothing new.

        A place only moves forward (arrivals queue behind), so the smallest place heard is the latest,
        whatever order the events arrived in.
        """
        if position is None or (self.position is not None and position >= self.position):
            return
        self.position = position
        await self.send_json({"type": "queue", "conversation": self.conversation.id, "position": position})

    async def on_resume(self, frame):
        after = _int(frame, "after")
        payload, position = await database_sync_to_async(self._conversation_and_position)()
        await self.follow_queue(payload)
        await self.send_json({"type": "conversation", "conversation": payload})
        await self.send_history(self.conversation, after)
        if position:
            self.position = None  # a resume always hears its place
            await self.tell_position(position)

    def _conversation_and_position(self) -> tuple[dict, int | None]:
        conversation = selectors.access_conversation(self.user, self.conversation.id)
        waiting = conversation.status == "queued" and conversation.first_question_at is not None
        return conversation_payload(conversation), selectors.queue_position(conversation) if waiting else None

    async def on_ack_statement(self, frame):
        await database_sync_to_async(actions.acknowledge_statement)(conversation=self.conversation, citizen=self.user)

    async def on_message(self, frame):
        await self.send_message_frame(self.conversation.id, frame.get("body"), frame.get("client_id"))

    async def on_typing(self, frame):
        await database_sync_to_async(actions.notify_typing)(conversation=self.conversation, user=self.user)

    async def on_read(self, frame):
        await database_sync_to_async(actions.mark_read)(
            conversation=self.conversation, user=self.user, seq=_int(frame, "seq")
        )

    async def on_close(self, frame):
        await database_sync_to_async(actions.close_conversation)(conversation=self.conversation, by=self.user)

    async def on_rate(self, frame):
        await database_sync_to_async(actions.rate_conversation)(
            conversation=self.conversation, citizen=self.user, rating=frame.get("rating"), comment=frame.get("comment")
        )
        await self.send_json({"type": "rated", "conversation": self.conversation.id})

    async def on_ping(self, frame):
        global _last_sweep
        await self.send_json({"type": "pong"})
        # The page's presence is refreshed with all of this process's pages (OpenPages); a ping still
        # triggers the housekeeping, which is how the wait notice comes at its moment.
        if time.monotonic() - _last_sweep > SWEEP_EVERY_SECONDS:
            _last_sweep = time.monotonic()
            await database_sync_to_async(actions.sweep)()

    async def conversation_updated(self, event):
        await self.follow_queue(event["conversation"])
        await super().conversation_updated(event)

    async def queue_position(self, event):
        """The citizen's place when they join a queue."""
        if event["ticket"] != self.ticket:
            self.ticket, self.position = event["ticket"], None
        await self.tell_position(event["position"])


class DeskConsumer(BaseConsumer):
    """The officer's desk: every window, queue, chat and offline question of one officer."""

    handlers = {
        "state": "on_state",
        "resume": "on_resume",
        "heartbeat": "on_heartbeat",
        "status": "on_status",
        "take": "on_take",
        "take_next": "on_take_next",
        "message": "on_message",
        "typing": "on_typing",
        "read": "on_read",
        "classify": "on_classify",
        "close": "on_close",
        "transfer": "on_transfer",
    }

    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHORIZED)
            return
        if not self.user.is_officer:
            await self.refuse(CLOSE_FORBIDDEN)
            return
        if await database_sync_to_async(second_factor_required)(self.user) and not session_is_verified(
            self.scope.get("session")
        ):
            await self.refuse(CLOSE_UNAUTHORIZED)  # OTP_REQUIRED_FOR_OFFICERS: the code comes first
            return
        window_ids = await database_sync_to_async(lambda: list(selectors.officer_window_ids(self.user)))()
        self.groups_joined = [user_group(self.user.id)] + [window_group(w) for w in window_ids]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.watch_idle()
        await database_sync_to_async(actions.desk_connected)(officer=self.user, channel_name=self.channel_name)

    async def disconnect(self, code):
        self.stop_watching_idle()
        self.__dict__.get("queue_pending", {}).clear()  # nothing more for this socket
        if not hasattr(self, "groups_joined"):
            return
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.__dict__.get("beating") is not None:
            await self.beating  # a heartbeat's write must not land after the disconnection's
        await database_sync_to_async(actions.desk_disconnected)(officer=self.user, channel_name=self.channel_name)

    async def _conversation(self, frame):
        return await database_sync_to_async(selectors.access_conversation)(
            self.user, _int(frame, "conversation", minimum=1)
        )

    async def on_state(self, frame):
        await self.send_json(await database_sync_to_async(desk_state.desk_state)(self.user))

    async def on_resume(self, frame):
        conversation = await self._conversation(frame)
        await self.send_history(conversation, _int(frame, "after"))

    async def on_heartbeat(self, frame):
        # Back in its groups every 20 s: a layer drops a channel that fell a minute behind (the in-memory
        # one) or outlived its group expiry, and the desk must not lose its windows silently.
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "pong"})
        # The writes wait for the database thread, whose line is seconds long in a surge; the socket's
        # events must not wait behind them (its channel would fill and drop them), so they run aside.
        if self.__dict__.get("beating") is None or self.beating.done():
            self.beating = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        try:
            await database_sync_to_async(actions.desk_heartbeat)(officer=self.user, channel_name=self.channel_name)
            await database_sync_to_async(actions.sweep)()
        except Exception:
            logger.exception("desk heartbeat failed")

    async def on_status(self, frame):
        await database_sync_to_async(actions.set_status)(officer=self.user, status=frame.get("status"))

    async def on_take(self, frame):
        conversation = await self._conversation(frame)
        await database_sync_to_async(actions.take_conversation)(officer=self.user, conversation=conversation)

    async def on_take_next(self, frame):
        taken = await database_sync_to_async(actions.take_next)(officer=self.user)
        if taken is None:
            await self.send_error("empty_queue", "当前没有排队的咨询。")

    async def on_message(self, frame):
        # send_message authorizes the officer itself, in the statement that stores the message.
        conversation_id = _int(frame, "conversation", minimum=1)
        await self.send_message_frame(conversation_id, frame.get("body"), frame.get("client_id"))

    async def on_typing(self, frame):
        conversation = await self._conversation(frame)
        await database_sync_to_async(actions.notify_typing)(conversation=conversation, user=self.user)

    async def on_read(self, frame):
        conversation = await self._conversation(frame)
        await database_sync_to_async(actions.mark_read)(
            conversation=conversation, user=self.user, seq=_int(frame, "seq")
        )

    async def on_classify(self, frame):
        conversation = await self._conversation(frame)
        await database_sync_to_async(actions.classify_conversation)(
            officer=self.user, conversation=conversation, classification=frame.get("classification")
        )

    async def on_close(self, frame):
        conversation = await self._conversation(frame)
        await database_sync_to_async(actions.close_conversation)(conversation=conversation, by=self.user)

    async def on_transfer(self, frame):
        conversation = await self._conversation(frame)
        to_window = await database_sync_to_async(department_selectors.get_window)(_int(frame, "window", minimum=1))
        await database_sync_to_async(actions.transfer_conversation)(
            conversation=conversation, officer=self.user, to_window=to_window, note=frame.get("note", "")
        )
        await self.send_json({"type": "transferred", "conversation": conversation.id, "window": to_window.id})

    async def assignments_changed(self, event):
        """The officer's windows changed: follow them live, and send the desk a fresh state."""
        window_ids = await database_sync_to_async(lambda: list(selectors.officer_window_ids(self.user)))()
        wanted = [user_group(self.user.id)] + [window_group(w) for w in window_ids]
        for group in set(self.groups_joined) - set(wanted):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(wanted) - set(self.groups_joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = wanted
        await self.send_json(await database_sync_to_async(desk_state.desk_state)(self.user))

    async def conversation_taken(self, event):
        await self.send_json({"type": "taken", "conversation": event["conversation"], "left": event.get("left", False)})

    async def queue_changed(self, event):
        """Forward the window's queue, at most once per QUEUE_EVERY_SECONDS per window: the latest wins.

        In a surge every arrival changes the list; a desk that encoded each one would fall behind
        (and its channel would start dropping the messages themselves).
        """
        pending = self.__dict__.setdefault("queue_pending", {})
        first = event["window"] not in pending
        pending[event["window"]] = event
        if first:
            last = self.__dict__.setdefault("queue_sent_at", {}).get(event["window"], 0.0)
            wait = max(0.0, last + QUEUE_EVERY_SECONDS - time.monotonic())
            asyncio.get_running_loop().call_later(wait, lambda: asyncio.ensure_future(self.send_queue(event["window"])))

    async def send_queue(self, window_id: int) -> None:
        event = self.__dict__.get("queue_pending", {}).pop(window_id, None)
        if event is None:
            return
        self.queue_sent_at[window_id] = time.monotonic()
        await self.send_json(
            {"type": "queue_changed", "window": event["window"], "waiting": event["waiting"], "queue": event["queue"]}
        )

    async def presence_changed(self, event):
        await self.send_json({"type": "presence", "status": event["status"]})

    async def window_presence(self, event):
        await self.send_json({"type": "window_presence", "window": event["window"]})

    async def citizen_presence(self, event):
        await self.send_json(
            {"type": "citizen_presence", "conversation": event["conversation"], "online": event["online"]}
        )
