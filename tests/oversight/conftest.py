"""Fixtures for oversight tests: a small province with hand-placed conversations and online time."""

import datetime
import itertools

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from chat.models import Classification, Conversation, PresenceInterval, Status
from departments.models import CalendarDay, CalendarYear, DayKind, Department, Window
from portal.models import Role, User

_numbers = itertools.count(1)


def at(text: str) -> datetime.datetime:
    """Return the aware datetime of a local (Asia/Shanghai) "YYYY-MM-DD HH:MM[:SS]"."""
    return timezone.make_aware(datetime.datetime.fromisoformat(text))


def make_user(role: str, **extra) -> User:
    number = next(_numbers)
    if role == Role.CITIZEN:
        phone = f"138{number:08d}"
        extra.setdefault("phone", phone)
        username = phone
    else:
        username = f"{role}{number}"
    # No password: tests sign in with force_login, and hashing would only slow them down.
    return User.objects.create_user(username=username, password=None, role=role, **extra)


def make_conversation(
    window,
    *,
    officer=None,
    citizen=None,
    question_at=None,
    response_at=None,
    live=None,
    offline=False,
    due_at=None,
    classification=Classification.VALID,
    rating=None,
    closed_at=None,
    status=None,
) -> Conversation:
    """Create a conversation with the given history; created_at and the other stamps are set as given."""
    citizen = citizen or make_user(Role.CITIZEN)
    question_at = at(question_at) if isinstance(question_at, str) else question_at
    response_at = at(response_at) if isinstance(response_at, str) else response_at
    due_at = at(due_at) if isinstance(due_at, str) else due_at
    closed_at = at(closed_at) if isinstance(closed_at, str) else closed_at
    if status is None:
        status = Status.CLOSED if closed_at or rating else (Status.ACTIVE if officer else Status.OFFLINE)
    conversation = Conversation.objects.create(
        citizen=citizen,
        window=window,
        officer=officer,
        queued_at=question_at or timezone.now(),
        status=status,
        classification=classification,
        first_question_at=question_at,
        assigned_at=response_at,
        first_response_at=response_at,
        answered_live=bool(live if live is not None else (response_at and not offline)),
        is_offline_question=offline,
        due_at=due_at,
        rating=rating,
        closed_at=closed_at,
    )
    if question_at:
        Conversation.objects.filter(pk=conversation.pk).update(created_at=question_at)
    return conversation


def online(officer, start: str, end: str | None, status: str = "online") -> PresenceInterval:
    return PresenceInterval.objects.create(
        officer=officer, status=status, started_at=at(start), ended_at=at(end) if end else None
    )


@pytest.fixture
def calendar_2026(db):
    """October 2026 with 1-2 October as holidays and Sunday 11 October as a make-up working day."""
    CalendarYear.objects.create(year=2026, source="test")
    CalendarDay.objects.create(date=datetime.date(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")
    CalendarDay.objects.create(date=datetime.date(2026, 10, 2), kind=DayKind.HOLIDAY, name="国庆节")
    CalendarDay.objects.create(date=datetime.date(2026, 10, 11), kind=DayKind.MAKEUP_WORKDAY, name="国庆节调休")


@pytest.fixture
def province(db, calendar_2026):
    """Two departments: 劳动保障厅 with windows 社会保险 (officers A, B) and 就业 (09:00-12:00, D, never online),
    and 公安厅 with 治安户籍 (C)."""
    labour = Department.objects.create(name="省劳动保障厅", short_name="劳动保障厅", ordering=1)
    police = Department.objects.create(name="省公安厅", short_name="公安厅", ordering=2)
    insurance = Window.objects.create(department=labour, name="社会保险", duty_statement="养老、医疗保险咨询")
    jobs = Window.objects.create(
        department=labour,
        name="就业",
        duty_statement="就业咨询",
        duty_start=datetime.time(9, 0),
        duty_end=datetime.time(12, 0),
    )
    household = Window.objects.create(department=police, name="治安户籍", duty_statement="户籍咨询")
    a = make_user(Role.OFFICER, display_name="值班员 张丘")
    b = make_user(Role.OFFICER, display_name="值班员 李敏")
    c = make_user(Role.OFFICER, display_name="值班员 王军")
    d = make_user(Role.OFFICER, display_name="值班员 赵丽")
    insurance.officers.add(a, b)
    jobs.officers.add(d)
    household.officers.add(c)
    return {
        "labour": labour,
        "police": police,
        "insurance": insurance,
        "jobs": jobs,
        "household": household,
        "a": a,
        "b": b,
        "c": c,
        "d": d,
    }


@pytest.fixture
def october(province):
    """The hand-computed October of docs/assessment.md's worked example (see test_figures.py)."""
    p = province
    a, b, c, w = p["a"], p["b"], p["c"], p["insurance"]
    # Online time of A: 19 h in October, 5.5 h of it inside duty hours.
    online(a, "2026-10-12 08:00", "2026-10-12 12:00")
    online(a, "2026-10-12 13:00", "2026-10-12 14:00", "busy")
    online(a, "2026-10-12 14:00", "2026-10-12 15:00", "away")
    online(a, "2026-10-13 16:00", "2026-10-14 01:00")  # across midnight
    online(a, "2026-10-31 22:00", "2026-11-01 02:00")  # across the month end
    online(a, "2026-10-01 09:00", "2026-10-01 11:00")  # on a holiday
    online(a, "2026-09-30 23:00", "2026-10-01 01:00")  # from the previous month
    online(b, "2026-10-12 10:00", "2026-10-12 11:00")
    online(c, "2026-10-20 09:00", "2026-10-20 10:00")
    convs = {
        "c1": make_conversation(
            w, officer=a, question_at="2026-10-12 09:00:00", response_at="2026-10-12 09:00:30", rating=5
        ),
        "c2": make_conversation(
            w, officer=a, question_at="2026-10-12 09:10:00", response_at="2026-10-12 09:11:30", rating=4
        ),
        "c3": make_conversation(
            w, officer=b, question_at="2026-10-12 10:05:00", response_at="2026-10-12 10:05:10", rating=2
        ),
        "c4": make_conversation(
            w,
            officer=a,
            question_at="2026-10-09 20:00",
            response_at="2026-10-12 09:00",
            offline=True,
            due_at="2026-10-11 23:59:59",
        ),
        "c5": make_conversation(
            w,
            officer=a,
            question_at="2026-10-13 19:00",
            response_at="2026-10-14 10:00",
            offline=True,
            due_at="2026-10-14 23:59:59",
        ),
        "c6": make_conversation(w, question_at="2026-10-30 20:00", offline=True, due_at="2026-11-02 23:59:59"),
        "c7": make_conversation(
            w,
            officer=a,
            question_at="2026-10-12 11:00",
            classification=Classification.GREETING,
            closed_at="2026-10-12 11:05",
        ),
        "c8": make_conversation(
            w,
            officer=b,
            question_at="2026-10-12 10:30:00",
            response_at="2026-10-12 10:30:05",
            classification=Classification.UNRELATED,
        ),
        "c9": make_conversation(
            w,
            officer=a,
            question_at="2026-10-16 20:00",
            offline=True,
            due_at="2026-10-19 23:59:59",
            classification=Classification.UNCLEAR,
            closed_at="2026-10-19 09:00",
        ),
        "c10": make_conversation(w, officer=a, question_at="2026-10-12 11:30", classification=""),
        "c11": make_conversation(w, officer=a),  # opened, never asked: not counted
        "c12": make_conversation(w, officer=b, question_at="2026-10-31 23:30:00", response_at="2026-10-31 23:30:20"),
        "c_sep": make_conversation(w, officer=b, question_at="2026-09-30 23:59:00", response_at="2026-09-30 23:59:10"),
        "c_nov": make_conversation(w, officer=b, question_at="2026-11-01 00:00:00", response_at="2026-11-01 00:00:09"),
        "c13": make_conversation(
            p["household"], officer=c, question_at="2026-10-20 10:00:00", response_at="2026-10-20 10:01:00", rating=3
        ),
    }
    Conversation.objects.filter(pk=convs["c11"].pk).update(first_question_at=None, created_at=at("2026-10-12 12:00"))
    return {**p, **convs}


NOW = "2026-11-05 10:00"


@pytest.fixture
def supervisor(db):
    user = make_user(Role.SUPERVISOR, is_staff=True, display_name="信息中心 陈立三")
    codenames = ["view_assessment", "view_transcript", "view_auditlog", "view_monthlyfigure"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="oversight", codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff_officer(province):
    officer = province["a"]
    officer.is_staff = True
    officer.save(update_fields=["is_staff"])
    return officer
