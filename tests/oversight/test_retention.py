"""Retention: purge_expired deletes old closed transcripts and keeps the closed months' figures."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from chat.models import Conversation, Message, SenderKind, Status
from oversight import figures
from oversight.actions import OversightError, purge_expired, snapshot_month
from oversight.models import AuditLog, MonthlyFigure
from oversight.periods import month_period

from .conftest import NOW, at

OCTOBER = month_period(datetime.date(2026, 10, 1))


@pytest.fixture
def with_messages(october):
    for conversation in Conversation.objects.all():
        Message.objects.create(
            conversation=conversation,
            seq=1,
            sender=conversation.citizen,
            sender_kind=SenderKind.CITIZEN,
            body="请问养老保险怎么补缴？",
        )
    return october


def test_purge_keeps_the_month_figures(with_messages):
    before = figures.compute(OCTOBER, now=at(NOW))
    closed_before = Conversation.objects.filter(status=Status.CLOSED).count()
    result = purge_expired(now=at(NOW), days=1)
    assert result.conversations == closed_before == 6
    assert result.months_snapshotted == ["2026-10"]
    assert not Conversation.objects.filter(status=Status.CLOSED).exists()
    assert Message.objects.count() == Conversation.objects.count()  # messages of the purged ones are gone
    assert result.kept_open == Conversation.objects.filter(created_at__lt=at("2026-11-01 00:00")).count() > 0
    after = figures.report_for(OCTOBER, changes=False)
    assert after.from_snapshot
    for level in ("departments", "windows", "officers"):
        old = {row.id: row.figures for row in getattr(before, level)}
        new = {row.id: row.figures for row in getattr(after, level)}
        assert new == old
    assert after.total["conversations"] == before.total["conversations"] == 12
    assert after.daily == before.daily
    entry = AuditLog.objects.get(action="purge")
    assert "会话 6 个" in entry.summary and "2026-10" in entry.summary


def test_retention_keeps_recent_months(with_messages):
    result = purge_expired(now=at(NOW), days=60)  # cutoff 2026-09-01: nothing of October goes
    assert result.conversations == 0
    assert Conversation.objects.filter(status=Status.CLOSED).count() == 6
    assert not MonthlyFigure.objects.exists()


def test_dry_run_changes_nothing(with_messages):
    count = Conversation.objects.count()
    result = purge_expired(now=at(NOW), days=1, dry_run=True)
    assert result.conversations == 6
    assert Conversation.objects.count() == count
    assert not MonthlyFigure.objects.exists() and not AuditLog.objects.exists()


def test_bad_retention_setting_is_refused(with_messages, settings):
    settings.TRANSCRIPT_RETENTION_DAYS = "两年"
    with pytest.raises(OversightError, match="TRANSCRIPT_RETENTION_DAYS"):
        purge_expired(now=at(NOW))
    with pytest.raises(CommandError, match="TRANSCRIPT_RETENTION_DAYS"):
        call_command("purge_expired")
    assert Conversation.objects.filter(status=Status.CLOSED).count() == 6


def test_command_reports_in_chinese(with_messages, settings):
    settings.TRANSCRIPT_RETENTION_DAYS = 3650
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "保留 3650 天" in out.getvalue()
    assert Conversation.objects.filter(status=Status.CLOSED).count() == 6


def test_snapshot_refuses_an_open_month(province):
    with pytest.raises(OversightError, match="尚未结束"):
        snapshot_month(period=month_period(datetime.date(2026, 11, 1)), now=at(NOW))


def test_dashboard_and_spreadsheet_of_a_purged_month(client, supervisor, with_messages):
    purge_expired(now=at(NOW), days=1)
    client.force_login(supervisor)
    html = client.get("/admin/oversight/assessment/", {"month": "2026-10"}).content.decode()
    assert "结月快照" in html and "省劳动保障厅" in html and "75.0%" in html
    response = client.get("/admin/oversight/assessment/download/", {"month": "2026-10", "format": "csv"})
    text = response.content.decode("utf-8-sig")
    assert "已结月快照" in text.splitlines()[0]
