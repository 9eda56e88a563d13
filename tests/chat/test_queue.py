"""The queue: tickets, the place each waiting citizen is told, and how the news of a change travels."""

import contextlib
import random

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone

from chat import actions, loop_connection, selectors
from chat.events import conversation_group, queue_group, window_group
from chat.models import Conversation, QueueCounter, Status
from portal.asgi import application
from tests import factories


class Citizens:
    """What each waiting citizen's socket would show, fed with the events the actions publish.

    It applies queue.position and queue.head exactly as chat/consumers.py does (the smallest place heard).
    """

    def __init__(self):
        self.ticket: dict[int, int | None] = {}
        self.window: dict[int, int] = {}
        self.shown: dict[int, int | None] = {}
        self.history: dict[tuple[int, int], list[int]] = {}  # by (conversation, ticket)

    def __call__(self, groups, payload):
        kind = payload["type"]
        if kind == "conversation.updated":
            c = payload["conversation"]
            ticket = c["ticket"] if c["status"] == "queued" else None
            if ticket != self.ticket.get(c["id"]) or c["window"] != self.window.get(c["id"]):
                self.shown[c["id"]] = None
            self.ticket[c["id"]], self.window[c["id"]] = ticket, c["window"]
        elif kind == "queue.position":
            self.tell(payload["conversation"], payload["position"])
        elif kind == "queue.head":
            head = payload["head"]
            for conversation_id, ticket in self.ticket.items():
                if ticket is not None and self.window[conversation_id] == head["window"]:
                    self.tell(conversation_id, selectors.place_in_queue(ticket, head))

    def tell(self, conversation_id, position):
        shown = self.shown.get(conversation_id)
        if position is not None and (shown is None or position < shown):
            self.shown[conversation_id] = position
            self.history.setdefault((conversation_id, self.ticket[conversation_id]), []).append(position)


def true_places() -> dict[int, int]:
    places = {}
    for window_id in Conversation.objects.values_list("window_id", flat=True).distinct():
        for place, conversation in enumerate(selectors.queued_conversations(window_id), start=1):
            places[conversation.id] = place
    return places


@pytest.mark.parametrize("seed", [1, 2])
def test_places_stay_right_through_arrivals_takes_transfers_and_closes_in_any_order(
    seed, db, monkeypatch, django_capture_on_commit_callbacks
):
    rng = random.Random(seed)
    citizens = Citizens()
    monkeypatch.setattr("chat.events._send", lambda groups, payload, key=None: citizens(groups, payload))
    department = factories.department(name="省人事厅")
    # One window hands out chats itself, the other lets its officers take them.
    windows = [
        factories.window(department, name="公务员考录", max_concurrent_chats=2),
        factories.window(department, name="职称评审", auto_assign=False),
    ]
    officers = {w.id: [factories.officer(w) for _ in range(2)] for w in windows}
    for window_officers in officers.values():
        for n, officer in enumerate(window_officers):
            actions.desk_connected(officer=officer, channel_name=f"desk-{officer.id}-{n}")
    # Busy: on duty (citizens queue) but no automatic assignment to this one.
    actions.set_status(officer=officers[windows[0].id][1], status="busy")

    def waiting(window=None):
        qs = Conversation.objects.filter(status=Status.QUEUED, first_question_at__isnull=False)
        return list(qs.filter(window=window) if window else qs)

    def arrive():
        person = factories.citizen()
        conversation = actions.open_conversation(citizen=person, window=rng.choice(windows))
        actions.send_message(conversation=conversation, sender=person, body="请问报名时间？", client_id="q")

    def take():
        window = rng.choice(windows)
        officer = rng.choice(officers[window.id])
        if rng.random() < 0.5:
            with contextlib.suppress(actions.ChatError):  # at the limit
                actions.take_next(officer=officer)
        elif waiting(window):
            conversation = rng.choice(waiting(window))  # out of turn
            try:
                actions.take_conversation(officer=officer, conversation=conversation)
            except actions.ChatError:
                pass  # the officer is at the limit

    def close():
        if rng.random() < 0.5 and waiting():
            conversation = rng.choice(waiting())
            actions.close_conversation(conversation=conversation, by=conversation.citizen)
            return
        active = list(Conversation.objects.filter(status=Status.ACTIVE).select_related("officer"))
        if active:
            conversation = rng.choice(active)
            actions.send_message(conversation=conversation, sender=conversation.officer, body="已答复。", client_id="a")
            actions.classify_conversation(
                conversation=conversation, officer=conversation.officer, classification="valid"
            )
            actions.close_conversation(conversation=conversation, by=conversation.officer)

    def transfer():
        candidates = waiting() + list(Conversation.objects.filter(status=Status.ACTIVE))
        if not candidates:
            return
        conversation = rng.choice(candidates)
        officer = conversation.officer or officers[conversation.window_id][0]
        to_window = next(w for w in windows if w.id != conversation.window_id)
        actions.transfer_conversation(conversation=conversation, officer=officer, to_window=to_window)

    steps = [arrive] * 5 + [take] * 2 + [close] * 2 + [transfer]
    for _ in range(60):
        with django_capture_on_commit_callbacks(execute=True):
            rng.choice(steps)()
        truth = true_places()
        for conversation in waiting():
            expected = truth[conversation.id]
            assert selectors.queue_position(conversation) == expected
            head = selectors.queue_head(conversation.window_id)
            assert selectors.place_in_queue(conversation.ticket, head) == expected
            assert citizens.shown[conversation.id] == expected, conversation.id
    # Places only move forward while a citizen holds one ticket (a transfer queues them anew).
    for places in citizens.history.values():
        assert places == sorted(places, reverse=True)
    assert len(truth) > 5


def test_one_change_sends_one_queue_event_to_the_citizens_and_one_to_the_desks(
    window, citizen, on_duty, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("chat.events._send", lambda groups, payload, key=None: sent.append((groups, payload, key)))
    actions.set_status(officer=on_duty, status="busy")
    people = [factories.citizen() for _ in range(30)]
    conversations = []
    for person in people:
        with django_capture_on_commit_callbacks(execute=True):
            c = actions.open_conversation(citizen=person, window=window)
            actions.send_message(conversation=c, sender=person, body="请问", client_id="q")
        conversations.append(c)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.take_next(officer=on_duty)
    heads = [(g, p) for g, p, _ in sent if p["type"] == "queue.head"]
    desks = [(g, p) for g, p, _ in sent if p["type"] == "queue.changed"]
    assert len(heads) == 1 and heads[0][0] == [queue_group(window.id)]
    assert heads[0][1]["head"]["waiting"] == 29 and heads[0][1]["head"]["gaps"] == []
    assert not [p for _, p, _ in sent if p["type"] == "queue.position"]  # nobody is pushed one by one
    assert len(desks) == 1 and desks[0][0] == [window_group(window.id)]
    listed = desks[0][1]["queue"]
    assert desks[0][1]["waiting"] == 29 and [c["id"] for c in listed] == [c.id for c in conversations[1:]]
    assert listed[0]["preview"] == "请问"
    # The arrival alone hears its own place.
    sent.clear()
    newcomer = factories.citizen()
    with django_capture_on_commit_callbacks(execute=True):
        c = actions.open_conversation(citizen=newcomer, window=window)
        actions.send_message(conversation=c, sender=newcomer, body="我也问", client_id="q")
    told = [(g, p) for g, p, _ in sent if p["type"] == "queue.position"]
    assert told == [
        (
            [conversation_group(c.id)],
            {
                "type": "queue.position",
                "conversation": c.id,
                "position": 30,
                "ticket": Conversation.objects.get(pk=c.pk).ticket,
            },
        )
    ]


# Through the real ASGI application --------------------------------------------------------------


@sync_to_async
def queue_of(length: int):
    """A window with length - 1 citizens waiting and an officer on duty but busy (nothing is assigned)."""
    window = factories.window(factories.department(name="省人事厅"), name="公务员考录")
    officer = factories.officer(window)
    actions.desk_connected(officer=officer, channel_name="desk-queue-test")
    actions.set_status(officer=officer, status="busy")
    # The ones ahead are written in bulk: 499 first questions through the actions would take a minute.
    now = timezone.now()
    ahead = [factories.citizen() for _ in range(length - 1)]
    Conversation.objects.bulk_create(
        Conversation(citizen=person, window=window, queued_at=now, first_question_at=now, ticket=n)
        for n, person in enumerate(ahead, start=1)
    )
    QueueCounter.objects.create(window=window, last_ticket=length - 1)
    citizen = factories.citizen()
    conversation = actions.open_conversation(citizen=citizen, window=window)
    return window, officer, citizen, conversation


@sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def receive_type(communicator, frame_type: str, limit: int = 20) -> dict:
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == frame_type:
            return frame
    raise AssertionError(f"no {frame_type} frame")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_citizen_at_place_500_is_told_it_and_hears_the_queue_move():
    window, officer, citizen, conversation = await queue_of(500)
    headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={await session_cookie(citizen)}".encode())]
    chat = WebsocketCommunicator(application, f"/ws/chat/{conversation.id}/", headers=headers)
    try:
        assert (await chat.connect())[0]
        await chat.send_json_to({"type": "message", "client_id": "q", "body": "考试什么时候报名？"})
        assert (await receive_type(chat, "queue"))["position"] == 500
        await database_sync_to_async(actions.take_next)(officer=officer)
        assert (await receive_type(chat, "queue"))["position"] == 499
        # Someone ahead gives up: out of turn, and the place still moves.
        leaver = await sync_to_async(
            lambda: Conversation.objects.select_related("citizen").get(window=window, ticket=250)
        )()
        await database_sync_to_async(actions.close_conversation)(conversation=leaver, by=leaver.citizen)
        assert (await receive_type(chat, "queue"))["position"] == 498
        # A reconnecting page hears it again.
        await chat.send_json_to({"type": "resume", "after": 0})
        assert (await receive_type(chat, "queue"))["position"] == 498
    finally:
        await chat.disconnect()
        await database_sync_to_async(connections.close_all)()
        await loop_connection.close_connections()


@sync_to_async
def waiting_window(citizens: int):
    window = factories.window(factories.department(name="省人事厅"), name="公务员考录")
    officer = factories.officer(window)
    actions.desk_connected(officer=officer, channel_name="desk-burst-test")
    actions.set_status(officer=officer, status="busy")
    people = [factories.citizen() for _ in range(citizens)]
    return window, officer, [actions.open_conversation(citizen=p, window=window) for p in people], people


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_desk_hears_a_burst_of_arrivals_as_one_or_two_lists_with_everyone():
    window, officer, conversations, people = await waiting_window(5)
    headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={await session_cookie(officer)}".encode())]
    desk = WebsocketCommunicator(application, "/ws/desk/", headers=headers)
    try:
        assert (await desk.connect())[0]
        for conversation, person in zip(conversations, people):
            await database_sync_to_async(actions.send_message)(
                conversation=conversation, sender=person, body="报名时间？", client_id="q"
            )
        frames = []
        while not [f for f in frames if f["type"] == "queue_changed" and f["waiting"] == 5]:
            frames.append(await desk.receive_json_from(timeout=5))
        while not await desk.receive_nothing(timeout=1.0):
            frames.append(await desk.receive_json_from(timeout=5))
        lists = [f for f in frames if f["type"] == "queue_changed"]
        assert 1 <= len(lists) <= 2
        assert lists[-1]["waiting"] == 5
        assert [c["id"] for c in lists[-1]["queue"]] == [c.id for c in conversations]
    finally:
        await desk.disconnect()
        await database_sync_to_async(connections.close_all)()
        await loop_connection.close_connections()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_one_channel_per_process_hears_the_head_for_all_its_waiting_sockets():
    window, officer, conversations, people = await waiting_window(3)
    for conversation, person in zip(conversations, people):
        await database_sync_to_async(actions.send_message)(
            conversation=conversation, sender=person, body="报名时间？", client_id="q"
        )
    layer = get_channel_layer()
    pages = []
    try:
        for conversation, person in zip(conversations[1:], people[1:]):
            headers = [
                (b"origin", b"http://localhost"),
                (b"cookie", f"sessionid={await session_cookie(person)}".encode()),
            ]
            page = WebsocketCommunicator(application, f"/ws/chat/{conversation.id}/", headers=headers)
            assert (await page.connect())[0]
            await page.send_json_to({"type": "resume", "after": 0})
            pages.append(page)
        assert [(await receive_type(p, "queue"))["position"] for p in pages] == [2, 3]
        # Not one member per waiting socket: the process's one listener.
        assert len(layer.groups[queue_group(window.id)]) == 1
        await database_sync_to_async(actions.take_next)(officer=officer)
        assert [(await receive_type(p, "queue"))["position"] for p in pages] == [1, 2]
    finally:
        for page in pages:
            await page.disconnect()
        await database_sync_to_async(connections.close_all)()
        await loop_connection.close_connections()
    assert queue_group(window.id) not in layer.groups  # the last one gone, the process stops listening


def _wait_in_bulk(window, count: int) -> None:
    now = timezone.now()
    start = QueueCounter.objects.filter(window=window).values_list("last_ticket", flat=True).first() or 0
    Conversation.objects.bulk_create(
        Conversation(citizen=factories.citizen(), window=window, queued_at=now, first_question_at=now, ticket=n)
        for n in range(start + 1, start + count + 1)
    )
    QueueCounter.objects.update_or_create(window=window, defaults={"last_ticket": start + count})


def test_a_desk_list_and_a_queue_head_cost_the_same_few_queries_however_long_the_queue(window, on_duty):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.actions.queue import _desk_events, _head_events

    counts = []
    for more in (5, 295):
        _wait_in_bulk(window, more)
        with CaptureQueriesContext(connection) as desk:
            [(_, _, listed)] = _desk_events(window.id)
        with CaptureQueriesContext(connection) as head:
            [(_, _, heard)] = _head_events(window.id)
        counts.append((len(desk), len(head)))
    assert listed["waiting"] == 300 and len(listed["queue"]) == 100
    assert heard["head"]["waiting"] == 300
    # One build serves every desk of the window and every waiting citizen, at most every 0.5 / 0.2 s
    # per process (chat/actions/queue.py): its cost does not grow with the queue.
    # (past the first 100, one more query counts those waiting)
    assert counts == [(4, 1), (5, 1)]
