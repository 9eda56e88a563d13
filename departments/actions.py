"""Writes for departments, windows and the working-day calendar."""

import datetime

from django.db import transaction
from django.dispatch import Signal

from .models import CalendarDay, CalendarYear, DayKind, Department, Window


@transaction.atomic
def ensure_department(*, name: str) -> Department:
    """Return the department of that name, creating it (with no windows) when it does not exist yet."""
    department, _ = Department.objects.get_or_create(name=name)
    return department


@transaction.atomic
def ensure_window(*, department: Department, name: str) -> Window:
    """Return the department's window of that name, creating it with an empty duty statement to fill in."""
    window, _ = Window.objects.get_or_create(department=department, name=name, defaults={"duty_statement": ""})
    return window


# A hook for the apps above (chat's desks follow it): sent with `officer_ids` whose windows changed.
officer_windows_changed = Signal()


def notify_officer_windows_changed(*, officer_ids) -> None:
    """Tell the listeners (the officers' open desks) that these officers' windows changed."""
    officer_ids = sorted(set(officer_ids))
    if officer_ids:
        officer_windows_changed.send(sender=None, officer_ids=officer_ids)


@transaction.atomic
def seed_calendar_from_package(*, overwrite: bool = False, years: list[int] | None = None) -> list[int]:
    """Load the years the chinesecalendar package knows (all, or those in years) into the calendar tables.

    A year already present is left as the admin edited it unless overwrite is set.
    Return the years loaded.
    """
    import chinese_calendar

    holidays = chinese_calendar.holidays
    workdays = chinese_calendar.workdays
    package_years = sorted({day.year for day in holidays} | {day.year for day in workdays})
    existing = set(CalendarYear.objects.values_list("year", flat=True))
    loaded = []
    for year in package_years:
        if years is not None and year not in years:
            continue
        if year in existing and not overwrite:
            continue
        CalendarDay.objects.filter(date__year=year).delete()
        rows = [
            CalendarDay(date=day, kind=DayKind.HOLIDAY, name=_holiday_name(name))
            for day, name in holidays.items()
            if day.year == year and day.weekday() < 5
        ] + [
            CalendarDay(date=day, kind=DayKind.MAKEUP_WORKDAY, name=_holiday_name(name))
            for day, name in workdays.items()
            if day.year == year and day.weekday() >= 5
        ]
        CalendarDay.objects.bulk_create(rows)
        CalendarYear.objects.update_or_create(
            year=year, defaults={"source": f"chinesecalendar {chinese_calendar.__version__}"}
        )
        loaded.append(year)
    return loaded


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _holiday_name(name: str) -> str:
    return _HOLIDAY_NAMES.get(name, name or "")


@transaction.atomic
def set_calendar_day(*, date: datetime.date, kind: str, name: str = "") -> CalendarDay:
    """Record a holiday or make-up working day, marking its year as known."""
    day, _ = CalendarDay.objects.update_or_create(date=date, defaults={"kind": kind, "name": name})
    CalendarYear.objects.get_or_create(year=date.year, defaults={"source": "管理员录入"})
    return day
