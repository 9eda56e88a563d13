"""What the supervisor dashboard (考核看板) and the weekly operation report (一周运行情况) show."""

import datetime

from django.utils import timezone

from . import charts, figures, ledger, selectors, topics
from .figures import DEFINITIONS, DEFINITIONS_BY_KEY
from .periods import Period, PeriodError, current_month, month_period, parse_day, parse_month, parse_span, week_period

HEADLINE = [
    "conversations",
    "valid",
    "answer_rate",
    "live_rate",
    "on_time_rate",
    "satisfied_rate",
    "rated_share",
    "direct_rate",
    "one_time_rate",
    "frt_median",
    "offline_overdue",
    "offline_not_due",
    "satisfaction",
    "online_hours",
    "duty_coverage",
    "chitchat_share",
]
# The 12345 measures, shown together beside the answer rates.
MEASURES = ["answer_rate", "live_rate", "on_time_rate", "satisfied_rate", "rated_share", "direct_rate", "one_time_rate"]
TABLE_COLUMNS = [
    "online_hours",
    "duty_coverage",
    "conversations",
    "valid",
    "answered",
    "answer_rate",
    "live_rate",
    "on_time_rate",
    "direct_rate",
    "one_time_rate",
    "frt_median",
    "frt_p90",
    "offline",
    "offline_in_time",
    "offline_overdue",
    "offline_not_due",
    "transfers_out",
    "transfers_in",
    "cases_escalated",
    "cases_led",
    "cases_replied_in_time",
    "cases_overdue",
    "cases_returned",
    "chitchat_share",
    "rated",
    "rated_share",
    "satisfied_rate",
    "satisfaction",
]
DAILY_COLUMNS = [
    "conversations",
    "valid",
    "answered",
    "answer_rate",
    "answered_live",
    "offline",
    "offline_overdue",
    "offline_not_due",
    "online_hours",
]
RATING_KEYS = ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
HOT_DEPARTMENTS = 3
TOPIC_DEPARTMENTS = 6


def parse_filters(params) -> tuple[Period, int | None, list[str]]:
    """Read the period (month, or from/to dates) and department from the query string.

    Return the current month and all departments for what is missing, with Chinese errors for bad input.
    """
    errors = []
    period = current_month()
    try:
        if params.get("from") or params.get("to"):
            period = parse_span(params.get("from"), params.get("to"))
        elif params.get("month"):
            period = parse_month(params["month"])
    except PeriodError as error:
        errors.append(str(error))
    department_id = None
    if params.get("department"):
        raw = params["department"]
        if raw.isdigit() and selectors.departments(int(raw)).exists():
            department_id = int(raw)
        else:
            errors.append(f"没有这个部门：{raw}。")
    return period, department_id, errors


def month_choices(count: int = 13) -> list[Period]:
    month = current_month()
    choices = []
    for _ in range(count):
        choices.append(month)
        month = month_period(month.first - datetime.timedelta(days=1))
    return choices


def _cells(row, keys):
    return [(DEFINITIONS_BY_KEY[key], row.figures.get(key)) for key in keys]


LATE_CHANGE_KEYS = ["conversations", "answered", "offline_overdue", "rated", "answer_rate", "on_time_rate", "score"]


def ranking(rows: list) -> list[tuple]:
    """Return (row, [(definition, value, change)]) for score and the measures, best rank first."""
    keys = ["score", *MEASURES, "duty_coverage"]
    ordered = sorted(rows, key=lambda row: (row.figures.get("rank") is None, row.figures.get("rank") or 0, row.name))
    return [
        (row, [(DEFINITIONS_BY_KEY[key], row.figures.get(key), row.figures.get(f"{key}_change")) for key in keys])
        for row in ordered
    ]


def late_changes(report) -> list[dict]:
    """Return what changed in a frozen month since its close (定稿后变动): per department, figure, frozen and now.

    Empty for a month that is not frozen or whose transcripts were purged (nothing left to compare).
    """
    if not report.from_snapshot or report.month_close is None:
        return []
    if not selectors.conversations_in(report.period, department_id=report.department_id).exists():
        return []
    live = figures.compute(report.period, department_id=report.department_id)
    frozen = {row.id: row for row in report.departments}
    found = []
    for row in live.departments:
        before = frozen.get(row.id)
        for key in LATE_CHANGE_KEYS:
            old = before.figures.get(key) if before else None
            if old != row.figures.get(key):
                found.append(
                    {
                        "name": row.name,
                        "definition": DEFINITIONS_BY_KEY[key],
                        "frozen": old,
                        "now": row.figures.get(key),
                    }
                )
    return found


def _ledger_context(period: Period, department_id: int | None) -> dict:
    """The duty ledger: a line per officer, and each day when one department is chosen."""
    rows = ledger.duty_ledger(period, department_id=department_id)
    totals = sorted(
        ledger.totals(rows),
        key=lambda total: (-(total.late_days + total.early_days + total.absent_days), total.officer),
    )
    return {
        "ledger_totals": totals,
        "ledger_days": rows if department_id else [],
        "ledger_grace": int(ledger.LATE_GRACE.total_seconds() // 60),
    }


def dashboard_context(period: Period, department_id: int | None) -> dict:
    report = figures.report_for(period, department_id=department_id)
    by_volume = sorted(report.departments, key=lambda row: (-(row["conversations"] or 0), row.name))
    hot_ids = {row.id for row in by_volume[:HOT_DEPARTMENTS] if row["conversations"]}
    hot_topics = [
        (row, topics.hot_topics(period, department_id=row.id))
        for row in by_volume[:TOPIC_DEPARTMENTS]
        if row["conversations"] and not report.from_snapshot
    ]
    if report.from_snapshot:
        stored = {
            s.object_id: s.figures.get("topics", [])
            for s in selectors.monthly_snapshot(period, department_id)
            if s.level == "department"
        }
        hot_topics = [(row, stored.get(row.id, [])) for row in by_volume[:TOPIC_DEPARTMENTS] if row["conversations"]]
    by_answer = sorted(report.departments, key=lambda row: (row["answer_rate"] is None, -(row["answer_rate"] or 0)))
    officers_by_hours = sorted(report.officers, key=lambda row: -(row["online_hours"] or 0))
    days = period.days
    weekend_or_holiday = {f"{day:%m-%d}" for day in days if day.weekday() >= 5}
    query = f"month={period.first:%Y-%m}" if period.is_month else f"from={period.first}&to={period.last}"
    if department_id:
        query += f"&department={department_id}"
    return {
        "report": report,
        "period": period,
        "query": query,
        "department_id": department_id,
        "headline": _cells(report.total, HEADLINE),
        "columns": [DEFINITIONS_BY_KEY[key] for key in TABLE_COLUMNS],
        "rating_columns": [DEFINITIONS_BY_KEY[key] for key in RATING_KEYS],
        "department_rows": [
            (row, row.id in hot_ids, _cells(row, TABLE_COLUMNS), _cells(row, RATING_KEYS)) for row in by_volume
        ],
        "window_rows": [
            (row, _cells(row, TABLE_COLUMNS))
            for row in sorted(report.windows, key=lambda row: (row["answer_rate"] is None, -(row["answer_rate"] or 0)))
        ],
        "officer_rows": [(row, _cells(row, TABLE_COLUMNS)) for row in officers_by_hours],
        "hot_topics": hot_topics,
        "definitions": DEFINITIONS,
        "help": {definition.key: definition.help for definition in DEFINITIONS},
        "chart_volume": charts.bar_chart(
            [(row.name, row["conversations"]) for row in by_volume], title="各部门咨询量", unit=""
        ),
        "chart_daily": charts.column_chart(
            [(f"{day:%m-%d}", report.daily.get(day, 0)) for day in days],
            title="每日咨询量",
            highlight=weekend_or_holiday,
        ),
        "chart_online": charts.bar_chart(
            [(row.name, row["online_hours"]) for row in officers_by_hours[:20]],
            title="值班人员在线时长",
            unit=" 小时",
            label_chars=9,
        ),
        "chart_answer": charts.bar_chart(
            [(row.name, row["answer_rate"]) for row in by_answer], title="各部门答复率", percent=True, max_value=1
        ),
        "chart_score": charts.bar_chart(
            [(row.name, row.figures.get("score")) for row, _ in ranking(report.departments)],
            title="各部门得分",
            max_value=100,
        ),
        "department_ranking": ranking(report.departments),
        "window_ranking": ranking(report.windows),
        "ranking_columns": [DEFINITIONS_BY_KEY[key] for key in ["score", *MEASURES, "duty_coverage"]],
        "has_changes": report.previous is not None,
        "month_close": report.month_close,
        "running": not period.is_closed(),
        "late_changes": late_changes(report),
        **_ledger_context(period, department_id),
        "month_choices": month_choices(),
        "departments": list(selectors.departments()),
        "now": timezone.now(),
    }


def weekly_context(department_id: int, week_text: str | None, *, now: datetime.datetime | None = None) -> dict:
    """Return the one-week report of a department: figures, each day, windows, officers, hot questions."""
    now = now or timezone.now()
    day = parse_day(week_text) if week_text else timezone.localdate(now) - datetime.timedelta(days=7)
    week = week_period(day)
    department = selectors.departments(department_id).first()
    if department is None:
        raise PeriodError(f"没有这个部门：{department_id}。")
    report = figures.compute(week, department_id=department_id, now=now)
    daily = []
    for current in week.days:
        one = figures.compute(Period(current, current), department_id=department_id, now=now)
        daily.append((current, _cells(one.total, DAILY_COLUMNS)))
    keywords = topics.hot_topics(week, department_id=department_id, top=10)
    examples = []
    for keyword in keywords[:6]:
        found = selectors.questions_containing(week, keyword, department_id=department_id, limit=2)
        if found:
            examples.append((keyword, found))
    return {
        "department": department,
        "week": week,
        "previous_week": week.first - datetime.timedelta(days=7),
        "next_week": week.first + datetime.timedelta(days=7),
        "report": report,
        "summary": _cells(report.total, HEADLINE + ["offline", "offline_in_time", "rated"]),
        "running": not week.is_closed(now),
        "daily_columns": [DEFINITIONS_BY_KEY[key] for key in DAILY_COLUMNS],
        "daily": daily,
        "window_rows": [(row, _cells(row, TABLE_COLUMNS)) for row in report.windows],
        "officer_rows": [
            (row, _cells(row, TABLE_COLUMNS))
            for row in sorted(report.officers, key=lambda row: -(row["online_hours"] or 0))
        ],
        "columns": [DEFINITIONS_BY_KEY[key] for key in TABLE_COLUMNS],
        "keywords": keywords,
        "examples": examples,
        "chart_daily": charts.column_chart(
            [(f"{d:%m-%d}", cells[0][1]) for d, cells in daily],
            title="每日咨询量",
            highlight={f"{d:%m-%d}" for d in week.days if d.weekday() >= 5},
            width=560,
            height=180,
        ),
        "definitions": DEFINITIONS,
        "departments": list(selectors.departments()),
        "now": timezone.now(),
    }


def parse_year(text: str | None) -> int:
    """Parse a year such as "2026"; raise PeriodError with a Chinese message."""
    text = (text or "").strip()
    if not text:
        return timezone.localdate().year
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise PeriodError(f"年度应为 2000 至 2100 之间的四位数字，收到“{text}”。")
    return int(text)


def year_context(year: int, *, now: datetime.datetime | None = None) -> dict:
    """Return the year view: each department's score in each month, and the annual score and rank.

    The annual score (年度得分) is the mean of the monthly scores of the ended months that have one; a frozen
    month counts with its frozen score. A month still running is shown but not counted, and a month
    without a single conversation in the province has no score at all.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    months = [month_period(datetime.date(year, number, 1)) for number in range(1, 13)]
    closes = selectors.month_closes(year)
    reports = {
        month.first: figures.report_for(month, changes=False, now=now) for month in months if month.first <= today
    }
    # A month in which nobody in the province asked anything (before the duty room went live) has no scores.
    reports = {first: report for first, report in reports.items() if report.total.figures.get("conversations")}
    rows = []
    for department in selectors.departments():
        cells, counted = [], []
        for month in months:
            report = reports.get(month.first)
            row = next((item for item in report.departments if item.id == department.id), None) if report else None
            score = row.figures.get("score") if row else None
            ended = month.is_closed(now)
            if score is not None and ended:
                counted.append(score)
            cells.append(
                {
                    "month": month,
                    "score": score,
                    "answer_rate": row.figures.get("answer_rate") if row else None,
                    "closed": month.first in closes,
                    "running": report is not None and not ended,
                }
            )
        annual = round(sum(counted) / len(counted), 2) if counted else None
        rows.append({"department": department, "cells": cells, "annual": annual, "months": len(counted)})
    ranked = sorted((row for row in rows if row["annual"] is not None), key=lambda row: -row["annual"])
    previous, place = None, 0
    for index, row in enumerate(ranked, start=1):
        if row["annual"] != previous:
            place, previous = index, row["annual"]
        row["rank"] = place
    rows.sort(key=lambda row: (row.get("rank") is None, row.get("rank") or 0, row["department"].ordering))
    return {
        "year": year,
        "months": months,
        "rows": rows,
        "closed_count": len(closes),
        "chart_annual": charts.bar_chart(
            [(row["department"].name, row["annual"]) for row in rows], title=f"{year} 年各部门年度得分", max_value=100
        ),
        "help_score": DEFINITIONS_BY_KEY["score"].help,
        "weights": selectors.rule_weights(year),
        "years": list(range(today.year, today.year - 5, -1)),
    }
