"""Assessment periods: a month, a week or any span of local dates, as half-open aware datetimes."""

import dataclasses
import datetime
import re

from django.utils import timezone

from infra.errors import DomainError


class PeriodError(DomainError):
    """Bad period input; the message is shown to the user as it is."""


@dataclasses.dataclass(frozen=True)
class Period:
    """The local dates first..last inclusive, i.e. the instants [start, end)."""

    first: datetime.date
    last: datetime.date

    @property
    def start(self) -> datetime.datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime.datetime:
        return local_midnight(self.last + datetime.timedelta(days=1))

    @property
    def days(self) -> list[datetime.date]:
        return [self.first + datetime.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        if self.first.day == 1 and self.last == month_period(self.first).last:
            return f"{self.first:%Y年%m月}"
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}"

    @property
    def is_month(self) -> bool:
        return self.first.day == 1 and self.last == month_period(self.first).last

    def is_closed(self, now: datetime.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.end


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def month_period(day: datetime.date) -> Period:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return Period(first, following - datetime.timedelta(days=1))


def week_period(day: datetime.date) -> Period:
    """Return the Monday-to-Sunday week holding the date."""
    monday = day - datetime.timedelta(days=day.weekday())
    return Period(monday, monday + datetime.timedelta(days=6))


def parse_month(text: str | None) -> Period:
    """Parse "2026-10" (or "2026-10-15") into that month; raise PeriodError with a Chinese message."""
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", text)
    if not match:
        raise PeriodError(f"月份格式应为 YYYY-MM，例如 2026-10；收到“{text}”。")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise PeriodError(f"没有这个月份：{text}。")
    return month_period(datetime.date(year, month, 1))


def parse_day(text: str | None) -> datetime.date:
    text = (text or "").strip()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"日期格式应为 YYYY-MM-DD，例如 2026-10-19；收到“{text}”。") from None


MAX_SPAN_DAYS = 366


def parse_span(first_text: str | None, last_text: str | None) -> Period:
    """Parse a custom period of local dates (inclusive); raise PeriodError with a Chinese message."""
    first, last = parse_day(first_text), parse_day(last_text)
    if last < first:
        raise PeriodError("结束日期不能早于开始日期。")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise PeriodError(f"统计期间最长 {MAX_SPAN_DAYS} 天。")
    return Period(first, last)


def current_month() -> Period:
    return month_period(timezone.localdate())


def previous_month() -> Period:
    return month_period(current_month().first - datetime.timedelta(days=1))
