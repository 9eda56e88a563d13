"""The admin as the information center's console: what a supervisor can open, and who cannot."""

import datetime
import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from chat import actions as chat_actions
from chat.models import Conversation
from departments.actions import set_calendar_day
from departments.calendar import is_working_day
from departments.models import CalendarDay, CalendarYear, DayKind, Window
from portal.models import User
from tests import factories

pytestmark = pytest.mark.django_db

CONSOLE_APPS = {"portal", "departments", "chat"}


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(monkeypatch):
    """The demo data plus one consultation: asked, taken, answered, transferred, the desk closed."""
    # The demo FAQ is indexed lexically here: embedding 320 entries would cost half a minute per test.
    monkeypatch.setenv("FAQ_DISABLE_EMBEDDINGS", "1")
    call_command("seed_demo", "--force", stdout=io.StringIO())  # DEBUG is off under pytest
    citizen = User.objects.get(username="13800000001")
    officer = User.objects.get(username="gongan_huji")
    household = Window.objects.get(department__name="省公安厅", name="治安户籍")
    conversation = chat_actions.open_conversation(citizen=citizen, window=household)
    chat_actions.acknowledge_statement(conversation=conversation, citizen=citizen)
    chat_actions.send_message(conversation=conversation, sender=citizen, body="大学毕业的亲戚能把户口放到我家吗？")
    chat_actions.desk_connected(officer=officer, channel_name="test.desk.1")
    conversation.refresh_from_db()
    if conversation.officer_id is None:
        chat_actions.take_conversation(officer=officer, conversation=conversation)
    chat_actions.send_message(conversation=conversation, sender=officer, body="需迁入地派出所同意后方可迁入。")
    exit_entry = Window.objects.get(department__name="省公安厅", name="出境入境")
    chat_actions.transfer_conversation(conversation=conversation, officer=officer, to_window=exit_entry, note="测试")
    chat_actions.desk_connected(officer=officer, channel_name="test.desk.2")
    chat_actions.desk_disconnected(officer=officer, channel_name="test.desk.1")
    return conversation


@pytest.fixture
def supervisor_client(client, demo):
    client.force_login(User.objects.get(username="supervisor"))
    return client


def console_models():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in CONSOLE_APPS
    ]


def test_every_model_of_the_console_apps_is_registered():
    names = {f"{model._meta.app_label}.{model.__name__}" for model, _ in console_models()}
    assert {
        "portal.User",
        "departments.Department",
        "departments.Window",
        "departments.CalendarYear",
        "departments.CalendarDay",
        "chat.Conversation",  # chat.Message: read only through the audited transcript (tests/security)
        "chat.OfficerPresence",
        "chat.DeskConnection",
        "chat.PresenceInterval",
        "chat.CannedReply",
        "chat.Transfer",
    } <= names


def test_supervisor_opens_every_changelist_and_change_form(supervisor_client):
    supervisor = User.objects.get(username="supervisor")
    assert not supervisor.is_superuser
    for model, _model_admin in console_models():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = supervisor_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, f"changelist of {model.__name__}"
        obj = model.objects.first()
        assert obj is not None, f"the demo has no {model.__name__} to open"
        change = supervisor_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert change.status_code == 200, f"change form of {model.__name__}"
        search = supervisor_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "省公安厅"})
        assert search.status_code == 200, f"search of {model.__name__}"
    for url in ("admin:departments_department_import", "admin:departments_window_import", "admin:index"):
        assert supervisor_client.get(reverse(url)).status_code == 200


@pytest.mark.parametrize("username", ["13800000001", "gongan_huji"])
def test_citizens_and_officers_are_sent_to_the_admin_login(client, demo, username):
    client.force_login(User.objects.get(username=username))
    for url in ("admin:index", "admin:departments_department_changelist", "admin:chat_conversation_changelist"):
        response = client.get(reverse(url))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_user_list_masks_citizens_mobile_numbers(supervisor_client):
    page = supervisor_client.get(reverse("admin:portal_user_changelist"), {"role__exact": "citizen"}).content.decode()
    assert "138****0001" in page
    assert "13800000001" not in page


def test_supervisor_cannot_take_over_a_superuser_or_promote_anyone(supervisor_client):
    admin_user = User.objects.get(username="admin")
    response = supervisor_client.post(
        reverse("admin:auth_user_password_change", args=[admin_user.pk]),
        {"password1": "Taken-over-2026", "password2": "Taken-over-2026", "usable_password": "true"},
    )
    assert response.status_code == 403
    officer = User.objects.get(username="gongan_huji")
    form = supervisor_client.get(reverse("admin:portal_user_change", args=[officer.pk])).context["adminform"].form
    assert "is_superuser" not in form.fields and "groups" not in form.fields


def test_transcripts_are_read_only(supervisor_client, demo):
    assert supervisor_client.get(reverse("admin:chat_conversation_add")).status_code == 403
    page = supervisor_client.get(reverse("admin:chat_conversation_change", args=[demo.pk])).content.decode()
    # The text is read through the audited transcript in 督查考核 only (tests/security/test_audit.py).
    assert "大学毕业的亲戚能把户口放到我家吗？" not in page
    assert "需迁入地派出所同意后方可迁入。" not in page
    response = supervisor_client.post(reverse("admin:chat_conversation_delete", args=[demo.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Conversation.objects.filter(pk=demo.pk).exists()


def test_calendar_lists_warn_when_this_years_schedule_is_missing(client):
    supervisor = factories.supervisor()
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    client.force_login(supervisor)
    year = timezone.localdate().year
    warning = f"尚未录入 {year} 年的节假日安排，该年按周一至周五计算工作日"
    for url in ("admin:departments_calendarday_changelist", "admin:departments_calendaryear_changelist"):
        assert warning in client.get(reverse(url)).content.decode()

    for known in (year, year + 1):
        set_calendar_day(date=datetime.date(known, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert "尚未录入" not in client.get(reverse("admin:departments_calendarday_changelist")).content.decode()


def test_saving_a_day_in_the_admin_marks_its_year_known(supervisor_client):
    response = supervisor_client.post(
        reverse("admin:departments_calendarday_add"), {"date": "2031-10-01", "kind": DayKind.HOLIDAY, "name": "国庆节"}
    )
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2031).source == "管理员录入"
    assert not is_working_day(datetime.date(2031, 10, 1))


def test_reload_action_restores_the_package_schedule_of_the_selected_year_only(supervisor_client):
    set_calendar_day(date=datetime.date(2026, 10, 1), kind=DayKind.MAKEUP_WORKDAY, name="改错了")
    set_calendar_day(date=datetime.date(2025, 10, 1), kind=DayKind.MAKEUP_WORKDAY, name="别的年份的修改")
    set_calendar_day(date=datetime.date(2031, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")
    selected = CalendarYear.objects.filter(year__in=[2026, 2031]).values_list("pk", flat=True)

    response = supervisor_client.post(
        reverse("admin:departments_calendaryear_changelist"),
        {"action": "reload_from_package", "_selected_action": list(selected)},
        follow=True,
    )

    page = response.content.decode()
    assert "已重新载入 2026 年" in page
    assert "不包含 2031 年" in page
    assert CalendarDay.objects.get(date=datetime.date(2026, 10, 1)).kind == DayKind.HOLIDAY
    assert CalendarDay.objects.get(date=datetime.date(2025, 10, 1)).name == "别的年份的修改"
    assert CalendarDay.objects.get(date=datetime.date(2031, 10, 1)).name == "国庆节"


def test_officer_picker_of_a_window_offers_officers_only(supervisor_client):
    url = reverse("admin:autocomplete")
    params = {"app_label": "departments", "model_name": "window", "field_name": "officers"}
    found = supervisor_client.get(url, {**params, "term": "gongan"}).json()["results"]
    assert {"值班员 李红梅", "值班员 徐志强"} <= {result["text"] for result in found}
    assert supervisor_client.get(url, {**params, "term": "13800000001"}).json()["results"] == []
    assert supervisor_client.get(url, {**params, "term": "supervisor"}).json()["results"] == []


def test_transcript_page_shows_every_field_of_a_conversation():
    """The conversation page lists its fields by hand; a field added later must not vanish from it."""
    from django.contrib.admin.utils import flatten_fieldsets

    shown = set(flatten_fieldsets(admin.site._registry[Conversation].fieldsets))
    editable = {field.name for field in Conversation._meta.concrete_fields if field.editable and not field.primary_key}
    # The citizen is shown masked (citizen_masked); the rating comment is the citizen's text, read only
    # through the audited transcript.
    assert editable - shown == {"citizen", "rating_comment"}


def test_supervisor_adds_an_officer_and_a_colleague_in_the_admin(supervisor_client):
    add = reverse("admin:portal_user_add")
    for username, role in (("gongan_new", "officer"), ("center_new", "supervisor")):
        response = supervisor_client.post(
            add,
            {
                "username": username,
                "role": role,
                "display_name": "新同事",
                "phone": "",
                "usable_password": "true",
                "password1": "Zwt-new-2026!",
                "password2": "Zwt-new-2026!",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
    officer = User.objects.get(username="gongan_new")
    assert (officer.role, officer.is_staff) == ("officer", False)
    colleague = User.objects.get(username="center_new")
    assert colleague.is_staff and not colleague.is_superuser
    assert colleague.has_perm("departments.change_window")
