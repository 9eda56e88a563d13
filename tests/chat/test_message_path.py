"""The established-conversation path of send_message: one statement authorizes, sequences and stores.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (where it is a single self-committing statement).
"""
import pytest
from django.db import transaction
from django.http import Http404

from chat import actions
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


def test_messages_take_the_next_seqs_and_reach_both_sides(answered, citizen, on_duty, django_capture_on_commit_callbacks):
    before = Conversation.objects.get(pk=answered.pk)
    sent = []
    with django_capture_on_commit_callbacks() as callbacks:
        for n, (sender, body) in enumerate([(citizen, "那要换证吗？"), (on_duty, "六年换证。"), (citizen, "谢谢")]):
            message, created = actions.send_message(conversation=answered.pk, sender=sender, body=body, client_id=f"m{n}")
            assert created
            sent.append(message)
    after = Conversation.objects.get(pk=answered.pk)
    assert [m.seq for m in sent] == [before.last_seq + 1, before.last_seq + 2, before.last_seq + 3]
    assert after.last_seq == before.last_seq + 3
    assert after.last_message_at >= before.last_message_at
    stored = list(Message.objects.filter(conversation=answered, seq__gt=before.last_seq).order_by("seq"))
    assert [(m.sender_kind, m.body, m.client_id) for m in stored] == [
        ("citizen", "那要换证吗？", "m0"), ("officer", "六年换证。", "m1"), ("citizen", "谢谢", "m2")
    ]
    assert stored[1].sender_id == on_duty.id and stored[0].created_at is not None
    # One event per message, to the conversation and to the officer's desk.
    assert len(callbacks) == 3


def test_the_event_names_the_groups_and_carries_the_message(answered, citizen, on_duty, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("chat.events._send", lambda groups, payload: sent.append((groups, payload)))
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = actions.send_message(conversation=answered.pk, sender=on_duty, body="请带身份证原件。", client_id="x")
    assert len(sent) == 1
    groups, payload = sent[0]
    assert groups == [conversation_group(answered.pk), user_group(on_duty.id)]
    assert payload["type"] == "message.new"
    assert payload["message"] == {
        "conversation": answered.pk, "seq": message.seq, "client_id": "x", "sender": "officer",
        "sender_name": str(on_duty), "body": "请带身份证原件。", "created_at": payload["message"]["created_at"],
    }
    assert payload["message"]["created_at"].endswith("+08:00")


def test_a_resend_returns_the_first_message_and_advances_nothing(answered, citizen, django_capture_on_commit_callbacks):
    first, _ = actions.send_message(conversation=answered.pk, sender=citizen, body="还有一个问题", client_id="again")
    last_seq = Conversation.objects.get(pk=answered.pk).last_seq
    with django_capture_on_commit_callbacks() as callbacks:
        second, created = actions.send_message(conversation=answered.pk, sender=citizen, body="还有一个问题", client_id="again")
    assert not created and second.pk == first.pk and second.seq == first.seq
    assert Conversation.objects.get(pk=answered.pk).last_seq == last_seq
    assert Message.objects.filter(conversation=answered, client_id="again").count() == 1
    assert callbacks == []


def test_a_resend_inside_a_callers_transaction_leaves_that_transaction_usable(answered, citizen):
    actions.send_message(conversation=answered.pk, sender=citizen, body="第一次", client_id="dup")
    with transaction.atomic():
        again, created = actions.send_message(conversation=answered.pk, sender=citizen, body="第一次", client_id="dup")
        # The caller's transaction goes on after the duplicate was caught.
        later, created_later = actions.send_message(conversation=answered.pk, sender=citizen, body="第二次", client_id="new")
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
