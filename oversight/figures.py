"""Assessment figures (考核指标) per department, window and officer for any period.

The definitions below are the single source of the labels, help texts and spreadsheet headers;
docs/assessment.md explains each one at length.
"""

import dataclasses
import datetime
from collections import defaultdict

from django.utils import timezone

from . import coverage, selectors
from .periods import Period, month_period

COUNT, HOURS, RATE, SECONDS, SCORE = "count", "hours", "rate", "seconds", "score"


@dataclasses.dataclass(frozen=True)
class Definition:
    key: str
    label: str
    help: str
    kind: str


DEFINITIONS = [
    Definition(
        "online_hours",
        "在线时长（小时）",
        "值班台处于“在线”或“忙碌”状态的时长之和，按考核期间截取；跨午夜、跨月的时段按期间边界切分，"
        "尚未结束的时段计到当前时刻。",
        HOURS,
    ),
    Definition(
        "duty_hours",
        "应值班时长（小时）",
        "所属窗口在考核期间内各工作日值班时段（窗口设定的值班开始至结束）的总长；节假日不计，调休上班日计入。",
        HOURS,
    ),
    Definition(
        "duty_coverage",
        "值班时段在线率",
        "应值班时段中有人在线的时间 ÷ 应值班时长。窗口和部门按其任一值班人员在线计，值班人员按本人在线计。",
        RATE,
    ),
    Definition("conversations", "咨询量", "考核期间内市民首次提问的会话数（只打开窗口未提问的不计）。", COUNT),
    Definition(
        "valid", "有效咨询", "咨询量中未被归为“问候闲聊”“与职责无关”“表述不清”的会话；未分类的按有效计。", COUNT
    ),
    Definition("answered", "已答复", "有效咨询中值班人员已作出答复的会话（含留言的事后答复）。", COUNT),
    Definition(
        "answer_rate",
        "答复率",
        "已答复 ÷（有效咨询 − 未到期未答复的有效留言）。不予回答的三类不计入分子和分母；"
        "答复期限未到的留言单独列为“未到期留言”，不算未答复。",
        RATE,
    ),
    Definition("answered_live", "即时答复", "有效咨询中，值班人员在市民在线等待时作出首次答复的会话。", COUNT),
    Definition("live_rate", "即时答复率", "即时答复 ÷ 有效咨询。", RATE),
    Definition(
        "frt_median",
        "首次响应中位数（秒）",
        "即时答复的会话从市民首次提问到值班人员首次答复的时长，取中位数（最近秩法，第 ⌈n/2⌉ 个）。",
        SECONDS,
    ),
    Definition(
        "frt_p90",
        "首次响应 P90（秒）",
        "同上，取第 90 百分位数（最近秩法，第 ⌈0.9n⌉ 个）：九成会话不超过此时长。",
        SECONDS,
    ),
    Definition("offline", "留言数", "提问时无人在线或等待超时而转为留言的会话数。", COUNT),
    Definition(
        "offline_in_time",
        "按期处理留言",
        "在答复期限（下一个工作日值班结束时）之前答复的留言；属于不予回答三类且在期限前结束的也算按期处理。",
        COUNT,
    ),
    Definition("offline_overdue", "超期留言", "答复期限已过但未按期处理的留言（含期限后才答复的）。", COUNT),
    Definition(
        "offline_not_due",
        "未到期留言",
        "答复期限尚未到、也还没有处理的留言（本月尚未结束时常见）；既不算按期，也不算超期或未答复。",
        COUNT,
    ),
    Definition(
        "on_time_rate",
        "按期办结率",
        "（按期处理留言 + 按期答复转办件）÷（已到期或已处理的留言 + 已到期或已答复的承办转办件）。"
        "未到期且未处理的不计入。窗口和值班人员只计留言。",
        RATE,
    ),
    Definition(
        "direct_rate",
        "直接解答率",
        "有效咨询中由值班人员直接答复、未经窗口转办也未转为信件的比例：直接解答 ÷（有效咨询 − 未到期未答复的有效留言）。",
        RATE,
    ),
    Definition(
        "one_time_rate",
        "一次办结率",
        "有效咨询中，同一市民在提问后 7 天内没有再向同一部门提出新问题的比例；提问未满 7 天且尚未再次提问的暂不计入。",
        RATE,
    ),
    Definition("asked_again", "7 天内再次咨询", "有效咨询中，同一市民 7 天内又向同一部门提出新问题的会话数。", COUNT),
    Definition(
        "transfers_out",
        "转出",
        "本期把会话转给其他窗口（窗口转办）的次数；值班人员按转办人计。被转办的会话计入最终接待的窗口。",
        COUNT,
    ),
    Definition("transfers_in", "转入", "本期从其他窗口转入的次数（值班人员不适用）。", COUNT),
    Definition(
        "cases_escalated",
        "转为信件",
        "本期由该窗口的会话转为省长信箱、厅长信箱或部门办理的转办件数；值班人员按转办人计。",
        COUNT,
    ),
    Definition("cases_led", "承办转办件", "本期提交、由该部门承办的转办件数（仅部门）。", COUNT),
    Definition("cases_replied_in_time", "按期答复转办件", "承办转办件中在办理期限前答复的件数（仅部门）。", COUNT),
    Definition("cases_overdue", "超期转办件", "承办转办件中期限已过仍未答复、或期限后才答复的件数（仅部门）。", COUNT),
    Definition(
        "cases_returned", "退回转办件", "本期该部门作为承办单位退回转办件的次数（仅部门，按退回时间计）。", COUNT
    ),
    Definition("greeting", "问候闲聊", "值班人员归为“问候闲聊”的会话数。", COUNT),
    Definition("unrelated", "与职责无关", "值班人员归为“与职责无关”的会话数。", COUNT),
    Definition("unclear", "表述不清", "值班人员归为“表述不清”的会话数。", COUNT),
    Definition("chitchat_share", "闲聊占比", "问候闲聊 ÷ 咨询量。", RATE),
    Definition("closed", "已结束会话", "考核期间内已经结束的会话数（参评率的分母）。", COUNT),
    Definition("rated", "评价数", "市民作出满意度评价的会话数。", COUNT),
    Definition("rated_share", "参评率", "评价数 ÷ 已结束会话。", RATE),
    Definition("satisfied_rate", "满意率", "（非常满意 + 满意）÷ 评价数。", RATE),
    Definition("satisfaction", "满意度平均分", "评价分值（非常满意 5 分 … 非常不满意 1 分）的平均数。", SCORE),
    Definition(
        "score",
        "得分",
        "按当年考核细则的权重加权各项指标（答复率、按期办结率、值班时段在线率、满意率、即时答复率、直接解答率、参评率、"
        "一次办结率）：得分 = Σ 权重 × 指标值 ÷ 有值指标的权重之和 × 100；无数据的指标不计入。",
        SCORE,
    ),
    Definition(
        "rank",
        "排名",
        "按得分从高到低排名，得分相同名次相同；没有得分的不排名。各层级（部门、窗口、值班人员）分别排名。",
        COUNT,
    ),
    Definition("rating_5", "非常满意", "评价为“非常满意”（5 分）的会话数。", COUNT),
    Definition("rating_4", "满意", "评价为“满意”（4 分）的会话数。", COUNT),
    Definition("rating_3", "一般", "评价为“一般”（3 分）的会话数。", COUNT),
    Definition("rating_2", "不满意", "评价为“不满意”（2 分）的会话数。", COUNT),
    Definition("rating_1", "非常不满意", "评价为“非常不满意”（1 分）的会话数。", COUNT),
]
DEFINITIONS_BY_KEY = {definition.key: definition for definition in DEFINITIONS}

_SUMMED = [
    "conversations",
    "valid",
    "answered",
    "answered_live",
    "greeting",
    "unrelated",
    "unclear",
    "offline",
    "offline_in_time",
    "offline_overdue",
    "offline_not_due",
    "valid_not_due",
    "closed",
    "answered_direct",
    "asked_again",
    "one_time",
    "rated",
    "rating_sum",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
]

HANDLING_KEYS = [
    "transfers_out",
    "transfers_in",
    "cases_escalated",
    "cases_led",
    "cases_replied_in_time",
    "cases_overdue",
    "cases_returned",
]


@dataclasses.dataclass
class Row:
    """One assessed unit: a department, a window or an officer, with its figures."""

    level: str
    id: int
    name: str
    department: str = ""
    window: str = ""
    figures: dict = dataclasses.field(default_factory=dict)

    def __getitem__(self, key):
        # A KeyError lets templates fall back to attributes (row.name), as Django's lookup order requires.
        return self.figures[key]


@dataclasses.dataclass
class Report:
    period: Period
    computed_at: datetime.datetime
    department_id: int | None
    departments: list[Row]
    windows: list[Row]
    officers: list[Row]
    total: Row
    daily: dict[datetime.date, int]
    from_snapshot: bool = False
    # The MonthClose (定稿) of a frozen month, the previous period's report when changes were applied.
    month_close: object = None
    previous: "Report | None" = None


def _ratio(numerator, denominator, digits=4):
    if not denominator:
        return None
    return round(numerator / denominator, digits)


def _finish(counts: dict, *, online: float, slots: list, spans: list, percentiles, handling: dict) -> dict:
    """Turn summed counts, online seconds, duty slots, percentiles and transfers into the published figures."""
    figures = {key: int(counts.get(key, 0)) for key in _SUMMED}
    figures.update(handling)
    duty = coverage.length(slots)
    figures["online_hours"] = round(online / 3600, 2)
    figures["duty_hours"] = round(duty / 3600, 2)
    figures["duty_coverage"] = _ratio(coverage.overlap(spans, slots), duty)
    _rates(figures)
    median, p90 = percentiles or (None, None)
    figures["frt_median"] = None if median is None else round(median, 1)
    figures["frt_p90"] = None if p90 is None else round(p90, 1)
    return figures


def _rates(figures: dict) -> None:
    """Derive every rate from the counts in place; the same rule for computed and frozen totals."""
    due_valid = figures["valid"] - figures.get("valid_not_due", 0)
    figures["answer_rate"] = _ratio(figures["answered"], due_valid)
    figures["live_rate"] = _ratio(figures["answered_live"], figures["valid"])
    figures["direct_rate"] = _ratio(figures.get("answered_direct", 0), due_valid)
    figures["one_time_rate"] = _ratio(
        figures.get("one_time", 0), figures.get("one_time", 0) + figures.get("asked_again", 0)
    )
    cases_in_time = figures.get("cases_replied_in_time") or 0
    cases_due = cases_in_time + (figures.get("cases_overdue") or 0)
    figures["on_time_rate"] = _ratio(
        figures["offline_in_time"] + cases_in_time, figures["offline_in_time"] + figures["offline_overdue"] + cases_due
    )
    figures["chitchat_share"] = _ratio(figures["greeting"], figures["conversations"])
    figures["satisfaction"] = _ratio(figures["rating_sum"], figures["rated"], 2)
    figures["satisfied_rate"] = _ratio(figures["rating_5"] + figures["rating_4"], figures["rated"])
    figures["rated_share"] = _ratio(figures["rated"], figures.get("closed", 0))


def _add(into: dict, row: dict) -> None:
    for key in _SUMMED:
        into[key] += row.get(key) or 0


def compute(period: Period, *, department_id: int | None = None, now: datetime.datetime | None = None) -> Report:
    """Compute the figures of the period for every department, window and officer (one department if given)."""
    now = now or timezone.now()
    windows = list(selectors.windows(department_id))
    departments = list(selectors.departments(department_id))
    pairs = selectors.window_officer_pairs([window.id for window in windows])
    count_rows = selectors.conversation_counts(period, department_id=department_id, now=now)

    by_window: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    by_officer: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for row in count_rows:
        _add(by_window[row["window_id"]], row)
        if row["officer_id"]:
            _add(by_officer[row["officer_id"]], row)

    officers_of_window: dict[int, set[int]] = defaultdict(set)
    windows_of_officer: dict[int, set[int]] = defaultdict(set)
    for window_id, officer_id in pairs:
        officers_of_window[window_id].add(officer_id)
        windows_of_officer[officer_id].add(window_id)
    officer_ids = set(windows_of_officer) | set(by_officer)

    online = selectors.online_seconds_by_officer(period, now=now, officer_ids=officer_ids)
    spans_of: dict[int, list] = defaultdict(list)
    for officer_id, start, end in selectors.online_spans(period, now=now, officer_ids=officer_ids):
        spans_of[officer_id].append((start, end))
    days = coverage.working_days(period)
    window_by_id = {window.id: window for window in windows}
    slots_of_window = {
        window.id: coverage.duty_slots(period, days, window.duty_start, window.duty_end, now=now) for window in windows
    }

    frt = selectors.first_response_percentiles(period, department_id=department_id)
    frt_total = frt["total"].get(0)
    transfers = selectors.transfer_counts(period, department_id=department_id)
    cases = selectors.case_counts(period, department_id=department_id, now=now)
    no_cases = {"cases_led": None, "cases_replied_in_time": None, "cases_overdue": None, "cases_returned": None}

    def window_handling(window_id: int) -> dict:
        return {
            "transfers_out": transfers["out_window"].get(window_id, 0),
            "transfers_in": transfers["in_window"].get(window_id, 0),
            "cases_escalated": cases["escalated_window"].get(window_id, 0),
        }

    window_rows = []
    for window in windows:
        members = officers_of_window[window.id]
        window_rows.append(
            Row(
                "window",
                window.id,
                window.name,
                department=window.department.name,
                window=window.name,
                figures=_finish(
                    by_window[window.id],
                    online=sum(online.get(officer_id, 0.0) for officer_id in members),
                    slots=slots_of_window[window.id],
                    spans=[span for officer_id in members for span in spans_of[officer_id]],
                    percentiles=frt["window"].get(window.id),
                    handling={**window_handling(window.id), **no_cases},
                ),
            )
        )

    department_rows = []
    total_counts: dict = defaultdict(int)
    total_members: set[int] = set()
    total_slots: list = []
    for department in departments:
        counts: dict = defaultdict(int)
        members: set[int] = set()
        slots: list = []
        handling = {"transfers_out": 0, "transfers_in": 0, "cases_escalated": 0}
        for window in windows:
            if window.department_id == department.id:
                _add(counts, by_window[window.id])
                members |= officers_of_window[window.id]
                slots += slots_of_window[window.id]
                for key, value in window_handling(window.id).items():
                    handling[key] += value
        led = {**cases["led"].get(department.id, {}), "cases_returned": cases["returned"].get(department.id, 0)}
        handling.update({key: led.get(key, 0) for key in no_cases})
        _add(total_counts, counts)
        total_members |= members
        total_slots += slots
        department_rows.append(
            Row(
                "department",
                department.id,
                department.name,
                department=department.name,
                figures=_finish(
                    counts,
                    online=sum(online.get(officer_id, 0.0) for officer_id in members),
                    slots=slots,
                    spans=[span for officer_id in members for span in spans_of[officer_id]],
                    percentiles=frt["department"].get(department.id),
                    handling=handling,
                ),
            )
        )

    users = selectors.users_by_id(officer_ids)
    officer_rows = []
    for officer_id in sorted(officer_ids, key=lambda pk: (str(users[pk]) if pk in users else "", pk)):
        own_windows = [window_by_id[pk] for pk in sorted(windows_of_officer[officer_id]) if pk in window_by_id]
        officer_rows.append(
            Row(
                "officer",
                officer_id,
                str(users.get(officer_id, officer_id)),
                department="、".join(dict.fromkeys(window.department.name for window in own_windows)),
                window="、".join(window.name for window in own_windows),
                figures=_finish(
                    by_officer[officer_id],
                    online=online.get(officer_id, 0.0),
                    slots=[slot for window in own_windows for slot in slots_of_window[window.id]],
                    spans=spans_of[officer_id],
                    percentiles=frt["officer"].get(officer_id),
                    handling={
                        "transfers_out": transfers["out_officer"].get(officer_id, 0),
                        "transfers_in": None,
                        "cases_escalated": cases["escalated_officer"].get(officer_id, 0),
                        **no_cases,
                    },
                ),
            )
        )

    total = Row(
        "total",
        0,
        "合计",
        figures=_finish(
            total_counts,
            online=sum(online.get(officer_id, 0.0) for officer_id in total_members),
            slots=total_slots,
            spans=[span for officer_id in total_members for span in spans_of[officer_id]],
            percentiles=frt_total,
            handling={
                "transfers_out": sum(transfers["out_window"].values()),
                "transfers_in": sum(transfers["in_window"].values()),
                "cases_escalated": sum(cases["escalated_officer"].values()),
                **{key: sum(led[key] for led in cases["led"].values()) for key in no_cases if key != "cases_returned"},
                "cases_returned": sum(cases["returned"].values()),
            },
        ),
    )
    report = Report(
        period=period,
        computed_at=now,
        department_id=department_id,
        departments=department_rows,
        windows=window_rows,
        officers=officer_rows,
        total=total,
        daily=selectors.daily_volume(period, department_id=department_id),
    )
    apply_scores(report, selectors.rule_weights(period.first.year))
    return report


def daily_by_department(period: Period) -> dict[int, dict[datetime.date, int]]:
    return selectors.daily_volume_by_department(period)


def _from_snapshot(period: Period, department_id: int | None, rows) -> Report:
    levels: dict[str, list[Row]] = {"department": [], "window": [], "officer": [], "total": []}
    daily: dict[datetime.date, int] = defaultdict(int)
    computed_at = None
    for stored in rows:
        data = dict(stored.figures)
        window = data.pop("_window", "")
        for day, count in data.pop("daily", {}).items():
            daily[datetime.date.fromisoformat(day)] += count
        data.pop("topics", None)
        department = stored.name if stored.level == "department" else stored.department_name
        levels[stored.level].append(Row(stored.level, stored.object_id, stored.name, department, window, data))
        computed_at = stored.computed_at
    total_counts: dict = defaultdict(int)
    for row in levels["department"]:
        _add(total_counts, row.figures)
    if levels["total"]:
        total = levels["total"][0]
    else:
        # Snapshots taken before the total was stored: rebuild what the department rows allow.
        total = Row(
            "total",
            0,
            "合计",
            figures={
                **{key: total_counts[key] for key in _SUMMED},
                "online_hours": round(sum(row["online_hours"] or 0 for row in levels["department"]), 2),
                "duty_hours": None,
                "duty_coverage": None,
                "frt_median": None,
                "frt_p90": None,
                **{key: sum(row.figures.get(key) or 0 for row in levels["department"]) for key in HANDLING_KEYS},
            },
        )
        _rates(total.figures)
    return Report(
        period,
        computed_at,
        department_id,
        levels["department"],
        levels["window"],
        levels["officer"],
        total,
        dict(sorted(daily.items())),
        from_snapshot=True,
    )


def score_of(figures: dict, weights: dict[str, int]) -> float | None:
    """Return the weighted score out of 100 over the measures that have a value; None when none has."""
    weighted = [(weight, figures.get(key)) for key, weight in weights.items() if weight]
    present = [(weight, value) for weight, value in weighted if value is not None]
    total_weight = sum(weight for weight, _ in present)
    if not total_weight:
        return None
    return round(sum(weight * value for weight, value in present) / total_weight * 100, 2)


def _rank(rows: list[Row]) -> None:
    """Rank rows by score, highest first; equal scores share a rank (1, 2, 2, 4); rows without score get None."""
    scored = sorted((row for row in rows if row.figures.get("score") is not None), key=lambda row: -row["score"])
    previous, place = None, 0
    for index, row in enumerate(scored, start=1):
        if row["score"] != previous:
            place, previous = index, row["score"]
        row.figures["rank"] = place
    for row in rows:
        row.figures.setdefault("rank", None)


def apply_scores(report: "Report", weights: dict[str, int]) -> None:
    """Give every row of the report its score, and every level its ranking."""
    for rows in (report.departments, report.windows, report.officers):
        for row in rows:
            row.figures["score"] = score_of(row.figures, weights)
            row.figures.pop("rank", None)
        _rank(rows)
    report.total.figures["score"] = score_of(report.total.figures, weights)
    report.total.figures["rank"] = None


def apply_changes(report: "Report", previous: "Report") -> None:
    """Set <measure>_change (this period minus the previous one; None when either is empty) on every row."""
    before = {
        (row.level, row.id): row.figures
        for row in [*previous.departments, *previous.windows, *previous.officers, previous.total]
    }
    for row in [*report.departments, *report.windows, *report.officers, report.total]:
        old = before.get((row.level, row.id), {})
        for key in CHANGE_KEYS:
            now_value, old_value = row.figures.get(key), old.get(key)
            change = None if now_value is None or old_value is None else round(now_value - old_value, 4)
            row.figures[f"{key}_change"] = change
    report.previous = previous


CHANGE_KEYS = [
    "score",
    "answer_rate",
    "live_rate",
    "on_time_rate",
    "satisfied_rate",
    "rated_share",
    "direct_rate",
    "one_time_rate",
    "duty_coverage",
]


def report_for(
    period: Period, *, department_id: int | None = None, now: datetime.datetime | None = None, changes: bool = True
) -> Report:
    """Return the figures of the period: a frozen month's stored snapshot when there is one, else computed.

    For a month, each row also carries the change against the previous month (环比).
    """
    report = None
    if period.is_month:
        stored = list(selectors.monthly_snapshot(period, department_id))
        if stored:
            report = _from_snapshot(period, department_id, stored)
            report.month_close = selectors.month_close(period)
            if "score" not in report.total.figures:
                apply_scores(report, selectors.rule_weights(period.first.year))
    if report is None:
        report = compute(period, department_id=department_id, now=now)
    if changes and period.is_month:
        previous = month_period(period.first - datetime.timedelta(days=1))
        apply_changes(report, report_for(previous, department_id=department_id, now=now, changes=False))
    return report
