"""Officers' duty ledger (值班台账): per officer and working day, scheduled duty against time online.

A day's duty is the union of the officer's windows' duty hours. Late start (迟到) is how long after the
duty start the officer was first online inside the duty hours; early leave (早退) how long before the duty
end they were last online inside them; both count only beyond LATE_GRACE. A day with duty but no online
time inside it is marked 未上线 instead. A day whose duty has not ended is not judged for early leave.
Online stretches come from the database already clipped (selectors.online_spans); the rest is small lists.
"""

import dataclasses
import datetime
from collections import defaultdict

from django.utils import timezone

from . import coverage, selectors
from .periods import Period, local_midnight

LATE_GRACE = datetime.timedelta(minutes=5)


@dataclasses.dataclass
class LedgerDay:
    officer_id: int
    officer: str
    department: str
    window: str
    day: datetime.date
    duty_text: str
    duty_hours: float
    online_hours: float
    covered_hours: float
    first_online: datetime.datetime | None
    last_online: datetime.datetime | None
    late_minutes: int | None
    early_minutes: int | None
    absent: bool
    running: bool

    @property
    def note(self) -> str:
        if self.absent:
            return "进行中，尚未上线" if self.running else "值班时段内未上线"
        return "进行中" if self.running else ""


@dataclasses.dataclass
class LedgerTotal:
    officer_id: int
    officer: str
    department: str
    window: str
    duty_days: int = 0
    duty_hours: float = 0.0
    online_hours: float = 0.0
    covered_hours: float = 0.0
    late_days: int = 0
    early_days: int = 0
    absent_days: int = 0


def _clip(spans: list, start: float, end: float) -> list:
    return [(max(a, start), min(b, end)) for a, b in spans if b > start and a < end]


def duty_ledger(
    period: Period, *, department_id: int | None = None, now: datetime.datetime | None = None
) -> list[LedgerDay]:
    """Return one LedgerDay per officer and working day of the period up to now, by officer then day."""
    now = now or timezone.now()
    windows = list(selectors.windows(department_id))
    window_by_id = {window.id: window for window in windows}
    windows_of: dict[int, list] = defaultdict(list)
    for window_id, officer_id in selectors.window_officer_pairs(window_by_id):
        windows_of[officer_id].append(window_by_id[window_id])
    if not windows_of:
        return []
    users = selectors.users_by_id(windows_of)
    spans_of: dict[int, list] = defaultdict(list)
    for officer_id, start, end in selectors.online_spans(period, now=now, officer_ids=windows_of):
        spans_of[officer_id].append((start, end))
    days = [day for day in coverage.working_days(period) if local_midnight(day) < now]
    grace = LATE_GRACE.total_seconds()
    rows = []
    for officer_id in sorted(windows_of, key=lambda pk: (str(users.get(pk, "")), pk)):
        own = sorted(windows_of[officer_id], key=lambda window: window.id)
        spans = coverage.union(spans_of[officer_id])
        name = str(users.get(officer_id, officer_id))
        department = "、".join(dict.fromkeys(window.department.name for window in own))
        window_names = "、".join(window.name for window in own)
        for day in days:
            full = coverage.union(
                slot
                for window in own
                for slot in coverage.duty_slots(
                    Period(day, day),
                    [day],
                    window.duty_start,
                    window.duty_end,
                    now=local_midnight(day + datetime.timedelta(days=1)),
                )
            )
            if not full:
                continue
            duty_start, duty_end = full[0][0], full[-1][1]
            running = duty_end > now.timestamp()
            slots = coverage.union(_clip(full, duty_start, min(duty_end, now.timestamp())))
            day_start, day_end = (
                local_midnight(day).timestamp(),
                local_midnight(day + datetime.timedelta(days=1)).timestamp(),
            )
            inside = [(max(a, s), min(b, e)) for a, b in spans for s, e in slots if b > s and a < e]
            covered = sum(b - a for a, b in inside)
            first = min((a for a, _ in inside), default=None)
            last = max((b for _, b in inside), default=None)
            late = None if first is None else (first - duty_start if first - duty_start > grace else 0)
            early = None if last is None or running else (duty_end - last if duty_end - last > grace else 0)
            rows.append(
                LedgerDay(
                    officer_id=officer_id,
                    officer=name,
                    department=department,
                    window=window_names,
                    day=day,
                    duty_text="、".join(f"{_clock(a)}–{_clock(b)}" for a, b in full),
                    duty_hours=round(coverage.length(full) / 3600, 2),
                    online_hours=round(coverage.length(_clip(spans, day_start, day_end)) / 3600, 2),
                    covered_hours=round(covered / 3600, 2),
                    first_online=_moment(first),
                    last_online=_moment(last),
                    late_minutes=None if late is None else round(late / 60),
                    early_minutes=None if early is None else round(early / 60),
                    absent=first is None,
                    running=running,
                )
            )
    return rows


def _clock(epoch: float) -> str:
    return f"{timezone.localtime(_moment(epoch)):%H:%M}"


def _moment(epoch: float | None) -> datetime.datetime | None:
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def totals(rows: list[LedgerDay]) -> list[LedgerTotal]:
    """Return per officer: duty days, hours, and the days late, left early or not online."""
    by_officer: dict[int, LedgerTotal] = {}
    for row in rows:
        total = by_officer.setdefault(
            row.officer_id, LedgerTotal(row.officer_id, row.officer, row.department, row.window)
        )
        total.duty_days += 1
        total.duty_hours = round(total.duty_hours + row.duty_hours, 2)
        total.online_hours = round(total.online_hours + row.online_hours, 2)
        total.covered_hours = round(total.covered_hours + row.covered_hours, 2)
        total.late_days += bool(row.late_minutes)
        total.early_days += bool(row.early_minutes)
        total.absent_days += row.absent and not row.running
    return list(by_officer.values())
