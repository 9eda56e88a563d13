"""The working-day calendar: holidays, make-up working days and due times of offline questions."""

import datetime
import zoneinfo
from types import SimpleNamespace

import pytest

from departments.actions import seed_calendar_from_package, set_calendar_day
from departments.calendar import (
    due_moment,
    due_text,
    is_working_day,
    unknown_years_ahead,
)
from departments.models import CalendarDay, CalendarYear, DayKind

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture
def package_calendar():
    return seed_calendar_from_package()


def at(year, month, day, hour=0, minute=0, second=0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def test_package_loads_the_known_years_including_2026(package_calendar):
    assert 2026 in package_calendar
    assert unknown_years_ahead(datetime.date(2026, 3, 1)) == []  # the admin shows no warning
    assert CalendarYear.objects.get(year=2026).source.startswith("chinesecalendar")


def test_national_day_2026_is_a_holiday_and_the_makeup_saturday_a_working_day(package_calendar):
    for day in range(1, 8):
        assert not is_working_day(datetime.date(2026, 10, day)), f"2026-10-{day:02d} should be a holiday"
    assert is_working_day(datetime.date(2026, 10, 8))  # Thursday after the holiday: back to work
    assert datetime.date(2026, 10, 10).weekday() == 5
    assert is_working_day(datetime.date(2026, 10, 10))  # 调休: the Saturday is worked
    assert not is_working_day(datetime.date(2026, 10, 11))
    assert CalendarDay.objects.get(date=datetime.date(2026, 10, 10)).kind == DayKind.MAKEUP_WORKDAY
    assert CalendarDay.objects.get(date=datetime.date(2026, 10, 1)).name == "国庆节"


def test_question_on_the_eve_of_national_day_is_due_after_the_holiday(package_calendar):
    due = due_moment(at(2026, 9, 30, 18))
    assert due.astimezone(SHANGHAI) == at(2026, 10, 8, 17, 0)


def test_friday_evening_question_is_due_monday(package_calendar):
    due = due_moment(at(2026, 11, 20, 19, 30))  # a Friday
    assert due.astimezone(SHANGHAI) == at(2026, 11, 23, 17, 0)


def test_question_late_at_night_in_utc_counts_by_the_shanghai_date(package_calendar):
    # 2026-11-19 17:00 UTC is already Friday 01:00 in Shanghai: due at the end of Monday.
    moment = datetime.datetime(2026, 11, 19, 17, 0, tzinfo=datetime.UTC)
    assert due_moment(moment).astimezone(SHANGHAI) == at(2026, 11, 23, 17, 0)


def test_year_without_a_published_schedule_falls_back_to_weekends(package_calendar):
    assert unknown_years_ahead(datetime.date(2031, 3, 1)) == [2031]
    assert is_working_day(datetime.date(2031, 10, 1))  # a Wednesday; the holiday is not known yet
    assert not is_working_day(datetime.date(2031, 10, 4))  # a Saturday
    due = due_moment(at(2031, 10, 3, 18))  # Friday
    assert due.astimezone(SHANGHAI) == at(2031, 10, 6, 17, 0)


def test_entering_a_day_marks_its_year_known_and_changes_the_answer():
    set_calendar_day(date=datetime.date(2031, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")
    assert unknown_years_ahead(datetime.date(2031, 3, 1)) == []
    assert not is_working_day(datetime.date(2031, 10, 1))
    assert CalendarYear.objects.get(year=2031).source == "管理员录入"


def test_seeding_twice_keeps_edits_and_adds_no_rows(package_calendar):
    set_calendar_day(date=datetime.date(2026, 10, 8), kind=DayKind.HOLIDAY, name="国庆节")
    days = CalendarDay.objects.count()
    assert seed_calendar_from_package() == []
    assert CalendarDay.objects.count() == days
    assert not is_working_day(datetime.date(2026, 10, 8))


def test_unknown_years_ahead_includes_next_year_from_november(package_calendar):
    assert unknown_years_ahead(datetime.date(2026, 6, 1)) == []
    assert unknown_years_ahead(datetime.date(2040, 10, 31)) == [2040]
    assert unknown_years_ahead(datetime.date(2040, 11, 1)) == [2040, 2041]
    set_calendar_day(date=datetime.date(2041, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert unknown_years_ahead(datetime.date(2040, 11, 1)) == [2040]


def test_due_moment_is_the_end_of_the_windows_duty_hours(package_calendar):
    window = SimpleNamespace(duty_end=datetime.time(17, 30))
    due = due_moment(at(2026, 11, 20, 19, 30), window=window)  # a Friday evening
    assert due.astimezone(SHANGHAI) == at(2026, 11, 23, 17, 30)
    assert due_text(due) == "2026年11月23日 17:30 前"
    assert due_moment(at(2026, 11, 20, 9), working_days=5).astimezone(SHANGHAI) == at(2026, 11, 27, 17, 0)
