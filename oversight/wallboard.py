"""The live wallboard (实时监控): every window's state right now, the windows in most trouble first.

One grouped query over the open conversations, one over the officers' presence; nothing per window.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from . import selectors

DEFAULT_WAIT_ALERT_SECONDS = 120
STATUS_LABELS = {"online": "在线", "busy": "忙碌", "away": "离开", "offline": "离线"}


def wait_alert_seconds() -> int:
    """Return WALLBOARD_WAIT_ALERT_SECONDS (default 120): a longer wait highlights the window."""
    try:
        return max(int(getattr(settings, "WALLBOARD_WAIT_ALERT_SECONDS", DEFAULT_WAIT_ALERT_SECONDS)), 1)
    except (TypeError, ValueError):
        return DEFAULT_WAIT_ALERT_SECONDS


def threshold_text(seconds: int) -> str:
    return f"{seconds // 60} 分钟" if seconds % 60 == 0 else f"{seconds} 秒"


def state(now: datetime.datetime | None = None) -> dict:
    """Return {"at", "threshold", "windows": [...]} sorted by trouble: long waits, nobody on line, overdue, queue."""
    now = now or timezone.now()
    threshold = wait_alert_seconds()
    counts = selectors.open_conversation_counts(now=now)
    officers = selectors.window_officers_on_line(now=now)
    live = selectors.conversations_in_progress()
    rows = []
    for window in selectors.windows().filter(is_active=True):
        numbers = counts.get(window.id, {})
        oldest = numbers.get("oldest_queued_at")
        wait = max(int((now - oldest).total_seconds()), 0) if oldest else 0
        present = officers.get(window.id, [])
        reachable = [officer for officer in present if officer["status"] in ("online", "busy")]
        queued = numbers.get("queued", 0)
        alerts = []
        if wait >= threshold:
            alerts.append(f"等待超过 {threshold_text(threshold)}")
        if queued and not reachable:
            alerts.append("有人排队但无人在线")
        if numbers.get("overdue"):
            alerts.append("有超期留言")
        rows.append(
            {
                "window": window.id,
                "name": window.name,
                "department": window.department.name,
                "officers": present,
                "online": len(reachable),
                "queued": queued,
                "longest_wait": wait,
                "oldest_queued_at": oldest.isoformat() if oldest else None,
                "active": numbers.get("active", 0),
                "backlog": numbers.get("backlog", 0),
                "overdue": numbers.get("overdue", 0),
                "chats": live.get(window.id, []),
                "alert": wait >= threshold,
                "alerts": alerts,
            }
        )
    rows.sort(
        key=lambda row: (
            not row["alert"],
            not (row["queued"] and not row["online"]),
            -row["longest_wait"],
            -row["overdue"],
            -row["queued"],
            -row["backlog"],
            row["department"],
            row["name"],
        )
    )
    return {
        "type": "wallboard",
        "at": now.isoformat(),
        "threshold": threshold,
        "windows": rows,
        "totals": {key: sum(row[key] for row in rows) for key in ("online", "queued", "active", "backlog", "overdue")},
    }
