"""What an officer sees: similar earlier answers on the desk, and publishing a conversation."""

import pytest
from django.urls import reverse

from chat import actions as chat_actions
from faq import actions, selectors
from faq.models import Entry, Source
from tests import factories


@pytest.fixture
def open_question(corpus, traffic_window, traffic_officer):
    citizen = factories.citizen()
    conversation = chat_actions.open_conversation(citizen=citizen, window=traffic_window)
    chat_actions.send_message(conversation=conversation, sender=citizen, body="你好", client_id="1")
    chat_actions.take_conversation(officer=traffic_officer, conversation=conversation)
    chat_actions.send_message(conversation=conversation, sender=traffic_officer, body="您好，请讲。", client_id="2")
    chat_actions.send_message(conversation=conversation, sender=citizen, body="我的驾照丢了，怎么补办？", client_id="3")
    return conversation


def test_similar_answers_for_the_latest_question(client, open_question, traffic_officer, closed_conversation):
    client.force_login(traffic_officer)
    reply = client.get(reverse("faq:similar"), {"conversation": open_question.pk})
    assert reply.status_code == 200
    data = reply.json()
    assert data["query"] == "我的驾照丢了，怎么补办？"
    assert data["publish_url"] == ""  # still open
    assert len(data["results"]) <= 5
    assert data["results"][0]["question"] == "驾驶证遗失后怎样补领？"
    assert data["results"][0]["answer"].startswith("您好！驾驶证遗失的")

    # The department's past answered conversations are suggestions for its officers, never published.
    citizen = open_question.citizen
    chat_actions.send_message(
        conversation=open_question, sender=citizen, body="摩托车驾驶证到期了怎么换证？", client_id="4"
    )
    data = client.get(reverse("faq:similar"), {"conversation": open_question.pk}).json()
    archived = [r for r in data["results"] if r["source"] == Source.ARCHIVE.label]
    assert archived and archived[0]["published"] is False and archived[0]["url"] == ""
    entry = Entry.objects.get(conversation=closed_conversation)
    assert entry.source == Source.ARCHIVE and not entry.is_published
    closed = client.get(reverse("faq:similar"), {"conversation": closed_conversation.pk}).json()
    assert closed["publish_url"] == reverse("faq:publish", args=[closed_conversation.pk])
    assert entry.pk not in [r["id"] for r in closed["results"]]  # not its own suggestion


def test_similar_is_for_officers_of_the_window_only(client, open_question, places):
    other = factories.officer(places[("省民政厅", "婚姻登记")])
    client.force_login(other)
    reply = client.get(reverse("faq:similar"), {"conversation": open_question.pk})
    assert reply.status_code == 404 and reply.json()["error"]  # not theirs: the same answer as unknown

    client.force_login(open_question.citizen)
    assert client.get(reverse("faq:similar"), {"conversation": open_question.pk}).status_code == 403

    client.logout()
    assert client.get(reverse("faq:similar"), {"conversation": open_question.pk}).status_code == 403

    client.force_login(other)
    assert client.get(reverse("faq:similar"), {"conversation": 999999}).status_code == 404
    assert client.get(reverse("faq:similar"), {"conversation": "abc"}).status_code == 404


def test_archived_answers_stay_within_the_department(closed_conversation, places, corpus):
    assert actions.archive_answered_conversations() == 1
    assert actions.archive_answered_conversations() == 0
    entry = Entry.objects.get(conversation=closed_conversation)
    other = factories.officer(places[("省民政厅", "婚姻登记")])
    assert entry not in [r.entry for r in selectors.search_for_officer(other, "摩托车驾驶证到期换证", limit=20)]
    assert entry not in [r.entry for r in selectors.search_public("摩托车驾驶证到期换证", limit=50)]


def test_publish_page_prefills_and_flags_personal_data(client, closed_conversation, traffic_officer):
    client.force_login(traffic_officer)
    page = client.get(reverse("faq:publish", args=[closed_conversation.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "摩托车驾驶证到期了怎么换" in html and "交管12123申请换证" in html
    assert '<mark class="faq-flag" title="疑似手机号">13812345678' in html
    assert '<mark class="faq-flag" title="疑似身份证号">330102199001011234' in html
    assert 'title="疑似姓名">张伟' in html


def test_publishing_needs_consent_no_blocked_data_and_confirmed_names(client, closed_conversation, traffic_officer):
    client.force_login(traffic_officer)
    url = reverse("faq:publish", args=[closed_conversation.pk])
    question = "我叫张伟，手机139-1234-5678，摩托车驾驶证到期了怎么换？"
    answer = "摩托车驾驶证到期前90日内可在交管12123申请换证，需提交身体条件证明。"

    no_consent = client.post(url, {"question": "摩托车驾驶证到期了怎么换？", "answer": answer, "action": "publish"})
    assert no_consent.status_code == 400 and "市民没有同意公开" in no_consent.content.decode()
    actions.change_publication_consent(
        conversation=closed_conversation, citizen=closed_conversation.citizen, allowed=True
    )

    # A mobile number cannot be ticked away.
    refused = client.post(
        url, {"question": question, "answer": answer, "action": "publish", "confirm_personal_data": "on"}
    )
    html = refused.content.decode()
    assert refused.status_code == 400 and "不能公开的个人信息" in html and "手机号“139-1234-5678”" in html
    assert not Entry.objects.filter(conversation=closed_conversation, is_published=True).exists()

    draft = client.post(url, {"question": question, "answer": answer, "action": "draft"})
    assert draft.status_code == 302
    entry = Entry.objects.get(conversation=closed_conversation)
    assert not entry.is_published and entry.source == Source.CONVERSATION
    assert "139-1234-5678" not in client.get(reverse("faq:search"), {"q": "摩托车驾驶证到期"}).content.decode()

    # A name is a flag the officer may confirm after checking.
    named = "我叫张伟，摩托车驾驶证到期了怎么换？"
    unconfirmed = client.post(url, {"question": named, "answer": answer, "action": "publish"})
    assert unconfirmed.status_code == 400 and "疑似姓名" in unconfirmed.content.decode()

    published = client.post(url, {"question": "摩托车驾驶证到期了怎么换？", "answer": answer, "action": "publish"})
    assert published.status_code == 302
    entry.refresh_from_db()
    assert entry.is_published and entry.published_at and entry.question == "摩托车驾驶证到期了怎么换？"
    client.logout()
    html = client.get(reverse("faq:search"), {"q": "摩托车驾驶证到期"}).content.decode()
    assert "摩托车驾驶证到期了怎么换？" in html


def test_publish_page_refuses_strangers_and_open_conversations(
    client, closed_conversation, open_question, places, traffic_officer
):
    stranger = factories.officer(places[("省民政厅", "婚姻登记")])
    client.force_login(stranger)
    assert client.get(reverse("faq:publish", args=[closed_conversation.pk])).status_code == 404
    client.force_login(closed_conversation.citizen)
    assert client.get(reverse("faq:publish", args=[closed_conversation.pk])).status_code == 403

    client.force_login(traffic_officer)
    page = client.post(
        reverse("faq:publish", args=[open_question.pk]), {"question": "问", "answer": "答", "action": "draft"}
    )
    assert page.status_code == 400 and "会话结束后才能整理为常见问题" in page.content.decode()
    assert not Entry.objects.filter(conversation=open_question).exists()
