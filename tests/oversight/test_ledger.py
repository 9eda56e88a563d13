"""The officers' duty ledger (值班台账) against the hand-placed online time of October."""

import datetime

from oversight import ledger
from oversight.periods import Period, month_period

from .conftest import NOW, at, online

OCTOBER = month_period(datetime.date(2026, 10, 1))


def day_of(rows, officer, day):
    return next(row for row in rows if row.officer == officer and row.day == datetime.date(2026, 10, day))


def test_late_start_early_leave_and_absent_days(october):
    rows = ledger.duty_ledger(OCTOBER, now=at(NOW))
    a12 = day_of(rows, "值班员 张丘", 12)
    # Online 08:00-12:00 and busy 13:00-14:00, away 14:00-15:00; duty 08:30-17:00.
    assert (a12.duty_text, a12.duty_hours, a12.online_hours, a12.covered_hours) == ("08:30–17:00", 8.5, 5.0, 4.5)
    assert (a12.late_minutes, a12.early_minutes, a12.absent) == (0, 180, False)
    a13 = day_of(rows, "值班员 张丘", 13)
    # Online from 16:00 to 01:00 the next day: 7.5 h late, stayed to the end; 8 h online that day.
    assert (a13.late_minutes, a13.early_minutes, a13.online_hours, a13.covered_hours) == (450, 0, 8.0, 1.0)
    a14 = day_of(rows, "值班员 张丘", 14)
    assert a14.absent and a14.online_hours == 1.0 and a14.late_minutes is None and a14.note == "值班时段内未上线"
    b12 = day_of(rows, "值班员 李敏", 12)
    assert (b12.late_minutes, b12.early_minutes) == (90, 360)
    # The holiday on 1 October is no duty day, the make-up Sunday 11 October is.
    days = {row.day for row in rows if row.officer == "值班员 张丘"}
    assert datetime.date(2026, 10, 1) not in days and datetime.date(2026, 10, 11) in days
    assert len(days) == 21


def test_totals_per_officer(october):
    totals = {total.officer: total for total in ledger.totals(ledger.duty_ledger(OCTOBER, now=at(NOW)))}
    a = totals["值班员 张丘"]
    assert (a.duty_days, a.duty_hours, a.covered_hours) == (21, 178.5, 5.5)
    assert (a.late_days, a.early_days, a.absent_days) == (1, 1, 19)
    d = totals["值班员 赵丽"]  # 就业 09:00-12:00, never online
    assert (d.duty_days, d.duty_hours, d.absent_days) == (21, 63.0, 21)


def test_a_day_in_progress_is_not_judged_for_early_leave(province):
    online(province["c"], "2026-11-05 08:40", None)
    rows = ledger.duty_ledger(
        Period(datetime.date(2026, 11, 5), datetime.date(2026, 11, 5)), now=at("2026-11-05 10:00")
    )
    c = next(row for row in rows if row.officer == "值班员 王军")
    assert (c.late_minutes, c.early_minutes, c.running, c.note) == (10, None, True, "进行中")
    assert c.covered_hours == round(80 / 60, 2)
