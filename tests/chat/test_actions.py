import datetime

import pytest
from django.utils import timezone

from chat import actions, selectors
from chat.models import Conversation, Message, PresenceInterval, Status
from departments.calendar import due_moment
from tests import factories


def test_first_question_without_officer_becomes_offline_question_due_next_working_day(
    window, citizen, django_capture_on_commit_callbacks
):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message, created = actions.send_message(
            conversation=conversation, sender=citizen, body="驾驶证要不要年检？", client_id="c1"
        )
    conversation.refresh_from_db()
    assert created and message.seq == 1
    assert conversation.status == Status.OFFLINE
    assert conversation.is_offline_question
    # Due at the end of the window's duty hours on the next working day, and the citizen is told when.
    assert conversation.due_at == due_moment(conversation.first_question_at, window=window)
    assert timezone.localtime(conversation.due_at).time() == window.duty_end
    bodies = list(conversation.messages.values_list("sender_kind", "seq"))
    assert bodies == [("citizen", 1), ("system", 2)]
    notice = conversation.messages.get(seq=2).body
    assert f"{timezone.localtime(conversation.due_at):%Y年%m月%d日} {window.duty_end:%H:%M} 前" in notice
    assert len(callbacks) >= 2


def test_same_client_id_never_makes_a_second_message(window, citizen, on_duty, django_capture_on_commit_callbacks):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    first, created = actions.send_message(conversation=conversation, sender=citizen, body="你好", client_id="same")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, created_again = actions.send_message(
            conversation=conversation, sender=citizen, body="你好", client_id="same"
        )
    assert created and not created_again
    assert again.pk == first.pk
    assert Message.objects.filter(conversation=conversation, client_id="same").count() == 1
    assert callbacks == []


def test_question_is_assigned_to_least_loaded_online_officer(window, citizen):
    busy_officer = factories.officer(window)
    free_officer = factories.officer(window)
    actions.desk_connected(officer=busy_officer, channel_name="d-busy")
    actions.desk_connected(officer=free_officer, channel_name="d-free")
    other = factories.citizen()
    first = actions.open_conversation(citizen=other, window=window)
    actions.send_message(conversation=first, sender=other, body="第一个问题", client_id="a")
    first.refresh_from_db()
    second = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=second, sender=citizen, body="第二个问题", client_id="b")
    second.refresh_from_db()
    assert first.status == second.status == Status.ACTIVE
    assert {first.officer_id, second.officer_id} == {busy_officer.id, free_officer.id}


def test_queue_when_officers_are_full_and_take_next(window, citizen, on_duty):
    window.max_concurrent_chats = 1
    window.save()
    others = [factories.citizen() for _ in range(2)]
    conversations = []
    for person in others + [citizen]:
        c = actions.open_conversation(citizen=person, window=window)
        actions.send_message(conversation=c, sender=person, body="请问", client_id="x")
        conversations.append(c)
    states = [Conversation.objects.get(pk=c.pk).status for c in conversations]
    assert states == [Status.ACTIVE, Status.QUEUED, Status.QUEUED]
    assert selectors.queue_position(Conversation.objects.get(pk=conversations[2].pk)) == 2
    # At the limit, with people waiting: nothing is handed over, and the officer is told why.
    with pytest.raises(actions.ChatError, match=r"已达到同时接待上限（1）") as refused:
        actions.take_next(officer=on_duty)
    assert refused.value.code == "limit"
    with pytest.raises(actions.ChatError):
        actions.take_conversation(officer=on_duty, conversation=conversations[1])
    actions.send_message(conversation=conversations[0], sender=on_duty, body="您好，请说。", client_id="r1")
    actions.classify_conversation(conversation=conversations[0], officer=on_duty, classification="valid")
    actions.close_conversation(conversation=conversations[0], by=on_duty)
    # Closing frees a place: the longest waiting conversation is assigned automatically.
    assert Conversation.objects.get(pk=conversations[1].pk).officer_id == on_duty.id
    assert selectors.queue_position(Conversation.objects.get(pk=conversations[2].pk)) == 1


def test_officer_reply_sets_first_response_and_live_answer(window, citizen, on_duty):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="驾驶证要不要年检？", client_id="q")
    actions.send_message(conversation=conversation, sender=on_duty, body="c证无需年检。", client_id="a")
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None
    assert conversation.answered_live is True


def test_valid_question_cannot_be_closed_unanswered_but_chit_chat_can(window, citizen, on_duty):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="今天来问的人多吗", client_id="q")
    with pytest.raises(actions.ChatError, match="分类"):
        actions.close_conversation(conversation=conversation, by=on_duty)
    actions.classify_conversation(conversation=conversation, officer=on_duty, classification="valid")
    with pytest.raises(actions.ChatError, match="答复后"):
        actions.close_conversation(conversation=conversation, by=on_duty)
    actions.classify_conversation(conversation=conversation, officer=on_duty, classification="greeting")
    actions.close_conversation(conversation=conversation, by=on_duty)
    assert Conversation.objects.get(pk=conversation.pk).status == Status.CLOSED


def test_strangers_are_refused(window, citizen, on_duty):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    stranger = factories.citizen()
    other_officer = factories.officer(factories.window())
    with pytest.raises(actions.ChatError):
        actions.send_message(conversation=conversation, sender=stranger, body="我来插一句", client_id="s")
    with pytest.raises(actions.ChatError):
        actions.send_message(conversation=conversation, sender=other_officer, body="越权答复", client_id="o")
    assert conversation.messages.count() == 0


@pytest.mark.parametrize("body", ["", "   ", "字" * 2001, None, 123])
def test_bad_bodies_are_refused_with_chinese_message(window, citizen, body):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    with pytest.raises(actions.ChatError) as error:
        actions.send_message(conversation=conversation, sender=citizen, body=body, client_id="b")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.value.message)
    assert conversation.messages.count() == 0


def test_rating_after_close_only_once(window, citizen, on_duty):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    with pytest.raises(actions.ChatError):
        actions.rate_conversation(conversation=conversation, citizen=citizen, rating=5)
    actions.close_conversation(conversation=conversation, by=citizen)
    with pytest.raises(actions.ChatError):
        actions.rate_conversation(conversation=conversation, citizen=citizen, rating=9)
    actions.rate_conversation(conversation=conversation, citizen=citizen, rating=4, comment="答复清楚")
    with pytest.raises(actions.ChatError):
        actions.rate_conversation(conversation=conversation, citizen=citizen, rating=5)
    assert Conversation.objects.get(pk=conversation.pk).rating == 4


def test_presence_intervals_follow_desk_and_status(window, officer):
    actions.desk_connected(officer=officer, channel_name="d1")
    assert window.id in selectors.online_window_ids([window.id])
    actions.set_status(officer=officer, status="away")
    assert window.id not in selectors.online_window_ids([window.id])
    actions.desk_disconnected(officer=officer, channel_name="d1")
    intervals = list(
        PresenceInterval.objects.filter(officer=officer).order_by("started_at").values_list("status", "ended_at")
    )
    assert [s for s, _ in intervals] == ["online", "away"]
    assert all(ended is not None for _, ended in intervals)


def test_stale_desk_expires_from_its_last_heartbeat(window, officer, settings):
    actions.desk_connected(officer=officer, channel_name="d1")
    later = timezone.now() + datetime.timedelta(seconds=settings.PRESENCE_TIMEOUT_SECONDS + 5)
    assert actions.expire_stale_desks(now=later) == 1
    interval = PresenceInterval.objects.get(officer=officer)
    assert interval.ended_at is not None and interval.ended_at < later
    assert window.id not in selectors.online_window_ids([window.id])


def test_busy_notice_after_long_wait(window, citizen, on_duty, settings):
    actions.set_status(officer=on_duty, status="busy")
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="请问户口迁移", client_id="q")
    conversation.refresh_from_db()
    assert conversation.status == Status.QUEUED
    later = timezone.now() + datetime.timedelta(seconds=settings.QUEUE_BUSY_NOTICE_SECONDS + 1)
    assert actions.send_busy_notices(now=later) == 1
    assert actions.send_busy_notices(now=later) == 0
    conversation.refresh_from_db()
    assert conversation.is_offline_question and conversation.due_at
    notice = conversation.messages.order_by("-seq").first().body
    assert notice.startswith("值班人员正忙，您的问题已记录为留言") and "对不起" not in notice


def test_transfer_keeps_history_and_waiting_time_and_hides_the_note(
    window, citizen, on_duty, django_capture_on_commit_callbacks
):
    target = factories.window(factories.department(name="省人事厅"), name="公务员考录")
    receiver = factories.officer(target)
    actions.desk_connected(officer=receiver, channel_name="d-receiver")
    actions.set_status(officer=receiver, status="busy")  # on line, but takes no automatic assignments
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="公务员考试什么时候报名？", client_id="q")
    conversation.refresh_from_db()
    queued_at = conversation.queued_at
    with django_capture_on_commit_callbacks(execute=True):
        actions.transfer_conversation(conversation=conversation, officer=on_duty, to_window=target, note="人事厅答复")
    conversation.refresh_from_db()
    assert conversation.window == target and conversation.officer is None
    assert conversation.status == Status.QUEUED and conversation.queued_at == queued_at
    last = conversation.messages.order_by("-seq").first()
    assert "转至" in last.body and "人事厅答复" not in last.body
    assert conversation.messages.filter(body="公务员考试什么时候报名？").exists()
    # The original window's officer no longer reaches it; the receiving one does.
    with pytest.raises(actions.ChatError):
        actions.send_message(conversation=conversation, sender=on_duty, body="还是我来答", client_id="x")
    actions.take_conversation(officer=receiver, conversation=conversation)
    actions.send_message(conversation=conversation, sender=receiver, body="请留意11月的招考公告。", client_id="a")
    from chat.desk_state import desk_state

    item = next(c for c in desk_state(receiver)["chats"] if c["id"] == conversation.id)
    assert "人事厅答复" in item["transfer_note"]


def test_transfer_to_window_without_officer_becomes_offline_question(window, citizen, on_duty):
    target = factories.window(name="无人值班")
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.send_message(conversation=conversation, sender=citizen, body="请问", client_id="q")
    actions.transfer_conversation(conversation=conversation, officer=on_duty, to_window=target)
    conversation.refresh_from_db()
    assert conversation.status == Status.OFFLINE and conversation.due_at is not None
    with pytest.raises(actions.ChatError):
        actions.transfer_conversation(conversation=conversation, officer=on_duty, to_window=window)


def test_system_notice_reaches_closed_conversation(window, citizen, django_capture_on_commit_callbacks):
    conversation = actions.open_conversation(citizen=citizen, window=window)
    actions.close_conversation(conversation=conversation, by=citizen)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = actions.post_system_notice(conversation=conversation, body="您的信件已答复。")
    assert message.sender_kind == "system" and message.seq == conversation.messages.count()
    assert len(callbacks) == 1


def test_housekeeping_command(window, officer, settings):
    from io import StringIO

    from django.core.management import call_command

    actions.desk_connected(officer=officer, channel_name="d1")
    settings.PRESENCE_TIMEOUT_SECONDS = -1  # every heartbeat is already too old
    out = StringIO()
    call_command("chat_housekeeping", stdout=out)
    assert "离线值班人员 1 名" in out.getvalue()
    assert not PresenceInterval.objects.filter(officer=officer, ended_at__isnull=True).exists()
