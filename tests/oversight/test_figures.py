"""Every assessment figure against a hand-computed October (see the fixture `october` in conftest.py)."""

import datetime

import pytest

from oversight import figures
from oversight.periods import PeriodError, month_period, parse_month

from .conftest import NOW, at, online

OCTOBER = month_period(datetime.date(2026, 10, 1))
# 22 weekdays - 2 holidays + 1 make-up Sunday = 21 working days of 8.5 duty hours.
DUTY_HOURS = 178.5


def by_name(rows, name):
    return next(row for row in rows if row.name == name)


@pytest.fixture
def report(october):
    return figures.compute(OCTOBER, now=at(NOW))


def test_online_hours_split_at_midnight_month_end_and_holiday(report):
    a = by_name(report.officers, "值班员 张丘")
    # 4 + 1 (busy) + 9 (across midnight) + 2 (Oct 31 22:00-24:00) + 2 (holiday) + 1 (from Sep 30) ; away is not online.
    assert a["online_hours"] == 19.0
    assert a["duty_hours"] == DUTY_HOURS
    # Inside duty hours: Oct 12 08:30-12:00 and 13:00-14:00, Oct 13 16:00-17:00; the holiday and Saturday do not count.
    assert a["duty_coverage"] == round(5.5 / DUTY_HOURS, 4)
    b = by_name(report.officers, "值班员 李敏")
    assert b["online_hours"] == 1.0
    assert b["duty_coverage"] == round(1 / DUTY_HOURS, 4)


def test_window_and_department_online_time(report):
    window = by_name(report.windows, "社会保险")
    assert window["online_hours"] == 20.0  # A and B summed
    assert window["duty_coverage"] == round(5.5 / DUTY_HOURS, 4)  # B was online only while A was
    jobs = by_name(report.windows, "就业")
    assert jobs["online_hours"] == 0
    assert jobs["duty_hours"] == 21 * 3.0
    assert jobs["duty_coverage"] == 0
    labour = by_name(report.departments, "省劳动保障厅")
    assert labour["online_hours"] == 20.0
    assert labour["duty_hours"] == DUTY_HOURS  # the 09:00-12:00 window lies inside the other's hours
    police = by_name(report.departments, "省公安厅")
    assert police["online_hours"] == 1.0


def test_conversation_counts_and_rates_per_window(report):
    w = by_name(report.windows, "社会保险")
    assert w["conversations"] == 11  # c1-c10 and c12; not the one never asked, not September, not November
    assert w["valid"] == 8  # the unclassified one counts as valid
    assert w["answered"] == 6
    assert w["answer_rate"] == 0.75
    assert w["answered_live"] == 4
    assert w["live_rate"] == 0.5
    assert (w["greeting"], w["unrelated"], w["unclear"]) == (1, 1, 1)
    assert w["chitchat_share"] == round(1 / 11, 4)


def test_first_response_percentiles_nearest_rank(report):
    w = by_name(report.windows, "社会保险")
    # Live answers after 5, 10, 20, 30, 90 s: median = 3rd, p90 = 5th.
    assert (w["frt_median"], w["frt_p90"]) == (20.0, 90.0)
    a = by_name(report.officers, "值班员 张丘")
    assert (a["frt_median"], a["frt_p90"]) == (30.0, 90.0)
    b = by_name(report.officers, "值班员 李敏")
    assert (b["frt_median"], b["frt_p90"]) == (10.0, 20.0)
    assert by_name(report.windows, "就业")["frt_median"] is None
    # All six live answers: 5, 10, 20, 30, 60, 90.
    assert (report.total["frt_median"], report.total["frt_p90"]) == (20.0, 90.0)


def test_offline_questions_in_time_and_overdue(report):
    w = by_name(report.windows, "社会保险")
    assert w["offline"] == 4
    assert w["offline_in_time"] == 2  # answered before the due time, and the unclear one closed in time
    assert w["offline_overdue"] == 2  # answered after the make-up Sunday, and one never answered


def test_satisfaction_average_and_distribution(report):
    w = by_name(report.windows, "社会保险")
    assert w["rated"] == 3
    assert w["satisfaction"] == round(11 / 3, 2)
    assert [w[f"rating_{n}"] for n in (5, 4, 3, 2, 1)] == [1, 1, 0, 1, 0]
    assert report.total["satisfaction"] == 3.5


def test_officer_counts(report):
    a = by_name(report.officers, "值班员 张丘")
    assert (a["conversations"], a["valid"], a["answered"], a["answered_live"]) == (7, 5, 4, 2)
    assert a["answer_rate"] == 0.8
    assert (a["offline"], a["offline_in_time"], a["offline_overdue"]) == (3, 2, 1)
    assert a["satisfaction"] == 4.5
    assert a.window == "社会保险" and a.department == "省劳动保障厅"


def test_levels_add_up(report):
    assert report.total["conversations"] == 12
    assert sum(row["conversations"] for row in report.departments) == 12
    assert sum(row["valid"] for row in report.windows) == report.total["valid"] == 9


def test_daily_volume_uses_local_dates(report):
    assert report.daily[datetime.date(2026, 10, 12)] == 6
    assert report.daily[datetime.date(2026, 10, 31)] == 1
    assert sum(report.daily.values()) == 12
    assert datetime.date(2026, 9, 30) not in report.daily


def test_department_filter_limits_everything(october):
    report = figures.compute(OCTOBER, department_id=october["police"].id, now=at(NOW))
    assert [row.name for row in report.departments] == ["省公安厅"]
    assert [row.name for row in report.windows] == ["治安户籍"]
    assert [row.name for row in report.officers] == ["值班员 王军"]
    assert report.total["conversations"] == 1 and report.total["satisfaction"] == 3.0


def test_open_interval_counts_up_to_now(province):
    online(province["c"], "2026-11-05 09:00", None)
    report = figures.compute(month_period(datetime.date(2026, 11, 1)), now=at(NOW))
    c = by_name(report.officers, "值班员 王军")
    assert c["online_hours"] == 1.0
    # Duty hours so far: Nov 2-4 whole days and 08:30-10:00 on Nov 5.
    assert c["duty_hours"] == 3 * 8.5 + 1.5
    assert c["duty_coverage"] == round(1 / 27, 4)


def test_empty_period_gives_no_rates(province):
    report = figures.compute(month_period(datetime.date(2026, 8, 1)), now=at(NOW))
    w = by_name(report.windows, "社会保险")
    assert w["conversations"] == 0
    assert w["answer_rate"] is None and w["satisfaction"] is None and w["frt_median"] is None


@pytest.mark.parametrize("text", ["2026/10", "2026-13", "十月", "", "1999-01"])
def test_bad_month_is_refused_in_chinese(text):
    with pytest.raises(PeriodError, match="月份"):
        parse_month(text)


@pytest.fixture
def handovers(october):
    """Two window transfers and three cases around October (see the assertions for what counts)."""
    from cases.models import Case, CaseStatus, TargetKind
    from chat.models import Transfer

    p = october

    def transfer(conversation, source, target, by, when):
        made = Transfer.objects.create(conversation=conversation, from_window=source, to_window=target, by=by)
        Transfer.objects.filter(pk=made.pk).update(created_at=at(when))

    transfer(p["c2"], p["insurance"], p["jobs"], p["a"], "2026-10-12 09:12")
    transfer(p["c13"], p["household"], p["insurance"], p["c"], "2026-10-20 10:02")
    transfer(p["c1"], p["insurance"], p["household"], p["a"], "2026-09-30 10:00")  # September: not counted

    def case(number, conversation, by, lead, created, due, replied=None, status=CaseStatus.PROCESSING):
        return Case.objects.create(
            tracking_number=number,
            query_code_hash="x",
            target_kind=TargetKind.DEPARTMENT,
            target_department=lead,
            lead_unit=lead,
            source_conversation=conversation,
            citizen=conversation.citizen,
            question="问题",
            escalated_by=by,
            status=status,
            due_at=at(due),
            created_at=at(created),
            replied_at=at(replied) if replied else None,
        )

    case(
        "T1",
        p["c13"],
        p["c"],
        p["police"],
        "2026-10-20 10:05",
        "2026-10-30 17:00",
        "2026-10-25 10:00",
        CaseStatus.REPLIED,
    )  # replied in time
    case("T2", p["c3"], p["b"], p["labour"], "2026-10-12 10:06", "2026-10-20 17:00")  # open past due: overdue
    case(
        "T3",
        p["c4"],
        p["a"],
        p["labour"],
        "2026-10-12 09:05",
        "2026-10-16 17:00",
        "2026-10-19 09:00",
        CaseStatus.REPLIED,
    )  # replied late: overdue
    case("T4", p["c5"], p["a"], p["labour"], "2026-11-02 09:00", "2026-11-10 17:00")  # November: not counted
    return october


def test_transfers_and_cases(handovers):
    report = figures.compute(OCTOBER, now=at(NOW))
    insurance = by_name(report.windows, "社会保险")
    assert (insurance["transfers_out"], insurance["transfers_in"], insurance["cases_escalated"]) == (1, 1, 2)
    assert insurance["cases_led"] is None  # a department figure
    assert (by_name(report.windows, "就业")["transfers_in"], by_name(report.windows, "治安户籍")["transfers_out"]) == (
        1,
        1,
    )
    labour = by_name(report.departments, "省劳动保障厅")
    assert (labour["transfers_out"], labour["transfers_in"], labour["cases_escalated"]) == (1, 2, 2)
    assert (labour["cases_led"], labour["cases_replied_in_time"], labour["cases_overdue"]) == (2, 0, 2)
    police = by_name(report.departments, "省公安厅")
    assert (police["cases_led"], police["cases_replied_in_time"], police["cases_overdue"]) == (1, 1, 0)
    a = by_name(report.officers, "值班员 张丘")
    assert (a["transfers_out"], a["cases_escalated"], a["transfers_in"]) == (1, 1, None)
    assert report.total["transfers_out"] == 2 and report.total["cases_escalated"] == 3
    assert report.total["cases_led"] == 3 and report.total["cases_overdue"] == 2


def test_officer_never_online_has_zero_coverage(report):
    d = by_name(report.officers, "值班员 赵丽")
    assert (d["online_hours"], d["duty_hours"], d["duty_coverage"]) == (0, 63.0, 0)
    assert d["conversations"] == 0 and d["answer_rate"] is None
