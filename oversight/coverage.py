"""Scheduled duty hours (应值班时段) and how much of them officers covered while online.

Duty slots come from the calendar (a few per day); online stretches are already clipped to the period
by the database. Both lists are small (officers x days), so the union and intersection are done here.
"""

import datetime
from collections.abc import Iterable

from django.utils import timezone

from departments.calendar import is_working_day

from .periods import Period

Span = tuple[float, float]


def working_days(period: Period) -> list[datetime.date]:
    """Return the working days (工作日) of the period: weekdays and make-up days, without holidays."""
    return [day for day in period.days if is_working_day(day)]


def duty_slots(
    period: Period,
    days: Iterable[datetime.date],
    duty_start: datetime.time,
    duty_end: datetime.time,
    *,
    now: datetime.datetime,
) -> list[Span]:
    """Return the window's duty hours on the given working days as epoch spans, cut at the period end and now."""
    upper = min(period.end, now).timestamp()
    lower = period.start.timestamp()
    slots = []
    for day in days:
        start = timezone.make_aware(datetime.datetime.combine(day, duty_start)).timestamp()
        end = timezone.make_aware(datetime.datetime.combine(day, duty_end)).timestamp()
        start, end = max(start, lower), min(end, upper)
        if end > start:
            slots.append((start, end))
    return slots


def union(spans: Iterable[Span]) -> list[Span]:
    """Return the spans merged into disjoint, sorted spans."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def length(spans: Iterable[Span]) -> float:
    return sum(end - start for start, end in union(spans))


def overlap(spans: Iterable[Span], slots: Iterable[Span]) -> float:
    """Return the seconds of the union of spans that fall inside the union of slots."""
    first, second = union(spans), union(slots)
    total, i, j = 0.0, 0, 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if end > start:
            total += end - start
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return total
