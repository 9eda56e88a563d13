"""Read-only queries for oversight against the duty room's tables.

Every figure over conversations is a database aggregate (COUNT/SUM with filters); first-response
percentiles read one list of durations computed and sorted by the database. Nothing loops over messages. Times are compared as seconds since the Unix epoch,
computed by the database the same way on SQLite and PostgreSQL (see EpochSeconds).
"""

import datetime
import math
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models import Window as Over  # departments' Window is the duty window
from django.db.models.functions import Coalesce, Floor, Greatest, Lead, Least, TruncDate
from django.utils import timezone

from cases.models import OPEN_STATUSES as OPEN_CASE_STATUSES
from cases.models import Case, CaseEvent, EventKind
from chat import selectors as chat_selectors
from chat.models import (
    EXEMPT_CLASSIFICATIONS,
    Classification,
    Conversation,
    DeskConnection,
    OfficerPresence,
    PresenceInterval,
    PresenceStatus,
    Status,
    Transfer,
)
from departments.models import Department
from departments.models import Window as Window

from .models import DEFAULT_WEIGHTS, AssessmentRule, MonthClose, MonthlyFigure
from .periods import Period

# Statuses that count as online time: at the desk and reachable (busy officers still answer their chats).
ONLINE_STATUSES = (PresenceStatus.ONLINE, PresenceStatus.BUSY)


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as a float, on SQLite and PostgreSQL alike."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # julianday() is native C and exact to well under a millisecond for our dates.
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra_context
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS DOUBLE PRECISION)",
            **extra_context,
        )


def _epoch(moment: datetime.datetime) -> Value:
    return Value(moment.timestamp(), output_field=FloatField())


def _valid_q(prefix: str = "") -> Q:
    """Valid questions: everything not classified as exempt; an unclassified conversation counts as valid."""
    return ~Q(**{f"{prefix}classification__in": EXEMPT_CLASSIFICATIONS})


def conversations_in(period: Period, *, department_id: int | None = None) -> QuerySet[Conversation]:
    """Return the conversations whose first question was asked in the period (the unit of every count)."""
    qs = Conversation.objects.filter(first_question_at__gte=period.start, first_question_at__lt=period.end)
    if department_id:
        qs = qs.filter(window__department_id=department_id)
    return qs


def conversation_counts(period: Period, *, department_id: int | None = None, now: datetime.datetime) -> list[dict]:
    """Return one row of counts per (window_id, officer_id); counts add up to any higher level exactly."""
    valid = _valid_q()
    exempt = Q(classification__in=EXEMPT_CLASSIFICATIONS)
    offline = Q(is_offline_question=True)
    in_time = offline & (
        Q(first_response_at__lte=F("due_at")) | (exempt & Q(closed_at__isnull=False, closed_at__lte=F("due_at")))
    )
    overdue = offline & ~in_time & Q(due_at__lt=now)
    # Not yet due: the due moment is still ahead and nothing settled it yet; never counted as unanswered.
    not_due = offline & ~in_time & Q(due_at__gte=now)
    answered = Q(first_response_at__isnull=False)
    aggregates = {
        "conversations": Count("id"),
        "valid": Count("id", filter=valid),
        "answered": Count("id", filter=valid & Q(first_response_at__isnull=False)),
        "answered_live": Count("id", filter=valid & Q(answered_live=True)),
        "greeting": Count("id", filter=Q(classification=Classification.GREETING)),
        "unrelated": Count("id", filter=Q(classification=Classification.UNRELATED)),
        "unclear": Count("id", filter=Q(classification=Classification.UNCLEAR)),
        "offline": Count("id", filter=offline),
        "offline_in_time": Count("id", filter=in_time),
        "offline_overdue": Count("id", filter=overdue),
        "offline_not_due": Count("id", filter=not_due),
        "valid_not_due": Count("id", filter=valid & not_due & ~answered),
        "closed": Count("id", filter=Q(status=Status.CLOSED)),
        "rated": Count("id", filter=Q(rating__isnull=False)),
        "rating_sum": Coalesce(Sum("rating"), 0),
        "response_count": Count("id", filter=Q(answered_live=True, first_response_at__isnull=False)),
    }
    for level in range(1, 6):
        aggregates[f"rating_{level}"] = Count("id", filter=Q(rating=level))
    # Annotation names must not shadow model fields (answered_live, rating), hence the prefix.
    rows = (
        conversations_in(period, department_id=department_id)
        .order_by()
        .values("window_id", "officer_id")
        .annotate(**{f"n_{key}": value for key, value in aggregates.items()})
    )
    result = [{key.removeprefix("n_"): value for key, value in row.items()} for row in rows]
    repeats = repeat_counts(period, department_id=department_id, now=now)
    handed = handed_over_counts(period, department_id=department_id)
    for row in result:
        key = (row["window_id"], row["officer_id"])
        row.update(repeats.get(key, {"asked_again": 0, "one_time": 0}))
        row["answered_direct"] = row["answered"] - handed.get(key, 0)
    return result


def handed_over_counts(period: Period, *, department_id: int | None = None) -> dict[tuple, int]:
    """Return {(window id, officer id): answered valid questions that were transferred or escalated to a case}.

    Driven from the few hand-overs (an IN list the database builds once), not a lookup per conversation.
    """
    handed = (
        Transfer.objects.order_by()
        .values("conversation_id")
        .union(Case.objects.filter(source_conversation__isnull=False).order_by().values("source_conversation_id"))
    )
    rows = (
        conversations_in(period, department_id=department_id)
        .filter(_valid_q(), first_response_at__isnull=False, id__in=handed)
        .order_by()
        .values("window_id", "officer_id")
        .annotate(n=Count("id"))
        .values_list("window_id", "officer_id", "n")
    )
    return {(window_id, officer_id): count for window_id, officer_id, count in rows}


REPEAT_DAYS = 7


def repeat_counts(period: Period, *, department_id: int | None = None, now: datetime.datetime) -> dict[tuple, dict]:
    """Return {(window id, officer id): {"asked_again", "one_time"}} over the period's valid questions (一次办结).

    asked_again: the same citizen asked a new question at the same department within REPEAT_DAYS after;
    one_time: they did not, and REPEAT_DAYS have passed. The database finds each question's next one with
    LEAD() over the citizen's questions at the department (an EXISTS per row was ten times slower for
    citizens who ask often), and counts in the same statement.
    """
    window = REPEAT_DAYS * 86400.0
    following = Conversation.objects.filter(
        first_question_at__gte=period.start, first_question_at__lt=period.end + datetime.timedelta(days=REPEAT_DAYS)
    )
    if department_id:
        following = following.filter(window__department_id=department_id)
    following = (
        following.order_by()
        .annotate(
            asked=EpochSeconds("first_question_at"),
            next_asked=Over(
                Lead(EpochSeconds("first_question_at")),
                partition_by=[F("citizen_id"), F("window__department_id")],
                order_by=[F("first_question_at").asc(), F("id").asc()],
            ),
        )
        .values_list("window_id", "officer_id", "classification", "asked", "next_asked")
    )
    inner, params = following.query.sql_with_params()
    exempt = ", ".join(["%s"] * len(EXEMPT_CLASSIFICATIONS))
    # Epoch seconds are computed once per row inside; the outer query only does arithmetic on them.
    sql = (
        "SELECT q.window_id, q.officer_id,"
        " SUM(CASE WHEN q.next_asked - q.asked <= %s THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN (q.next_asked IS NULL OR q.next_asked - q.asked > %s) AND q.asked <= %s THEN 1 ELSE 0 END)"
        f" FROM ({inner}) q"
        f" WHERE q.asked < %s AND (q.classification IS NULL OR q.classification NOT IN ({exempt}))"
        " GROUP BY q.window_id, q.officer_id"
    )
    arguments = [
        window,
        window,
        now.timestamp() - window,
        *params,
        period.end.timestamp(),
        *[str(value) for value in EXEMPT_CLASSIFICATIONS],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        return {
            (window_id, officer_id): {"asked_again": again or 0, "one_time": once or 0}
            for window_id, officer_id, again, once in cursor.fetchall()
        }


def _nearest_rank(sorted_values: list[float], share: float) -> float:
    """Return the value at rank ceil(share * n) (1-based) of the sorted values."""
    rank = max(1, math.ceil(round(share * len(sorted_values), 9)))
    return sorted_values[rank - 1]


def first_response_percentiles(period: Period, *, department_id: int | None = None) -> dict[str, dict]:
    """Return {level: {id: (median, p90)}} of first-response seconds of live-answered conversations.

    Levels are "officer", "window", "department" and "total" (id 0). The database computes every
    duration and sorts them once; the groups are filled in that order, so each group's list is sorted.
    Nearest-rank method: the p-th percentile of n sorted values is the value at rank ceil(p*n).
    """
    seconds = ExpressionWrapper(
        EpochSeconds("first_response_at") - EpochSeconds("first_question_at"), output_field=FloatField()
    )
    rows = (
        conversations_in(period, department_id=department_id)
        .filter(answered_live=True, first_response_at__isnull=False)
        .annotate(seconds=seconds)
        .order_by("seconds", "id")
        .values_list("officer_id", "window_id", "window__department_id", "seconds")
    )
    groups: dict[str, dict[int, list[float]]] = {"officer": {}, "window": {}, "department": {}, "total": {}}
    officer, window, department, total = (groups[level] for level in ("officer", "window", "department", "total"))
    for officer_id, window_id, department_id_, value in rows:
        if officer_id is not None:
            officer.setdefault(officer_id, []).append(value)
        window.setdefault(window_id, []).append(value)
        department.setdefault(department_id_, []).append(value)
        total.setdefault(0, []).append(value)
    return {
        level: {key: (_nearest_rank(values, 0.5), _nearest_rank(values, 0.9)) for key, values in by_id.items()}
        for level, by_id in groups.items()
    }


def _grouped(qs: QuerySet, key: str) -> dict[int, int]:
    return {
        group: count
        for group, count in qs.order_by().values(key).annotate(n=Count("id")).values_list(key, "n")
        if group is not None
    }


def transfer_counts(period: Period, *, department_id: int | None = None) -> dict[str, dict[int, int]]:
    """Return the window-to-window hand-overs (转办) made in the period.

    {"out_window": {from window: n}, "out_officer": {officer who transferred: n}, "in_window": {to window: n}}
    """
    qs = Transfer.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    outgoing = qs.filter(from_window__department_id=department_id) if department_id else qs
    incoming = qs.filter(to_window__department_id=department_id) if department_id else qs
    return {
        "out_window": _grouped(outgoing, "from_window_id"),
        "out_officer": _grouped(outgoing, "by_id"),
        "in_window": _grouped(incoming, "to_window_id"),
    }


def case_counts(period: Period, *, department_id: int | None = None, now: datetime.datetime) -> dict[str, dict]:
    """Return the cases (转办件) submitted in the period: who escalated them and how their lead units did.

    {"escalated_window": {source window: n}, "escalated_officer": {officer: n},
     "led": {lead department: {"cases_led", "cases_replied_in_time", "cases_overdue"}},
     "returned": {department: cases it returned (退回) in the period, counted by the return}}
    """
    qs = Case.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    escalated = qs.filter(source_conversation__window__department_id=department_id) if department_id else qs
    led = qs.filter(lead_unit_id=department_id) if department_id else qs
    in_time = Q(replied_at__isnull=False, replied_at__lte=F("due_at"))
    overdue = Q(replied_at__gt=F("due_at")) | Q(replied_at__isnull=True, status__in=OPEN_CASE_STATUSES, due_at__lt=now)
    returned = CaseEvent.objects.filter(
        kind=EventKind.RETURNED, created_at__gte=period.start, created_at__lt=period.end
    )
    if department_id:
        returned = returned.filter(department_id=department_id)
    rows = (
        led.exclude(lead_unit__isnull=True)
        .order_by()
        .values("lead_unit_id")
        .annotate(
            cases_led=Count("id"),
            cases_replied_in_time=Count("id", filter=in_time),
            cases_overdue=Count("id", filter=overdue),
        )
    )
    return {
        "escalated_window": _grouped(escalated, "source_conversation__window_id"),
        "escalated_officer": _grouped(escalated, "escalated_by_id"),
        "led": {row.pop("lead_unit_id"): row for row in rows},
        "returned": _grouped(returned, "department_id"),
    }


def _presence_in(period: Period, now: datetime.datetime, officer_ids: Iterable[int] | None = None) -> QuerySet:
    qs = PresenceInterval.objects.filter(status__in=ONLINE_STATUSES, started_at__lt=min(period.end, now)).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=period.start)
    )
    if officer_ids is not None:
        qs = qs.filter(officer_id__in=list(officer_ids))
    return qs.order_by()


def _clipped_bounds(period: Period, now: datetime.datetime) -> tuple:
    """Return (start, end) epoch expressions of each interval clipped to the period and to now."""
    upper = min(period.end, now)
    start = Greatest(EpochSeconds("started_at"), _epoch(period.start))
    end = Least(Coalesce(EpochSeconds("ended_at"), _epoch(now)), _epoch(upper))
    return start, end


def online_seconds_by_officer(
    period: Period, *, now: datetime.datetime, officer_ids: Iterable[int] | None = None
) -> dict[int, float]:
    """Return {officer id: seconds online or busy within the period}; open intervals count up to now."""
    start, end = _clipped_bounds(period, now)
    rows = (
        _presence_in(period, now, officer_ids)
        .values("officer_id")
        .annotate(seconds=Sum(ExpressionWrapper(end - start, output_field=FloatField())))
        .values_list("officer_id", "seconds")
    )
    return {officer_id: max(seconds or 0.0, 0.0) for officer_id, seconds in rows}


def online_spans(
    period: Period, *, now: datetime.datetime, officer_ids: Iterable[int] | None = None
) -> list[tuple[int, float, float]]:
    """Return (officer id, start, end) epoch seconds of every online stretch clipped to the period."""
    start, end = _clipped_bounds(period, now)
    return list(
        _presence_in(period, now, officer_ids)
        .annotate(clip_start=start, clip_end=end)
        .filter(clip_end__gt=F("clip_start"))
        .values_list("officer_id", "clip_start", "clip_end")
    )


def _day_expression(period: Period):
    """Return an expression of the local date of first_question_at, and how to turn its values into dates.

    When the zone keeps one UTC offset over the period (Asia/Shanghai always does) the day is plain
    arithmetic on epoch seconds, much faster on SQLite than TruncDate's per-row Python function.
    """
    offset = period.start.utcoffset()
    if offset is not None and offset == period.end.utcoffset():
        expression = Floor(
            ExpressionWrapper(
                (EpochSeconds("first_question_at") + offset.total_seconds()) / 86400, output_field=FloatField()
            )
        )
        return expression, lambda value: EPOCH_DAY + datetime.timedelta(days=int(value))
    return TruncDate("first_question_at", tzinfo=timezone.get_current_timezone()), lambda value: value


EPOCH_DAY = datetime.date(1970, 1, 1)


def daily_volume(period: Period, *, department_id: int | None = None) -> dict[datetime.date, int]:
    """Return {local date: conversations whose first question was asked that day}."""
    day, to_date = _day_expression(period)
    rows = (
        conversations_in(period, department_id=department_id)
        .order_by()
        .annotate(day=day)
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    return {to_date(value): count for value, count in rows}


def first_question_texts(period: Period, *, department_id: int | None = None, limit: int = 1000) -> QuerySet:
    """Return the first citizen message of the latest valid conversations, newest first."""
    first_body = chat_selectors.citizen_messages(OuterRef("pk")).values("body")[:1]
    return (
        conversations_in(period, department_id=department_id)
        .filter(_valid_q())
        .order_by("-first_question_at")
        .annotate(question=Subquery(first_body))
        .values_list("question", flat=True)[:limit]
    )


def questions_containing(
    period: Period, keyword: str, *, department_id: int | None = None, limit: int = 1
) -> list[str]:
    """Return the latest valid first questions of the period that contain the keyword."""
    first_message = chat_selectors.citizen_messages(OuterRef("pk"))
    found = (
        conversations_in(period, department_id=department_id)
        .filter(_valid_q())
        .annotate(question=Subquery(first_message.values("body")[:1]))
        .filter(question__contains=keyword)
        .order_by("-first_question_at")
        .values_list("question", flat=True)[: limit * 10]
    )
    # The same question is often asked again word for word: show different ones.
    return list(dict.fromkeys(found))[:limit]


def departments(department_id: int | None = None) -> QuerySet[Department]:
    qs = Department.objects.order_by("ordering", "id")
    if department_id:
        qs = qs.filter(pk=department_id)
    return qs


def windows(department_id: int | None = None) -> QuerySet[Window]:
    qs = Window.objects.select_related("department").order_by("department__ordering", "department_id", "ordering", "id")
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs


def window_officer_pairs(window_ids: Iterable[int]) -> list[tuple[int, int]]:
    """Return (window id, officer id) of the current duty assignments of the windows."""
    through = Window.officers.through
    return list(through.objects.filter(window_id__in=list(window_ids)).values_list("window_id", "user_id"))


def users_by_id(user_ids: Iterable[int]) -> dict[int, object]:
    return {user.id: user for user in get_user_model().objects.filter(id__in=list(user_ids))}


def daily_volume_by_department(period: Period) -> dict[int, dict[datetime.date, int]]:
    """Return {department id: {local date: conversations}} for the period."""
    day, to_date = _day_expression(period)
    rows = (
        conversations_in(period)
        .order_by()
        .annotate(day=day)
        .values("window__department_id", "day")
        .annotate(count=Count("id"))
        .values_list("window__department_id", "day", "count")
    )
    result: dict[int, dict[datetime.date, int]] = {}
    for department_id, value, count in rows:
        result.setdefault(department_id, {})[to_date(value)] = count
    return result


def monthly_snapshot(period: Period, department_id: int | None = None) -> QuerySet:
    """Return the stored figures of a closed month (empty when the month was never snapshotted)."""
    qs = MonthlyFigure.objects.filter(month=period.first)
    if department_id:
        department = Department.objects.filter(pk=department_id).values_list("name", flat=True).first()
        qs = qs.filter(Q(level="department", object_id=department_id) | Q(department_name=department))
    return qs


def rule_weights(year: int) -> dict[str, int]:
    """Return the weights (考核细则) of the year's score: the rule set in the admin, else the default table."""
    rule = AssessmentRule.objects.filter(year=year).first()
    return rule.weights() if rule else dict(DEFAULT_WEIGHTS)


def month_close(period: Period):
    """Return the MonthClose (定稿) of the month, or None while it is not closed."""
    return MonthClose.objects.filter(month=period.first).first() if period.is_month else None


def month_closes(year: int) -> dict[datetime.date, object]:
    return {close.month: close for close in MonthClose.objects.filter(month__year=year)}


# The live wallboard (实时监控) ----------------------------------------------------------------------
def open_conversation_counts(*, now: datetime.datetime) -> dict[int, dict]:
    """Return {window id: queued, oldest_queued_at, active, backlog, overdue} over the open conversations."""
    waiting = Q(status=Status.QUEUED, first_question_at__isnull=False)
    backlog = Q(status=Status.OFFLINE)
    rows = (
        Conversation.objects.filter(status__in=[Status.QUEUED, Status.ACTIVE, Status.OFFLINE])
        .order_by()
        .values("window_id")
        .annotate(
            queued=Count("id", filter=waiting),
            oldest_queued_at=Min("queued_at", filter=waiting),
            active=Count("id", filter=Q(status=Status.ACTIVE)),
            backlog=Count("id", filter=backlog),
            overdue=Count("id", filter=backlog & Q(due_at__lt=now)),
        )
    )
    return {row.pop("window_id"): row for row in rows}


def window_officers_on_line(*, now: datetime.datetime) -> dict[int, list[dict]]:
    """Return {window id: [{"name", "status"}]} of the officers whose desk is heartbeating now."""
    cutoff = now - datetime.timedelta(seconds=settings.PRESENCE_TIMEOUT_SECONDS)
    live = set(DeskConnection.objects.filter(last_heartbeat__gte=cutoff).values_list("officer_id", flat=True))
    if not live:
        return {}
    status = dict(OfficerPresence.objects.filter(officer_id__in=live).values_list("officer_id", "status"))
    users = users_by_id(live)
    result: dict[int, list[dict]] = {}
    through = Window.officers.through
    for window_id, officer_id in through.objects.filter(user_id__in=live).values_list("window_id", "user_id"):
        current = status.get(officer_id, PresenceStatus.ONLINE)
        result.setdefault(window_id, []).append(
            {
                "id": officer_id,
                "name": str(users.get(officer_id, officer_id)),
                "status": current,
                "label": str(PresenceStatus(current).label) if current in PresenceStatus.values else current,
            }
        )
    for officers in result.values():
        officers.sort(key=lambda officer: (officer["status"] != PresenceStatus.ONLINE, officer["name"]))
    return result


def conversations_in_progress(limit_per_window: int = 8) -> dict[int, list[dict]]:
    """Return {window id: [{"id", "officer", "since"}]} of the chats in progress, oldest first."""
    rows = (
        Conversation.objects.filter(status=Status.ACTIVE)
        .order_by("window_id", "assigned_at", "id")
        .values_list("id", "window_id", "officer__display_name", "officer__username", "assigned_at")
    )
    result: dict[int, list[dict]] = {}
    for pk, window_id, display_name, username, assigned_at in rows:
        chats = result.setdefault(window_id, [])
        if len(chats) < limit_per_window:
            chats.append(
                {
                    "id": pk,
                    "officer": display_name or username or "",
                    "since": assigned_at.isoformat() if assigned_at else None,
                }
            )
    return result
