"""The 12345 measures (按期办结率, 满意率, 参评率, 直接解答率, 一次办结率, 退回) against the hand-computed October."""

import datetime

import pytest

from cases.models import CaseEvent, EventKind
from oversight import figures
from oversight.periods import month_period

from .conftest import NOW, at, make_conversation
from .test_figures import OCTOBER, by_name, handovers  # noqa: F401  (fixture)


def test_measures_of_a_closed_month(october):
    report = figures.compute(OCTOBER, now=at(NOW))
    w = by_name(report.windows, "社会保险")
    # Offline c4 late, c6 never answered, c5 in time, c9 (unclear) closed in time: 2 of 4.
    assert (w["offline_in_time"], w["offline_overdue"], w["offline_not_due"]) == (2, 2, 0)
    assert w["on_time_rate"] == 0.5
    # Closed: c1-c3 (rated), c7 and c9; rated c1 (5), c2 (4), c3 (2).
    assert (w["closed"], w["rated"]) == (5, 3)
    assert w["rated_share"] == 0.6
    assert w["satisfied_rate"] == round(2 / 3, 4)
    # No hand-overs: every answered valid question was answered directly, 6 of 8.
    assert w["direct_rate"] == 0.75
    # Valid questions whose 7 days have passed by 5 November: c1-c5 and c10; nobody asked again.
    assert (w["one_time"], w["asked_again"]) == (6, 0)
    assert w["one_time_rate"] == 1.0
    assert report.total["satisfied_rate"] == 0.5  # 5 and 4 of the four ratings (5, 4, 2, 3)


def test_running_month_counts_not_yet_due_questions_apart(october):
    # On the morning of 1 November, c6 (asked Friday 30 October evening) is due only on 2 November.
    report = figures.compute(OCTOBER, now=at("2026-11-01 08:00"))
    w = by_name(report.windows, "社会保险")
    assert (w["offline_in_time"], w["offline_overdue"], w["offline_not_due"]) == (2, 1, 1)
    assert w["offline"] == w["offline_in_time"] + w["offline_overdue"] + w["offline_not_due"]
    # 6 answered of 8 valid, but c6 is not yet due: 6 of 7, not 6 of 8.
    assert w["answer_rate"] == round(6 / 7, 4)
    assert w["on_time_rate"] == round(2 / 3, 4)
    assert w["direct_rate"] == round(6 / 7, 4)
    # The same question once it is overdue counts as unanswered.
    assert by_name(figures.compute(OCTOBER, now=at(NOW)).windows, "社会保险")["answer_rate"] == 0.75


def test_handovers_lower_direct_rate_and_cases_enter_on_time_rate(handovers):  # noqa: F811
    report = figures.compute(OCTOBER, now=at(NOW))
    w = by_name(report.windows, "社会保险")
    # c1, c2 transferred; c3, c4, c5 escalated to cases: only c12 was answered directly.
    assert w["direct_rate"] == round(1 / 8, 4)
    labour = by_name(report.departments, "省劳动保障厅")
    # Offline 2 in time of 4 due, cases T2 and T3 both overdue: 2 of 6.
    assert labour["on_time_rate"] == round(2 / 6, 4)
    police = by_name(report.departments, "省公安厅")
    assert police["on_time_rate"] == 1.0  # T1 replied in time, no offline questions
    assert police["direct_rate"] == 0.0


def test_returned_cases_count_for_the_returning_department(handovers):  # noqa: F811
    from cases.models import Case

    p = handovers
    t1 = Case.objects.get(tracking_number="T1")
    for when in ("2026-10-21 09:00", "2026-10-22 09:00", "2026-11-02 09:00"):
        CaseEvent.objects.create(
            case=t1,
            kind=EventKind.RETURNED,
            actor=p["c"],
            from_status="pending",
            to_status="returned",
            department=p["police"],
            created_at=at(when),
        )
    report = figures.compute(OCTOBER, now=at(NOW))
    assert by_name(report.departments, "省公安厅")["cases_returned"] == 2  # November's return is not October's
    assert by_name(report.departments, "省劳动保障厅")["cases_returned"] == 0
    assert by_name(report.windows, "社会保险")["cases_returned"] is None
    assert report.total["cases_returned"] == 2


def test_one_time_rate_sees_a_new_question_at_the_same_department_within_seven_days(october):
    p = october
    citizen = p["c1"].citizen
    make_conversation(
        p["jobs"], officer=p["d"], citizen=citizen, question_at="2026-10-19 09:00", response_at="2026-10-19 09:01"
    )  # 7 days to the minute after c1's 09:00: a repeat
    make_conversation(
        p["household"], officer=p["c"], citizen=citizen, question_at="2026-10-13 09:00", response_at="2026-10-13 09:01"
    )  # another department: no repeat
    make_conversation(
        p["jobs"], officer=p["d"], citizen=citizen, question_at="2026-10-27 09:00", response_at="2026-10-27 09:01"
    )  # 8 days after the jobs question: no repeat
    report = figures.compute(OCTOBER, now=at(NOW))
    w = by_name(report.windows, "社会保险")
    assert (w["one_time"], w["asked_again"]) == (5, 1)
    assert w["one_time_rate"] == round(5 / 6, 4)
    jobs = by_name(report.windows, "就业")
    assert (jobs["one_time"], jobs["asked_again"]) == (2, 0)
    assert by_name(report.departments, "省公安厅")["one_time_rate"] == 1.0


def test_a_month_without_ratings_or_closed_chats_has_empty_rates(province):
    report = figures.compute(month_period(datetime.date(2026, 8, 1)), now=at(NOW))
    w = by_name(report.windows, "社会保险")
    assert w["satisfied_rate"] is None and w["rated_share"] is None and w["on_time_rate"] is None
    assert w["one_time_rate"] is None and w["direct_rate"] is None


@pytest.mark.parametrize(
    "key",
    [
        "on_time_rate",
        "satisfied_rate",
        "rated_share",
        "direct_rate",
        "one_time_rate",
        "cases_returned",
        "offline_not_due",
    ],
)
def test_every_new_measure_has_a_definition(key):
    assert figures.DEFINITIONS_BY_KEY[key].help


def test_weekly_report_day_with_only_not_yet_due_questions_is_not_zero(october):
    from oversight import dashboard

    # Saturday 31 October: c6 (asked Friday evening, due Monday 2 November) is not yet due.
    context = dashboard.weekly_context(october["labour"].id, "2026-10-30", now=at("2026-10-31 12:00"))
    friday = dict(
        (day, dict((definition.key, value) for definition, value in cells)) for day, cells in context["daily"]
    )[datetime.date(2026, 10, 30)]
    assert (friday["valid"], friday["answered"], friday["offline_not_due"]) == (1, 0, 1)
    assert friday["answer_rate"] is None  # shown as —, not 0 %
    assert context["report"].total["offline_not_due"] == 1
