"""Publishing an answer that came from a citizen: consent, de-identification on every path, masked copies."""

import json

import pytest
import tablib
from django.urls import reverse

from chat import privacy as chat_privacy
from faq import actions, selectors
from faq.importing import read_records
from faq.models import Entry, Source
from faq.resources import EntryResource
from tests import factories

RAW_QUESTION = "我叫李四海，手机13700001111，身份证330106199001011234，摩托车驾驶证到期了怎么换？"


@pytest.fixture
def archived(closed_conversation):
    """The archived raw answer of the closed conversation, as the desk's suggestions make it."""
    assert actions.archive_answered_conversations() == 1
    return Entry.objects.get(conversation=closed_conversation)


def test_archived_answers_keep_no_personal_data(archived):
    assert archived.source == Source.ARCHIVE and not archived.is_published
    for secret in ("张伟", "13812345678", "330102199001011234"):
        assert secret not in archived.question
    assert "〔手机号〕" in archived.question and "〔身份证号〕" in archived.question
    assert "摩托车驾驶证到期了怎么换" in archived.question


def test_admin_publish_action_refuses_entries_without_consent_or_with_personal_data(
    client, archived, closed_conversation
):
    client.force_login(factories.supervisor())
    changelist = reverse("admin:faq_entry_changelist")
    reply = client.post(changelist, {"action": "publish", "_selected_action": [archived.pk]}, follow=True)
    assert "市民没有同意公开" in reply.content.decode()
    archived.refresh_from_db()
    assert not archived.is_published

    # With consent, text holding a raw number is still refused, and nothing of the selection is published.
    actions.change_publication_consent(
        conversation=closed_conversation, citizen=closed_conversation.citizen, allowed=True
    )
    Entry.objects.filter(pk=archived.pk).update(question=RAW_QUESTION)
    reply = client.post(changelist, {"action": "publish", "_selected_action": [archived.pk]}, follow=True)
    html = reply.content.decode()
    assert "不能公开的个人信息" in html and "13700001111" in html
    assert not Entry.objects.filter(is_published=True, pk=archived.pk).exists()
    assert "13700001111" not in client.get(reverse("faq:search"), {"q": "摩托车驾驶证到期"}).content.decode()

    Entry.objects.filter(pk=archived.pk).update(question="摩托车驾驶证到期了怎么换？")
    reply = client.post(changelist, {"action": "publish", "_selected_action": [archived.pk]}, follow=True)
    assert "已发布 1 条" in reply.content.decode()
    archived.refresh_from_db()
    assert archived.is_published and archived.source == Source.CONVERSATION


def test_admin_edit_cannot_publish_personal_data(client, places):
    window = places[("省民政厅", "婚姻登记")]
    client.force_login(factories.supervisor())
    form = {
        "key": "mzt-200",
        "department": window.department.pk,
        "window": window.pk,
        "question": "结婚证丢了怎么补？",
        "answer": "请联系王老师 +86 139 1234 5678，或到文三路123号。",
        "is_published": "on",
    }
    reply = client.post(reverse("admin:faq_entry_add"), form)
    html = reply.content.decode()
    assert reply.status_code == 200 and "不能公开的个人信息" in html and "住址" in html
    assert not Entry.objects.filter(key="mzt-200").exists()
    form["confirm_names"] = "on"
    assert client.post(reverse("admin:faq_entry_add"), form).status_code == 200  # a number cannot be confirmed away
    form["answer"] = "携带身份证和户口簿到原登记机关补领。"
    assert client.post(reverse("admin:faq_entry_add"), form).status_code == 302
    assert Entry.objects.get(key="mzt-200").is_published


def test_imports_refuse_personal_data(places):
    line = {
        "key": "gat-500",
        "department": "省公安厅",
        "window": "交通车管",
        "question": "车被扣分怎么查？",
        "answer": "例如浙A12345 的车主可在交管12123 查询。",
    }
    with pytest.raises(actions.FaqError) as raised:
        actions.import_entries(records=read_records([json.dumps(line, ensure_ascii=False)]))
    assert "第 1 行" in raised.value.message and "车牌号“浙A12345”" in raised.value.message
    assert not Entry.objects.exists()

    dataset = tablib.Dataset(
        ("gat-501", "省公安厅", "交通车管", "车被扣分怎么查？", "发邮件到 wang.xm@example.com 查询。", "是"),
        headers=("编号", "部门", "窗口", "问题", "答复", "已发布"),
    )
    result = EntryResource().import_data(dataset, dry_run=False, raise_errors=False)
    assert result.has_validation_errors()
    assert "电子邮箱" in str(result.invalid_rows[0].error_dict)
    assert not Entry.objects.exists()


def test_consent_rules_and_withdrawal(client, closed_conversation, traffic_officer):
    citizen = closed_conversation.citizen
    question, answer = "摩托车驾驶证到期了怎么换？", "到期前90日内可在交管12123申请换证。"
    with pytest.raises(actions.FaqError, match="市民没有同意公开"):
        actions.publish_from_conversation(
            conversation=closed_conversation, officer=traffic_officer, question=question, answer=answer, publish=True
        )
    with pytest.raises(chat_privacy.ConsentError):
        actions.change_publication_consent(conversation=closed_conversation, citizen=factories.citizen(), allowed=True)

    # The citizen agrees in 我的咨询; the choice is stored with who and when.
    client.force_login(citizen)
    client.post(reverse("portal:consent", args=[closed_conversation.pk]), {"allowed": "1"})
    closed_conversation.refresh_from_db()
    assert closed_conversation.publication_consent and closed_conversation.publication_consent_by == citizen
    assert closed_conversation.publication_consent_at is not None

    entry = actions.publish_from_conversation(
        conversation=closed_conversation, officer=traffic_officer, question=question, answer=answer, publish=True
    )
    page = client.get(reverse("portal:my_consultations")).content.decode()
    assert reverse("faq:entry", args=[entry.pk]) in page and "撤回同意" in page
    assert selectors.search_public("摩托车驾驶证到期")[0].entry == entry

    client.post(reverse("portal:consent", args=[closed_conversation.pk]), {"allowed": "0"})
    entry.refresh_from_db()
    closed_conversation.refresh_from_db()
    assert not entry.is_published and not closed_conversation.publication_consent
    assert entry not in [r.entry for r in selectors.search_public("摩托车驾驶证到期")]
    assert client.get(reverse("faq:entry", args=[entry.pk])).status_code == 404
    with pytest.raises(actions.FaqError, match="市民没有同意公开"):
        actions.set_published(entries=[entry], published=True)


def test_consent_at_rating_without_javascript(client, closed_conversation):
    client.force_login(closed_conversation.citizen)
    url = reverse("chat:conversation", args=[closed_conversation.pk])
    assert "同意在去除个人信息后公开本次问答" in client.get(url).content.decode()
    client.post(url, {"rating": "5", "comment": "", "publication_consent": "1"})
    closed_conversation.refresh_from_db()
    assert closed_conversation.rating == 5 and closed_conversation.publication_consent


def test_rating_without_the_tick_leaves_consent_off(client, closed_conversation):
    client.force_login(closed_conversation.citizen)
    client.post(reverse("chat:conversation", args=[closed_conversation.pk]), {"rating": "4"})
    closed_conversation.refresh_from_db()
    assert closed_conversation.rating == 4 and not closed_conversation.publication_consent


def test_export_masks_text_from_conversations(closed_conversation, traffic_officer, corpus):
    actions.publish_from_conversation(
        conversation=closed_conversation,
        officer=traffic_officer,
        question=RAW_QUESTION,
        answer="到期前90日内可申请换证。",
        publish=False,
    )
    exported = EntryResource().export()
    rows = {row[0]: row for row in exported}
    draft = rows[f"conv-{closed_conversation.pk}"]
    assert "13700001111" not in draft[3] and "330106199001011234" not in draft[3] and "李四海" not in draft[3]
    assert "〔手机号〕" in draft[3]
    assert rows["gat-001"][3] == "机动车驾驶证是否需要年检？"  # curated text goes out as it is


def test_migration_drops_raw_archived_answers_made_before(closed_conversation, corpus):
    from importlib import import_module

    from django.apps import apps

    Entry.objects.create(
        key=f"conv-{closed_conversation.pk}",
        department=closed_conversation.window.department,
        question=RAW_QUESTION,
        answer="到期前90日内可申请换证。",
        source=Source.ARCHIVE,
        conversation=closed_conversation,
    )
    import_module("faq.migrations.0002_drop_raw_archived_answers").drop_raw_archives(apps, None)
    assert not Entry.objects.filter(source=Source.ARCHIVE).exists()
    assert Entry.objects.filter(key="gat-001").exists()
    # The desk rebuilds it, de-identified, while the transcript is kept.
    assert actions.archive_answered_conversations() == 1
    assert "13812345678" not in Entry.objects.get(source=Source.ARCHIVE).question
