"""Generated history: the pilot's scale and shape, consistent rows, and a second run that replaces the first."""

import datetime
import io

import pytest
from django.db.models import Count, F, Max

from cases.models import Case
from chat.models import Conversation, Message, PresenceInterval, Transfer
from demo.history import HistoryError, generate_history
from oversight import figures
from oversight.periods import Period
from portal.models import User

END = datetime.date(2026, 10, 16)


@pytest.fixture
def generated(province):
    out = io.StringIO()
    result = generate_history(days=6, scale=1, end=END, stdout=out)
    return result, out.getvalue()


def test_pilot_scale_and_report(generated):
    result, output = generated
    assert result["citizens"] == 4100
    assert User.objects.filter(username__startswith="hist", role="citizen").count() == 4100
    # 14,000 records in 30 days: about 2,800 in six days (fewer on the weekend).
    assert 1800 <= result["messages"] <= 3600
    assert Message.objects.count() == result["messages"]
    assert Conversation.objects.count() == result["conversations"]
    assert "历史数据 2026-10-11 至 2026-10-16" in output


def test_rows_are_consistent(generated):
    conversations = Conversation.objects.annotate(n=Count("messages"), top=Max("messages__seq"))
    assert not conversations.exclude(n=F("last_seq")).exists()
    assert not conversations.exclude(top=F("last_seq")).exists()
    assert not Conversation.objects.filter(first_response_at__lt=F("first_question_at")).exists()
    assert not Conversation.objects.filter(answered_live=True, is_offline_question=True).exists()
    assert not Conversation.objects.filter(is_offline_question=True, due_at__isnull=True).exists()
    first = Conversation.objects.order_by("first_question_at").first()
    # created_at kept from the generator (auto_now_add would have stamped today).
    assert first.created_at.date() >= datetime.date(2026, 10, 10)
    assert first.created_at < first.first_question_at
    assert not PresenceInterval.objects.filter(ended_at__lte=F("started_at")).exists()


def test_busiest_departments_and_plausible_figures(generated, province):
    report = figures.compute(Period(datetime.date(2026, 10, 11), END))
    labour = next(row for row in report.departments if row.id == province["labour"].id)
    police = next(row for row in report.departments if row.id == province["police"].id)
    assert labour["conversations"] > police["conversations"] > 0
    assert 0.8 <= report.total["answer_rate"] <= 1.0
    assert report.total["live_rate"] > 0.3
    assert report.total["offline"] > 0 and report.total["rated"] > 0
    assert report.total["online_hours"] > 0
    assert report.total["frt_median"] < report.total["frt_p90"]
    # A few conversations are handed to another window of the department or escalated as cases.
    assert report.total["transfers_out"] == Transfer.objects.count() > 0
    assert report.total["cases_escalated"] == Case.objects.count() > 0
    assert report.total["cases_led"] == Case.objects.count()


def test_second_run_replaces_the_first(generated):
    result, _ = generated
    intervals = PresenceInterval.objects.count()
    again = generate_history(days=6, scale=1, end=END)
    assert again["conversations"] == result["conversations"]
    assert Conversation.objects.count() == result["conversations"]
    assert Message.objects.count() == result["messages"]
    assert PresenceInterval.objects.count() == intervals
    assert Case.objects.count() == result["cases"] and Transfer.objects.count() == result["transfers"]
    assert User.objects.filter(username__startswith="hist").count() == 4100


@pytest.mark.parametrize("kwargs, message", [({"days": 0}, "天数"), ({"days": 3, "scale": 0}, "倍数")])
def test_bad_arguments(province, kwargs, message):
    with pytest.raises(HistoryError, match=message):
        generate_history(**kwargs)
    assert not Conversation.objects.exists()


def test_refuses_without_windows(db):
    with pytest.raises(HistoryError, match="seed_demo"):
        generate_history(days=3)
