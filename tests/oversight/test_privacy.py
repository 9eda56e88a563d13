"""Personal data and the assessment: purge reaches archived answers; deleting an account keeps the figures."""

import datetime

from django.core.management import call_command

from chat.models import Conversation, Message, SenderKind
from faq import actions as faq_actions
from faq.models import Entry, Source
from oversight.actions import purge_expired
from oversight.periods import month_period
from portal import rights

from .conftest import NOW, at

OCTOBER = month_period(datetime.date(2026, 10, 1))
RAW = "我叫李四海，手机13700001111，身份证330106199001011234，养老保险怎么补缴？"


def talk(conversation, question=RAW):
    Message.objects.create(
        conversation=conversation, seq=1, sender=conversation.citizen, sender_kind=SenderKind.CITIZEN, body=question
    )
    if conversation.officer_id:
        Message.objects.create(
            conversation=conversation,
            seq=2,
            sender=conversation.officer,
            sender_kind=SenderKind.OFFICER,
            body="可到参保地社保经办机构办理补缴。",
        )


def test_purge_takes_the_archived_answers_with_the_transcripts(october):
    for conversation in Conversation.objects.all():
        talk(conversation)
    archived = faq_actions.archive_answered_conversations()
    assert archived == Entry.objects.filter(source=Source.ARCHIVE).count() == 4  # c1, c2, c3, c13
    assert not Entry.objects.filter(question__contains="13700001111").exists()  # de-identified when archived
    # One answer was published with the citizen's consent: it holds no personal data and stays.
    c1 = october["c1"]
    Conversation.objects.filter(pk=c1.pk).update(publication_consent=True)
    published = faq_actions.publish_from_conversation(
        conversation=c1,
        officer=c1.officer,
        question="养老保险怎么补缴？",
        answer="可到参保地社保经办机构办理补缴。",
        publish=True,
    )

    purge_expired(now=at(NOW), days=1)
    assert not Entry.objects.filter(source=Source.ARCHIVE).exists()
    kept = Entry.objects.get()
    assert kept == published and kept.is_published and kept.conversation is None


def test_deleting_an_account_keeps_the_closed_month_identical(october, tmp_path):
    for conversation in Conversation.objects.all():
        talk(conversation)
    citizen = october["c1"].citizen
    for name in ("c2", "c3", "c5"):  # the same citizen asked four times in October
        Conversation.objects.filter(pk=october[name].pk).update(citizen=citizen)
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    call_command("assess", month="2026-10", csv=str(before))

    rights.delete_account(user=citizen)

    call_command("assess", month="2026-10", csv=str(after))
    # The first line says when the sheet was made; every figure below it must be the same.
    assert (
        after.read_text(encoding="utf-8-sig").splitlines()[1:]
        == before.read_text(encoding="utf-8-sig").splitlines()[1:]
    )
    assert "社会保险" in before.read_text(encoding="utf-8-sig")
    assert not Message.objects.filter(conversation__citizen=citizen, body__contains="13700001111").exists()
    others = Conversation.objects.exclude(citizen=citizen).count()
    assert Message.objects.filter(body__contains="13700001111").count() == others == 11
