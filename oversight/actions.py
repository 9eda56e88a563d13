"""Writes of oversight: the audit trail, snapshots of closed months and the purge of expired transcripts."""

import dataclasses
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from chat import actions as chat_actions
from chat.models import Conversation, Message, Status
from faq import actions as faq_actions
from infra.errors import DomainError

from . import figures, topics
from .models import AssessmentRule, AuditAction, AuditLog, MonthClose, MonthlyFigure
from .periods import Period, month_period

PURGE_BATCH = 2000


class OversightError(DomainError):
    """A request oversight refuses."""


def record_audit(
    *, actor, action: str, object_type: str = "", object_id="", summary: str = "", ip_address: str | None = None
) -> AuditLog:
    """Append an entry to the audit log (审计日志)."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=getattr(actor, "username", "") or "（命令行）",
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:500],
        ip_address=ip_address or None,
    )


@transaction.atomic
def snapshot_month(*, period: Period, now: datetime.datetime | None = None) -> int:
    """Store the month's figures for every department, window and officer; replace an older snapshot.

    The department rows also keep the daily volume and the hot topics, so the dashboard can show a
    month whose transcripts were purged. Return the number of rows stored.
    """
    if not period.is_month:
        raise OversightError("只能保存整月的考核数据。")
    now = now or timezone.now()
    if not period.is_closed(now):
        raise OversightError(f"{period.label}尚未结束，不能保存快照。")
    report = figures.compute(period, now=now)
    daily = figures.daily_by_department(period)
    rows = []
    levels = (
        ("department", report.departments),
        ("window", report.windows),
        ("officer", report.officers),
        ("total", [report.total]),
    )
    for level, items in levels:
        for item in items:
            data = dict(item.figures)
            if level == "department":
                data["daily"] = {day.isoformat(): count for day, count in daily.get(item.id, {}).items()}
                data["topics"] = topics.hot_topics(period, department_id=item.id)
            rows.append(
                MonthlyFigure(
                    month=period.first,
                    level=level,
                    object_id=item.id,
                    name=item.name,
                    department_name=item.department if level not in ("department", "total") else "",
                    figures={**data, "_window": item.window},
                    computed_at=now,
                )
            )
    MonthlyFigure.objects.filter(month=period.first).delete()
    MonthlyFigure.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def close_month(
    *, period: Period, actor, now: datetime.datetime | None = None, ip_address: str | None = None
) -> MonthClose:
    """Close (定稿) an ended month: freeze its figures, scores and ranks; later changes no longer alter them.

    A month already snapshotted by a purge keeps that snapshot (its transcripts may be gone).
    """
    if not period.is_month:
        raise OversightError("只能对整月定稿。")
    now = now or timezone.now()
    if not period.is_closed(now):
        raise OversightError(f"{period.label}尚未结束，不能定稿。")
    if MonthClose.objects.select_for_update().filter(month=period.first).exists():
        raise OversightError(f"{period.label}已经定稿。")
    if not MonthlyFigure.objects.filter(month=period.first).exists():
        snapshot_month(period=period, now=now)
    closed = MonthClose.objects.create(
        month=period.first,
        closed_at=now,
        closed_by=actor if actor is not None and actor.pk else None,
        closed_by_name=getattr(actor, "username", "") or "（命令行）",
    )
    record_audit(
        actor=actor,
        action=AuditAction.CLOSE_MONTH,
        object_type="考核月份",
        object_id=period.first.strftime("%Y-%m"),
        summary=f"{period.label}考核定稿",
        ip_address=ip_address,
    )
    return closed


@transaction.atomic
def save_rule(*, rule: AssessmentRule, actor, ip_address: str | None = None) -> AssessmentRule:
    """Save a year's weights (考核细则) after checking they add up to 100; audited."""
    try:
        rule.full_clean()
    except ValidationError as error:
        raise OversightError("；".join(error.messages)) from None
    rule.save()
    summary = "、".join(f"{key} {weight}" for key, weight in rule.weights().items())
    record_audit(
        actor=actor,
        action=AuditAction.CHANGE_RULE,
        object_type="考核细则",
        object_id=rule.year,
        summary=f"{rule.year} 年考核细则：{summary}",
        ip_address=ip_address,
    )
    return rule


def retention_days() -> int:
    """Return TRANSCRIPT_RETENTION_DAYS from the settings (portal/settings.py holds the default), checked."""
    value = settings.TRANSCRIPT_RETENTION_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise OversightError(f"TRANSCRIPT_RETENTION_DAYS 应为正整数天数，当前为“{value}”。") from None
    if days < 1:
        raise OversightError(f"TRANSCRIPT_RETENTION_DAYS 应为正整数天数，当前为 {days}。")
    return days


@dataclasses.dataclass
class PurgeResult:
    cutoff: datetime.datetime
    conversations: int
    messages: int
    months_snapshotted: list[str]
    kept_open: int


def expiry_cutoff(*, now: datetime.datetime, days: int) -> datetime.datetime:
    """Return the start of the month holding (now - days): only whole, closed months are purged."""
    return month_period(timezone.localdate(now) - datetime.timedelta(days=days)).start


def purge_expired(
    *, actor=None, now: datetime.datetime | None = None, days: int | None = None, dry_run: bool = False
) -> PurgeResult:
    """Delete closed conversations (and their messages) that began before the retention cutoff.

    Each month touched is snapshotted first (unless it already was), so its assessment figures stay.
    Open conversations are never deleted. Every purge is written to the audit log.
    """
    now = now or timezone.now()
    days = retention_days() if days is None else days
    if days < 1:
        raise OversightError("保留天数应为正整数。")
    cutoff = expiry_cutoff(now=now, days=days)
    expired = Conversation.objects.filter(created_at__lt=cutoff, status=Status.CLOSED)
    kept_open = Conversation.objects.filter(created_at__lt=cutoff).exclude(status=Status.CLOSED).count()
    earliest = expired.aggregate(first=Min("created_at"))["first"]
    months = []
    if earliest is not None:
        month = month_period(timezone.localdate(earliest))
        snapshotted = set(MonthlyFigure.objects.values_list("month", flat=True).distinct())
        while month.start < cutoff:
            if month.first not in snapshotted:
                months.append(month)
            month = month_period(month.last + datetime.timedelta(days=1))
    message_count = Message.objects.filter(conversation__in=expired).count()
    conversation_count = expired.count()
    result = PurgeResult(
        cutoff, conversation_count, message_count, [m.first.strftime("%Y-%m") for m in months], kept_open
    )
    if dry_run:
        return result
    for month in months:
        snapshot_month(period=month, now=now)
    while True:
        with transaction.atomic():
            batch = list(expired.order_by("id").values_list("id", flat=True)[:PURGE_BATCH])
            if not batch:
                break
            # Archived answers and drafts made from these chats are copies of them: they go too.
            faq_actions.forget_conversations(conversation_ids=batch)
            chat_actions.delete_conversations(conversation_ids=batch)
    record_audit(
        actor=actor,
        action=AuditAction.PURGE,
        object_type="会话",
        summary=(
            f"清理 {timezone.localtime(cutoff):%Y-%m-%d} 之前结束的会话 {conversation_count} 个、消息 {message_count} 条；"
            f"保存快照月份：{'、'.join(result.months_snapshotted) or '无'}"
        ),
    )
    return result
