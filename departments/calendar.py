"""The working-day calendar (工作日): mainland China's week with public holidays and make-up working days.

A year listed in CalendarYear follows its CalendarDay exceptions; any other year falls back to
Monday-to-Friday, and the admin warns about it.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from .models import CalendarDay, CalendarYear, DayKind

# Long enough to cross the longest holiday (Spring Festival, National Day: 8-9 days) plus weekends.
_LOOKAHEAD_DAYS = 60


def _exceptions(start: datetime.date, end: datetime.date) -> tuple[dict[datetime.date, str], set[int]]:
    days = dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "kind"))
    years = set(CalendarYear.objects.filter(year__range=(start.year, end.year)).values_list("year", flat=True))
    return days, years


def _is_working(day: datetime.date, exceptions: dict[datetime.date, str], known_years: set[int]) -> bool:
    if day.year in known_years and day in exceptions:
        return exceptions[day] == DayKind.MAKEUP_WORKDAY
    return day.weekday() < 5


def is_working_day(day: datetime.date) -> bool:
    """Return whether the date is a working day (工作日)."""
    exceptions, years = _exceptions(day, day)
    return _is_working(day, exceptions, years)


def working_days_after(day: datetime.date, count: int) -> datetime.date:
    """Return the count-th working day after the given date (count >= 1)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    found = 0
    start = day
    while True:
        end = start + datetime.timedelta(days=_LOOKAHEAD_DAYS)
        exceptions, years = _exceptions(start, end)
        current = start
        while current < end:
            current += datetime.timedelta(days=1)
            if _is_working(current, exceptions, years):
                found += 1
                if found == count:
                    return current
        start = end


def due_moment(moment: datetime.datetime, *, window=None, working_days: int = 1) -> datetime.datetime:
    """Return the due moment (期限) of something asked at the moment: the end of the window's duty hours on
    the working_days-th working day after it.

    Without a window (or duty hours) the day ends at settings.DEFAULT_DUTY_END. One definition for the
    citizen's notice, the desk and the assessment figures.
    """
    day = working_days_after(timezone.localtime(moment).date(), working_days)
    end = getattr(window, "duty_end", None) or datetime.time.fromisoformat(settings.DEFAULT_DUTY_END)
    return timezone.make_aware(datetime.datetime.combine(day, end))


def due_text(due_at: datetime.datetime) -> str:
    """Return a due moment as citizens read it: "2026年12月01日 17:30 前"."""
    return f"{timezone.localtime(due_at):%Y年%m月%d日 %H:%M} 前"


def unknown_years_ahead(today: datetime.date | None = None) -> list[int]:
    """Return this year and next year when their holiday schedule is missing (for the admin warning)."""
    today = today or timezone.localdate()
    wanted = [today.year, today.year + 1] if today.month >= 11 else [today.year]
    known = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return [year for year in wanted if year not in known]
