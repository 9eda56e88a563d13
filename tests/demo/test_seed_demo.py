"""`seed_demo` and `demo_logins`: the demo data a new user sees after `make run`."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from chat.models import CannedReply
from demo import demo_data
from departments.models import CalendarDay, CalendarYear, Department, Level, Window
from faq import selectors as faq_selectors
from faq.models import Entry
from portal.models import Role, User

pytestmark = pytest.mark.django_db
# seed_demo writes the same rows on every engine: test_running_twice_gives_the_same_rows runs it on
# PostgreSQL too (the production engine); the others check the content, on SQLite only.

POLICE_WINDOWS = ["监督投诉", "治安户籍", "出境入境", "交通车管", "法律相关", "省公安厅"]


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = io.StringIO()
    # --force: pytest-django runs with DEBUG off, where seed_demo refuses without it (tests/security).
    call_command("seed_demo", "--force", *args, stdout=out, stderr=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Every row seed_demo writes, by primary key (and the rows of the many-to-many tables)."""
    return {
        "departments": list(Department.objects.order_by("pk").values()),
        "windows": list(Window.objects.order_by("pk").values()),
        "window officers": list(Window.officers.through.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values()),
        "user groups": list(User.groups.through.objects.order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values()),
        "group permissions": list(Group.permissions.through.objects.order_by("pk").values()),
        "canned replies": list(CannedReply.objects.order_by("pk").values()),
        "calendar days": list(CalendarDay.objects.order_by("pk").values()),
        "calendar years": list(CalendarYear.objects.order_by("pk").values()),
        "faq entries": list(Entry.objects.order_by("pk").values()),
    }


def test_running_twice_gives_the_same_rows():
    output = seed()
    first = snapshot()
    seed()
    assert snapshot() == first
    assert demo_data.DEMO_PASSWORD in output
    assert len(first["departments"]) == 19 and len(first["windows"]) == 69


@pytest.mark.engine_independent
def test_the_pilots_departments_and_windows():
    seed()
    provincial = Department.objects.filter(level=Level.PROVINCE)
    assert provincial.count() == 16
    assert list(provincial.values_list("short_name", flat=True)[:3]) == ["劳动保障厅", "公安厅", "人事厅"]
    police = Department.objects.get(name="省公安厅")
    assert list(police.windows.values_list("name", flat=True)) == POLICE_WINDOWS
    assert Window.objects.filter(department__level=Level.PROVINCE).count() == 66
    for window in Window.objects.select_related("department"):
        assert window.duty_statement, window
        assert 3 <= len(window.accepts_list) <= 5, window
        assert 2 <= len(window.does_not_accept_list) <= 4, window
        assert window.officers.filter(role=Role.OFFICER).count() == 1, window
    city = Department.objects.get(name="杭州市住房保障和房产管理局")
    assert (city.level, city.parent.name) == (Level.CITY, "省建设厅")


@pytest.mark.engine_independent
def test_demo_accounts_log_in_with_the_demo_password(client):
    seed()
    for username in ("admin", "supervisor", "gongan_huji", "jianshe_zhufang", "13800000001"):
        assert client.login(username=username, password=demo_data.DEMO_PASSWORD), username
    officer = User.objects.get(username="jianshe_zhufang")
    assert officer.display_name == "值班员 张丘"
    assert officer.windows.get().name == "住房保障"
    assert User.objects.filter(role=Role.CITIZEN, phone__in=demo_data.CITIZEN_PHONES).count() == 3


@pytest.mark.engine_independent
def test_supervisor_is_staff_in_the_information_center_group_but_not_superuser():
    seed()
    supervisor = User.objects.get(username="supervisor")
    assert supervisor.is_staff and not supervisor.is_superuser
    assert supervisor.groups.filter(name="信息中心").exists()
    assert supervisor.has_perm("departments.add_window")
    assert supervisor.has_perm("departments.delete_calendarday")
    assert supervisor.has_perm("chat.change_cannedreply")
    assert supervisor.has_perm("chat.view_conversation")
    assert not supervisor.has_perm("chat.delete_conversation")
    assert User.objects.get(username="admin").is_superuser


@pytest.mark.engine_independent
def test_a_changed_password_survives_a_second_run(client):
    seed()
    supervisor = User.objects.get(username="supervisor")
    supervisor.set_password("my-own-Secret-9")
    supervisor.save(update_fields=["password"])
    seed()
    assert client.login(username="supervisor", password="my-own-Secret-9")


@pytest.mark.engine_independent
def test_canned_replies_include_the_reports_polite_closing():
    seed()
    shared = CannedReply.objects.filter(window__isnull=True)
    bodies = set(shared.values_list("body", flat=True))
    assert {"您好，请说。", "请稍等，我帮您查询一下。", "对不起，让您久等了。", "不客气，感谢您的咨询。"} <= bodies
    assert "如果您没有其它问题，我就不回复了，还有其它咨询要答复，请谅解。" in bodies
    assert CannedReply.objects.filter(window__name="交通车管").count() == 2
    assert CannedReply.objects.filter(window__name="治安户籍").count() == 2


@pytest.mark.engine_independent
def test_demo_logins_lists_roles_usernames_and_pages():
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()  # nothing loaded yet: say how

    seed()
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    table = out.getvalue()
    for expected in ("supervisor", "/admin/", "gongan_huji", "/desk/", "13800000001", demo_data.DEMO_PASSWORD):
        assert expected in table


@pytest.mark.engine_independent
def test_demo_faq_entries_are_published_and_found_by_citizens():
    output = seed()

    assert "常见问题 320 条，已发布 320 条" in output
    assert Entry.objects.filter(is_published=True).count() == 320
    found = faq_selectors.search_public("驾驶证遗失后怎样补领")
    assert found and found[0].entry.question == "驾驶证遗失后怎样补领？"
    assert found[0].entry.window.name == "交通车管"


@pytest.mark.engine_independent
def test_a_withdrawn_faq_entry_stays_withdrawn_on_a_second_run():
    seed()
    Entry.objects.filter(key="gat-003").update(is_published=False, answer="整理人改过的答复。")

    output = seed()

    entry = Entry.objects.get(key="gat-003")
    assert not entry.is_published and entry.answer == "整理人改过的答复。"
    assert "演示内容新增 0 条" in output
