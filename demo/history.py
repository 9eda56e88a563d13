"""Generated history for demos and benchmarks: a month of the 2005 pilot, or N times it.

One scale unit is the pilot's first month: about 4,100 registered citizens and 14,000 records (messages)
in 30 days, busiest at 劳动保障厅, 公安厅 and 人事厅. Departments, windows and officers are the ones
already in the database (seed_demo's); the generator adds citizens, officers' online intervals,
conversations and messages.

Running it again replaces the generated history of the same days: generated citizens (username prefix
``hist``) are reused, their conversations deleted, and the officers' closed online intervals in the
range removed before new ones are written. Rows are written in large batches with explicit ids and raw
``executemany`` (measured about 3x faster than bulk_create on SQLite, and bulk_create would overwrite the
auto_now_add timestamps anyway); these are the same rows the chat actions write, without the events.
"""

import bisect
import datetime
import math
import random
import sys
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from cases.actions import due_working_days
from cases.models import Case, CaseStatus, TargetKind
from cases.numbers import hash_query_code, new_query_code
from chat.models import Classification, Conversation, Message, PresenceInterval, SenderKind, Status, Transfer
from departments.calendar import due_moment, is_working_day
from departments.models import Window
from infra.errors import DomainError
from infra.roles import Role

from . import history_data as data

CITIZEN_PREFIX = "hist"
CITIZEN_PHONE_PREFIX = "170"
CITIZENS_PER_UNIT = 4100
MESSAGES_PER_UNIT_PER_30_DAYS = 14000
BATCH = 20000
# Measured over generated conversations; used to size the month before generating it.
MESSAGES_PER_CONVERSATION = 5.6
CLASS_WEIGHTS = [
    (Classification.VALID, 80),
    (Classification.GREETING, 9),
    (Classification.UNRELATED, 6),
    (Classification.UNCLEAR, 5),
]
RATING_WEIGHTS = [(5, 55), (4, 25), (3, 10), (2, 6), (1, 4)]
# Shares of answered valid conversations handed to another window, or escalated as a case (转办件).
TRANSFER_SHARE = 0.04
CASE_SHARE = 0.015
CASE_TARGETS = [(TargetKind.DEPARTMENT, 70), (TargetKind.DIRECTOR_MAILBOX, 20), (TargetKind.GOVERNOR_MAILBOX, 10)]
# Generated tracking numbers use the top of each day's range, far from the live counter.
CASE_NUMBER_START = 900001


class HistoryError(DomainError):
    """Generation refused; the message is shown to the user as it is."""


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


class _Rows:
    """Insert rows of one model with raw executemany: given columns first, the model's defaults for the rest."""

    def __init__(self, model, columns: list[str]):
        self.model = model
        fields = {field.column: field for field in model._meta.concrete_fields}
        blank = model()
        # An id not given is left to the database (autoincrement, identity).
        rest = [column for column in fields if column not in columns and not fields[column].primary_key]
        self.defaults = tuple(
            fields[column].get_db_prep_save(getattr(blank, fields[column].attname), connection) for column in rest
        )
        quote = connection.ops.quote_name
        names = ", ".join(quote(column) for column in [*columns, *rest])
        marks = ", ".join(["%s"] * (len(columns) + len(rest)))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"
        self.pending: list[tuple] = []
        self.count = 0

    def add(self, values: tuple) -> None:
        self.pending.append(values + self.defaults)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, self.pending)
            self.count += len(self.pending)
            self.pending = []


def _datetime_adapter():
    """Return a function from epoch seconds to what the database driver takes for a DateTimeField."""
    utc = datetime.UTC
    if connection.vendor == "sqlite":
        sample = datetime.datetime(2026, 10, 1, 1, 2, 3, 456789, tzinfo=utc)
        fast = str(sample.replace(tzinfo=None))
        # Django stores aware datetimes on SQLite as naive UTC text; check the shortcut still matches.
        assert connection.ops.adapt_datetimefield_value(sample) == fast

        def adapt(seconds):
            return None if seconds is None else str(datetime.datetime.fromtimestamp(seconds, utc).replace(tzinfo=None))
    else:

        def adapt(seconds):
            return None if seconds is None else datetime.datetime.fromtimestamp(seconds, utc)

    return adapt


def _local(day: datetime.date, hour: float) -> float:
    """Return epoch seconds of the local time `hour` (may exceed 24) on the day."""
    midnight = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return midnight.timestamp() + hour * 3600


def _hours(moment: datetime.time) -> float:
    return moment.hour + moment.minute / 60


def _presence_for(rng, day: datetime.date, working: bool, duty_start: float, duty_end: float) -> list[tuple]:
    """Return one officer's (status, start, end) intervals of a day; some run past midnight."""
    if not working:
        if rng.random() < 0.08:
            start = rng.uniform(9, 10)
            return [("online", _local(day, start), _local(day, start + rng.uniform(1, 2.5)))]
        return []
    if rng.random() < 0.07:  # on leave
        return []
    spans = []
    morning_start = duty_start + rng.uniform(-0.25, 0.35)
    lunch = rng.uniform(11.5, 12.05)
    spans.append(("online", _local(day, morning_start), _local(day, lunch)))
    afternoon = rng.uniform(13.4, 14.1)
    leave = duty_end + rng.uniform(-0.3, 0.25)
    if rng.random() < 0.03:  # desk left open overnight: the interval crosses midnight
        leave = rng.uniform(24.3, 26)
    if rng.random() < 0.2:
        busy_start = rng.uniform(afternoon + 0.3, max(afternoon + 0.4, min(leave, duty_end) - 1))
        busy_end = busy_start + rng.uniform(0.2, 0.6)
        spans += [
            ("online", _local(day, afternoon), _local(day, busy_start)),
            ("busy", _local(day, busy_start), _local(day, busy_end)),
            ("online", _local(day, busy_end), _local(day, leave)),
        ]
    else:
        spans.append(("online", _local(day, afternoon), _local(day, leave)))
    return [span for span in spans if span[2] > span[1]]


def _question_hour(rng, working: bool) -> float:
    if rng.random() < (0.76 if working else 0.45):
        return rng.choice(
            [
                rng.uniform(8.5, 12),
                rng.uniform(8.5, 12),
                rng.uniform(13.5, 17),
                rng.uniform(13.5, 17),
                rng.uniform(12, 13.5),
            ]
        )
    return rng.choice([rng.uniform(17, 23.5), rng.uniform(19, 23), rng.uniform(6.5, 8.5), rng.uniform(0, 1)])


def _ensure_citizens(count: int, first_day: datetime.date, stdout) -> list[int]:
    """Return ids of `count` generated citizens, creating the missing ones in batches."""
    User = get_user_model()
    existing = list(
        User.objects.filter(username__startswith=CITIZEN_PREFIX).order_by("id").values_list("id", flat=True)
    )
    missing = count - len(existing)
    if missing > 0:
        taken = set(
            User.objects.filter(phone__startswith=CITIZEN_PHONE_PREFIX)
            .exclude(username__startswith=CITIZEN_PREFIX)
            .values_list("phone", flat=True)
        )
        password = make_password(None)
        joined = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time(9)))
        start = len(existing) + 1
        users = []
        for number in range(start, start + missing):
            phone = f"{CITIZEN_PHONE_PREFIX}{number:08d}"
            users.append(
                User(
                    username=f"{CITIZEN_PREFIX}{number:07d}",
                    phone=None if phone in taken else phone,
                    role=Role.CITIZEN,
                    password=password,
                    date_joined=joined,
                )
            )
        for index in tqdm(range(0, len(users), 5000), desc="市民", file=sys.stderr, disable=None):
            User.objects.bulk_create(users[index : index + 5000], batch_size=5000)
        existing = list(
            User.objects.filter(username__startswith=CITIZEN_PREFIX).order_by("id").values_list("id", flat=True)
        )
    return existing[:count]


def _delete_previous(officer_ids: list[int], start: datetime.datetime, stop: datetime.datetime) -> int:
    Case.objects.filter(citizen__username__startswith=CITIZEN_PREFIX).delete()
    generated = Conversation.objects.filter(citizen__username__startswith=CITIZEN_PREFIX)
    Message.objects.filter(conversation__in=generated).delete()
    count, _ = generated.delete()
    PresenceInterval.objects.filter(
        officer_id__in=officer_ids, started_at__gte=start, started_at__lt=stop, ended_at__isnull=False
    ).delete()
    return count


def _reset_sequences(models) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def generate_history(
    *, days: int, scale: int = 1, stdout=None, end: datetime.date | None = None, seed: int = 2005
) -> dict:
    """Generate `days` days of history ending with `end` (default yesterday) at `scale` times the pilot.

    Return counts of what was written.
    """
    if not isinstance(days, int) or days < 1:
        raise HistoryError("历史天数应为正整数。")
    if not isinstance(scale, int) or scale < 1:
        raise HistoryError("规模倍数应为正整数。")
    windows = list(
        Window.objects.filter(is_active=True, department__is_active=True)
        .select_related("department")
        .prefetch_related("officers")
    )
    windows = [window for window in windows if window.officers.all()]
    if not windows:
        raise HistoryError("没有配备值班人员的窗口：请先运行 python manage.py seed_demo。")
    rng = random.Random(seed)
    last = end or timezone.localdate() - datetime.timedelta(days=1)
    first = last - datetime.timedelta(days=days - 1)
    all_days = [first + datetime.timedelta(days=n) for n in range(days)]
    start, stop = _local(first, 0), _local(last, 24)
    now = timezone.now().timestamp()

    def say(text):
        if stdout is not None:
            stdout.write(text)

    officers = sorted({officer.id for window in windows for officer in window.officers.all()})
    officer_names = {officer.id: str(officer) for window in windows for officer in window.officers.all()}
    working = {day: is_working_day(day) for day in all_days}
    due_of = {day: due_moment(_aware(_local(day, 12))).timestamp() for day in all_days}
    adapt = _datetime_adapter()

    with transaction.atomic():
        deleted = _delete_previous(officers, _aware(start), _aware(stop))
        if deleted:
            say(f"已删除上次生成的会话 {deleted} 个")
        citizens = _ensure_citizens(CITIZENS_PER_UNIT * scale, first, stdout)

        # Officers' online intervals, per day, per officer.
        spans_of: dict[int, list[tuple[float, float]]] = defaultdict(list)
        presence = _Rows(PresenceInterval, ["officer_id", "status", "started_at", "ended_at"])
        duty_of_officer = {}
        for window in windows:
            for officer in window.officers.all():
                duty_of_officer.setdefault(officer.id, (_hours(window.duty_start), _hours(window.duty_end)))
        for day in all_days:
            for officer_id in officers:
                duty_start, duty_end = duty_of_officer[officer_id]
                for status, begin, finish in _presence_for(rng, day, working[day], duty_start, duty_end):
                    if finish > now:
                        continue
                    presence.add((officer_id, status, adapt(begin), adapt(finish)))
                    spans_of[officer_id].append((begin, finish))
        presence.flush()
        starts_of = {officer_id: [span[0] for span in spans] for officer_id, spans in spans_of.items()}

        def online_officer(window, moment):
            candidates = []
            for officer in window.officers.all():
                spans = spans_of.get(officer.id, [])
                index = bisect.bisect_right(starts_of.get(officer.id, []), moment) - 1
                if index >= 0 and spans[index][1] > moment:
                    candidates.append(officer.id)
            return rng.choice(candidates) if candidates else None

        # Conversations: sized to the pilot's records, spread over days and departments.
        target_messages = MESSAGES_PER_UNIT_PER_30_DAYS * scale * days / 30
        day_weight = {day: 1.0 if working[day] else 0.35 for day in all_days}
        total_weight = sum(day_weight.values())
        weights = [
            data.DEPARTMENT_WEIGHTS.get(w.department.display_name, data.DEFAULT_WEIGHT)
            / sum(1 for x in windows if x.department_id == w.department_id)
            for w in windows
        ]
        conversation_id = (Conversation.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        conversations = _Rows(
            Conversation,
            [
                "id",
                "citizen_id",
                "window_id",
                "officer_id",
                "status",
                "classification",
                "created_at",
                "queued_at",
                "statement_acknowledged_at",
                "first_question_at",
                "assigned_at",
                "first_response_at",
                "answered_live",
                "is_offline_question",
                "due_at",
                "closed_at",
                "closed_by_id",
                "last_seq",
                "last_message_at",
                "citizen_read_seq",
                "officer_read_seq",
                "rating",
                "rating_comment",
                "rated_at",
            ],
        )
        messages = _Rows(Message, ["conversation_id", "seq", "sender_id", "sender_kind", "body", "created_at"])
        handovers = _Handovers(rng, windows, now, adapt)
        expected = target_messages / MESSAGES_PER_CONVERSATION
        progress = tqdm(total=round(target_messages), desc="消息", unit="条", file=sys.stderr, disable=None)
        for day in all_days:
            count = _poisson(rng, expected * day_weight[day] / total_weight)
            chosen_windows = rng.choices(windows, weights, k=count)
            for window in chosen_windows:
                asked = _local(day, _question_hour(rng, working[day])) + rng.uniform(0, 59)
                if asked > now - 60:
                    continue
                written = _conversation(
                    rng,
                    conversation_id,
                    window,
                    asked,
                    citizens,
                    online_officer,
                    due_of[day],
                    now,
                    officer_names,
                    conversations,
                    messages,
                    adapt,
                    handovers,
                )
                conversation_id += 1
                progress.update(written)
        conversations.flush()
        messages.flush()
        handovers.flush()
        progress.close()
        _reset_sequences([Conversation, Message, PresenceInterval, Transfer, Case])
    result = {
        "days": days,
        "scale": scale,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "citizens": len(citizens),
        "conversations": conversations.count,
        "messages": messages.count,
        "presence_intervals": presence.count,
        "transfers": handovers.transfers.count,
        "cases": handovers.cases.count,
    }
    say(
        f"历史数据 {first} 至 {last}（{scale} 倍试点规模）：市民 {len(citizens)} 名，会话 {conversations.count} 个，"
        f"消息 {messages.count} 条，在线时段 {presence.count} 段"
    )
    return result


def _aware(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def _poisson(rng, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _conversation(
    rng, pk, window, asked, citizens, online_officer, due, now, names, conversations, messages, adapt, handovers
) -> int:
    """Write one conversation and its messages; return the number of messages."""
    short = window.department.display_name
    classification = _weighted(rng, CLASS_WEIGHTS)
    exempt = classification != Classification.VALID
    question = {
        Classification.VALID: lambda: rng.choice(data.QUESTIONS.get(short, data.GENERIC_QUESTIONS)),
        Classification.GREETING: lambda: rng.choice(data.GREETINGS),
        Classification.UNRELATED: lambda: rng.choice(data.UNRELATED),
        Classification.UNCLEAR: lambda: rng.choice(data.UNCLEAR),
    }[classification]().replace("{n}", str(rng.randint(2, 8)))
    # A tenth of citizens ask most questions.
    citizen = citizens[int(len(citizens) * (rng.random() ** 2.2))]
    officer = online_officer(window, asked)
    offline = officer is None
    rows = []  # (seq, sender_id, kind, body, at)

    def add(sender, kind, body, at):
        rows.append((len(rows) + 1, sender, kind, body, at))

    add(citizen, SenderKind.CITIZEN, question, asked)
    assigned = first_response = closed = rated_at = None
    rating, comment, status, due_at, answered_live = None, "", Status.CLOSED, None, False
    if offline:
        due_at = due
        add(
            None,
            SenderKind.SYSTEM,
            "当前没有值班人员在线。您的问题已作为留言记录，我们将在下一个工作日内答复。",
            asked + 1,
        )
        roll = rng.random()
        if exempt and rng.random() < 0.6:
            answer_at = None
            closed = due - rng.uniform(3600 * 6, 3600 * 14)
        elif roll < 0.86:
            answer_at = due - rng.uniform(3600 * 7, 3600 * 14.5)  # the next working morning
        elif roll < 0.95:
            answer_at = due + rng.uniform(3600 * 10, 3600 * 60)  # late
        else:
            answer_at = None
        answer_at = max(answer_at, asked + 600) if answer_at else None
        if answer_at and answer_at < now:
            officer = rng.choice([o.id for o in window.officers.all()])
            assigned = answer_at - rng.uniform(30, 300)
            add(None, SenderKind.SYSTEM, f"值班人员 {names[officer]} 已接入，为您服务。", assigned)
            first_response = answer_at
            add(officer, SenderKind.OFFICER, _answer(rng, short, exempt), answer_at)
            closed = answer_at + rng.uniform(60, 3600)
        elif closed is not None and closed < now:
            officer = rng.choice([o.id for o in window.officers.all()])
        else:
            status, closed = Status.OFFLINE, None
    else:
        add(None, SenderKind.SYSTEM, "您的问题已送达，正在为您安排值班人员，请稍候。", asked + 1)
        assigned = asked + min(rng.expovariate(1 / 35), 900) + 2
        add(None, SenderKind.SYSTEM, f"值班人员 {names[officer]} 已接入，为您服务。", assigned)
        if exempt and rng.random() < 0.45 or not exempt and rng.random() < 0.02:
            closed = assigned + rng.uniform(60, 600)  # left unanswered: exempt, or the citizen gave up
        else:
            first_response = assigned + min(rng.expovariate(1 / 45), 1200) + 6
            answered_live = True
            add(officer, SenderKind.OFFICER, _answer(rng, short, exempt), first_response)
            closed = first_response + rng.uniform(30, 300)
    last_at = rows[-1][4]
    if first_response and not exempt:
        if rng.random() < 0.35:
            follow = last_at + rng.uniform(20, 120)
            add(citizen, SenderKind.CITIZEN, rng.choice(data.FOLLOW_UPS), follow)
            add(officer, SenderKind.OFFICER, rng.choice(data.FOLLOW_UP_ANSWERS), follow + rng.uniform(15, 150))
        if rng.random() < 0.3:
            add(citizen, SenderKind.CITIZEN, rng.choice(data.THANKS), rows[-1][4] + rng.uniform(5, 60))
        closed = max(closed, rows[-1][4] + rng.uniform(30, 300))
    if closed is not None and closed >= now:
        status, closed = (Status.ACTIVE if officer else Status.OFFLINE), None
    if status == Status.CLOSED:
        add(None, SenderKind.SYSTEM, "值班人员已结束本次咨询。感谢您的咨询，欢迎对本次服务进行评价。", closed)
        if first_response and rng.random() < 0.45:
            rating = _weighted(rng, RATING_WEIGHTS)
            rated_at = min(closed + rng.uniform(5, 600), now - 1)
            comment = rng.choice(data.RATING_COMMENTS) if rng.random() < 0.15 else ""
    created = asked - rng.uniform(5, 90)
    last_seq = len(rows)
    conversations.add(
        (
            pk,
            citizen,
            window.id,
            officer,
            status,
            classification,
            adapt(created),
            adapt(asked),
            adapt(created + 3),
            adapt(asked),
            adapt(assigned),
            adapt(first_response),
            answered_live,
            offline,
            adapt(due_at),
            adapt(closed),
            officer if status == Status.CLOSED else None,
            last_seq,
            adapt(rows[-1][4]),
            last_seq,
            last_seq,
            rating,
            comment,
            adapt(rated_at),
        )
    )
    for seq, sender, kind, body, at in rows:
        messages.add((pk, seq, sender, kind, body, adapt(at)))
    if first_response and not exempt:
        handovers.maybe(pk, window, officer, citizen, question, asked, first_response)
    return last_seq


def _answer(rng, short: str, exempt: bool) -> str:
    if exempt:
        return data.EXEMPT_REPLY
    return rng.choice(data.ANSWERS.get(short, []) + data.GENERIC_ANSWERS)


class _Handovers:
    """Window transfers (转办) and cases (转办件) for a few answered valid conversations."""

    def __init__(self, rng, windows, now: float, adapt):
        self.rng, self.now, self.adapt = rng, now, adapt
        self.peers = defaultdict(list)
        for window in windows:
            self.peers[window.department_id].append(window)
        self.transfers = _Rows(
            Transfer, ["conversation_id", "from_window_id", "to_window_id", "by_id", "note", "created_at"]
        )
        self.cases = _Rows(
            Case,
            [
                "tracking_number",
                "query_code_hash",
                "target_kind",
                "target_department_id",
                "lead_unit_id",
                "source_conversation_id",
                "citizen_id",
                "question",
                "escalated_by_id",
                "status",
                "reply",
                "replied_by_id",
                "due_at",
                "created_at",
                "accepted_at",
                "replied_at",
                "closed_at",
            ],
        )
        self.numbers: dict[datetime.date, int] = defaultdict(lambda: CASE_NUMBER_START)
        self.due: dict[tuple, float] = {}

    def maybe(self, pk, window, officer, citizen, question, asked, answered) -> None:
        roll = self.rng.random()
        if roll < TRANSFER_SHARE:
            others = [w for w in self.peers[window.department_id] if w.id != window.id and w.officers.all()]
            if others:
                source = self.rng.choice(others)
                by = self.rng.choice(source.officers.all()).id
                self.transfers.add((pk, source.id, window.id, by, "属于对方窗口职责", self.adapt(asked + 20)))
        elif roll < TRANSFER_SHARE + CASE_SHARE:
            self._case(pk, window, officer, citizen, question, answered + 60)

    def _case(self, pk, window, officer, citizen, question, created) -> None:
        kind = _weighted(self.rng, CASE_TARGETS)
        day = timezone.localtime(_aware(created)).date()
        key = (day, kind)
        if key not in self.due:
            self.due[key] = due_moment(_aware(created), working_days=due_working_days(kind)).timestamp()
        due = self.due[key]
        number = f"ZWT{day:%Y%m%d}-{self.numbers[day]:06d}"
        self.numbers[day] += 1
        lead = window.department_id
        target = None if kind == TargetKind.GOVERNOR_MAILBOX else lead
        roll = self.rng.random()
        replied = None
        if roll < 0.82:
            replied = created + self.rng.uniform(0.2, 0.9) * (due - created)
        elif roll < 0.92:
            replied = due + self.rng.uniform(3600 * 12, 3600 * 96)
        if replied and replied > self.now:
            replied = None
        status = CaseStatus.REPLIED if replied else CaseStatus.PROCESSING
        self.cases.add(
            (
                number,
                hash_query_code(number, new_query_code()),
                kind,
                target,
                lead,
                pk,
                citizen,
                question,
                officer,
                status,
                "经核查，已按规定办理，详见答复。" if replied else "",
                officer if replied else None,
                self.adapt(due),
                self.adapt(created),
                self.adapt(created + 3600),
                self.adapt(replied),
                None,
            )
        )

    def flush(self) -> None:
        self.transfers.flush()
        self.cases.flush()
