"""The message path: send_message's fast way (one statement authorizes, sequences and stores a message in
an established conversation) and its full way, which must agree on who may send.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (where the fast way is a single self-committing
statement, run from the event loop by asend_message).
"""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections, transaction
from django.http import Http404

from chat import actions, loop_connection
from chat.actions import messages
from chat.events import conversation_group, user_group
from chat.models import Conversation, Message, Status
from tests import factories


@pytest.fixture
def answered(window, citizen, on_duty):
    """A conversation past its first question and first answer: the next messages take the short path."""
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="驾驶证要不要年检？", client_id="q")
    actions.send_message(conversation=conversation, sender=on_duty, body="c证无需年检。", client_id="a")
    conversation.refresh_from_db()
    assert conversation.officer_id == on_duty.id and conversation.first_response_at is not None
    return conversation


def test_messages_take_the_next_seqs_and_reach_both_sides(
    answered, citizen, on_duty, django_capture_on_commit_callbacks
):
    before = Conversation.objects.get(pk=answered.pk)
    sent = []
    with django_capture_on_commit_callbacks() as callbacks:
        for n, (sender, body) in enumerate([(citizen, "那要换证吗？"), (on_duty, "六年换证。"), (citizen, "谢谢")]):
            message, created = actions.send_message(
                conversation=answered.pk, sender=sender, body=body, client_id=f"m{n}"
            )
            assert created
            sent.append(message)
    after = Conversation.objects.get(pk=answered.pk)
    assert [m.seq for m in sent] == [before.last_seq + 1, before.last_seq + 2, before.last_seq + 3]
    assert after.last_seq == before.last_seq + 3
    assert after.last_message_at >= before.last_message_at
    stored = list(Message.objects.filter(conversation=answered, seq__gt=before.last_seq).order_by("seq"))
    assert [(m.sender_kind, m.body, m.client_id) for m in stored] == [
        ("citizen", "那要换证吗？", "m0"),
        ("officer", "六年换证。", "m1"),
        ("citizen", "谢谢", "m2"),
    ]
    assert stored[1].sender_id == on_duty.id and stored[0].created_at is not None
    # One event per message, to the conversation and to the officer's desk.
    assert len(callbacks) == 3


def test_the_event_names_the_groups_and_carries_the_message(
    answered, citizen, on_duty, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("chat.events._send", lambda groups, payload: sent.append((groups, payload)))
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = actions.send_message(
            conversation=answered.pk, sender=on_duty, body="请带身份证原件。", client_id="x"
        )
    assert len(sent) == 1
    groups, payload = sent[0]
    assert groups == [conversation_group(answered.pk), user_group(on_duty.id)]
    assert payload["type"] == "message.new"
    assert payload["message"] == {
        "conversation": answered.pk,
        "seq": message.seq,
        "client_id": "x",
        "sender": "officer",
        "sender_name": str(on_duty),
        "body": "请带身份证原件。",
        "created_at": payload["message"]["created_at"],
    }
    assert payload["message"]["created_at"].endswith("+08:00")


def test_a_resend_returns_the_first_message_and_advances_nothing(answered, citizen, django_capture_on_commit_callbacks):
    first, _ = actions.send_message(conversation=answered.pk, sender=citizen, body="还有一个问题", client_id="again")
    last_seq = Conversation.objects.get(pk=answered.pk).last_seq
    with django_capture_on_commit_callbacks() as callbacks:
        second, created = actions.send_message(
            conversation=answered.pk, sender=citizen, body="还有一个问题", client_id="again"
        )
    assert not created and second.pk == first.pk and second.seq == first.seq
    assert Conversation.objects.get(pk=answered.pk).last_seq == last_seq
    assert Message.objects.filter(conversation=answered, client_id="again").count() == 1
    assert callbacks == []


def test_a_resend_inside_a_callers_transaction_leaves_that_transaction_usable(answered, citizen):
    actions.send_message(conversation=answered.pk, sender=citizen, body="第一次", client_id="dup")
    with transaction.atomic():
        again, created = actions.send_message(conversation=answered.pk, sender=citizen, body="第一次", client_id="dup")
        # The caller's transaction goes on after the duplicate was caught.
        later, created_later = actions.send_message(
            conversation=answered.pk, sender=citizen, body="第二次", client_id="new"
        )
    assert not created and created_later
    assert later.seq == again.seq + 1


def test_an_officer_taken_off_the_window_can_no_longer_answer(answered, window, on_duty):
    window.officers.remove(on_duty)
    count = Message.objects.count()
    with pytest.raises(actions.ChatError) as error:
        actions.send_message(conversation=answered.pk, sender=on_duty, body="还能回复吗", client_id="late")
    assert error.value.code == "forbidden" and "值班人员" in error.value.message
    assert Message.objects.count() == count


def test_a_suspended_window_stops_its_officers(answered, window, on_duty):
    window.is_active = False
    window.save(update_fields=["is_active"])
    with pytest.raises(actions.ChatError):
        actions.send_message(conversation=answered.pk, sender=on_duty, body="窗口已停用", client_id="w")
    assert not Message.objects.filter(client_id="w").exists()


def test_another_officer_of_the_window_cannot_write_into_a_taken_chat(answered, window):
    colleague = factories.officer(window)
    with pytest.raises(actions.ChatError, match="其他值班人员"):
        actions.send_message(conversation=answered.pk, sender=colleague, body="我来答", client_id="c")
    assert not Message.objects.filter(client_id="c").exists()


def test_strangers_and_closed_conversations_are_refused(answered, citizen, on_duty):
    stranger = factories.citizen()
    with pytest.raises(actions.ChatError) as error:
        actions.send_message(conversation=answered.pk, sender=stranger, body="插一句", client_id="s")
    assert error.value.code == "forbidden"
    supervisor = factories.supervisor()
    with pytest.raises(actions.ChatError):
        actions.send_message(conversation=answered.pk, sender=supervisor, body="督查", client_id="v")
    actions.classify_conversation(conversation=answered, officer=on_duty, classification="valid")
    actions.close_conversation(conversation=answered, by=on_duty)
    last_seq = Conversation.objects.get(pk=answered.pk).last_seq
    with pytest.raises(actions.ChatError) as error:
        actions.send_message(conversation=answered.pk, sender=citizen, body="还在吗", client_id="late")
    assert error.value.code == "closed"
    conversation = Conversation.objects.get(pk=answered.pk)
    assert conversation.status == Status.CLOSED and conversation.last_seq == last_seq


def test_an_unknown_conversation_is_not_found(citizen, on_duty):
    with pytest.raises(Http404):
        actions.send_message(conversation=987654, sender=citizen, body="你好", client_id="n")
    with pytest.raises(Http404):
        actions.send_message(conversation=987654, sender=on_duty, body="你好", client_id="n")


# Who may send ------------------------------------------------------------------------------------
# The fast way's WHERE and the full way's checks both state who may send. Every refusal goes through
# both, from the database thread and from the event loop (on PostgreSQL the loop's own connection),
# and must store nothing and answer with the same Chinese text.

REFUSALS = {
    "stranger": ("forbidden", "您不是这个窗口的值班人员。"),
    "colleague": ("forbidden", "这个会话已由其他值班人员接待。"),
    "supervisor": ("forbidden", "您不是这个窗口的值班人员。"),
    "removed_officer": ("forbidden", "您不是这个窗口的值班人员。"),
    "suspended_window": ("forbidden", "您不是这个窗口的值班人员。"),
    "closed": ("closed", "该会话已结束，如有新问题请重新发起咨询。"),
    "unknown_id": ("not_found", "没有找到这个会话。"),
    "other_citizen": ("forbidden", "您无权在这个会话中发言。"),
    "deactivated_officer": ("forbidden", "您的账号已停用，不能发送消息。"),
    "deactivated_citizen": ("forbidden", "您的账号已停用，不能发送消息。"),
}


@sync_to_async
def refused_sender(refusal: str) -> tuple:
    """Return (sender, conversation id) of an established chat that the duty rules refuse for the refusal."""
    window = factories.window(factories.department(name="省人力社保厅"), name="养老保险")
    citizen, officer = factories.citizen(), factories.officer(window)
    actions.desk_connected(officer=officer, channel_name="desk-refusal-test")
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="社保断了怎么办？", client_id="q")
    actions.send_message(conversation=conversation, sender=officer, body="可以补缴。", client_id="a")
    if refusal == "stranger":
        return factories.officer(
            factories.window(factories.department(name="省民政厅"), name="婚姻登记")
        ), conversation.pk
    if refusal == "colleague":
        return factories.officer(window), conversation.pk
    if refusal == "supervisor":
        return factories.supervisor(), conversation.pk
    if refusal == "removed_officer":
        window.officers.remove(officer)
        return officer, conversation.pk
    if refusal == "suspended_window":
        window.is_active = False
        window.save(update_fields=["is_active"])
        return officer, conversation.pk
    if refusal == "closed":
        actions.classify_conversation(conversation=conversation, officer=officer, classification="valid")
        actions.close_conversation(conversation=conversation, by=citizen)
        return citizen, conversation.pk
    if refusal == "unknown_id":
        return citizen, conversation.pk + 1000
    if refusal.startswith("deactivated"):
        # The socket's copy of the user still says active; the database no longer does.
        sender = officer if refusal == "deactivated_officer" else citizen
        type(sender).objects.filter(pk=sender.pk).update(is_active=False)
        return sender, conversation.pk
    other = factories.citizen()
    own = actions.open_conversation(citizen=other, window=window)
    actions.send_message(conversation=own, sender=other, body="我也有个问题", client_id="own")
    return other, conversation.pk


def stored_state():
    return sync_to_async(
        lambda: (Message.objects.count(), list(Conversation.objects.order_by("id").values_list("last_seq", flat=True)))
    )()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("way", ["database_thread", "event_loop"])
@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_every_refusal_is_the_same_on_both_ways(refusal, way):
    sender, conversation_id = await refused_sender(refusal)
    before = await stored_state()
    body, client_id = "插一句", f"refused-{refusal}"
    # The fast way alone stores nothing for this sender (on the loop's own connection) ...
    if way == "event_loop" and loop_connection.available():
        assert (
            await messages._store_fast_way_on_loop(conversation_id, sender=sender, body=body, client_id=client_id)
            is None
        )
    else:
        assert (
            await database_sync_to_async(messages._store_fast_way)(
                conversation_id, sender=sender, body=body, client_id=client_id
            )
            is None
        )
    # ... and the whole path, which takes the full way next, refuses with the same Chinese text.
    send = (
        actions.asend_message
        if way == "event_loop"
        else database_sync_to_async(
            lambda **kwargs: actions.send_message(conversation=kwargs.pop("conversation_id"), **kwargs)
        )
    )
    code, text = REFUSALS[refusal]
    try:
        with pytest.raises(Http404 if code == "not_found" else actions.ChatError) as error:
            await send(conversation_id=conversation_id, sender=sender, body=body, client_id=client_id)
        if code == "not_found":
            assert str(error.value) == text
        else:
            assert (error.value.code, error.value.message) == (code, text)
        assert await stored_state() == before
    finally:
        await loop_connection.close_connections()
        await database_sync_to_async(connections.close_all)()
