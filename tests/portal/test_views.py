"""Public pages and citizens' accounts, as anonymous visitors, citizens, officers and supervisors see them."""

import pytest
from django.test import Client
from django.urls import reverse

from chat import actions
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def window():
    return factories.window(
        factories.department(name="省公安厅", short_name="公安厅", contact_phone="0571-87280000"),
        name="交通车管",
        duty_statement="受理机动车驾驶证、机动车登记等交通车管业务咨询。",
        accepts="驾驶证年检与换证\n机动车登记",
        does_not_accept="交通事故赔偿纠纷（请咨询法院）",
    )


@pytest.fixture(params=["anonymous", "citizen", "officer", "supervisor"])
def visitor(request, client, window):
    user = {
        "anonymous": lambda: None,
        "citizen": factories.citizen,
        "officer": lambda: factories.officer(window),
        "supervisor": factories.supervisor,
    }[request.param]()
    if user is not None:
        client.force_login(user)
    return request.param, user


def test_public_pages_render_for_everyone(client, window, visitor):
    for url in [
        reverse("portal:home"),
        reverse("portal:department", args=[window.department_id]),
        reverse("portal:window", args=[window.id]),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert "交通车管" in response.content.decode()
    page = client.get(reverse("portal:window", args=[window.id])).content.decode()
    assert "受理机动车驾驶证" in page and "交通事故赔偿纠纷" in page


def test_my_consultations_by_role(client, window, visitor):
    role, _ = visitor
    response = client.get(reverse("portal:my_consultations"))
    expected = {"anonymous": 302, "citizen": 200, "officer": 403, "supervisor": 403}[role]
    assert response.status_code == expected


def test_desk_by_role(client, window, visitor):
    role, _ = visitor
    response = client.get(reverse("chat:desk"))
    expected = {"anonymous": 302, "citizen": 403, "officer": 200, "supervisor": 403}[role]
    assert response.status_code == expected


def test_unknown_ids_are_404(client):
    assert client.get("/departments/999999/").status_code == 404
    assert client.get("/windows/999999/").status_code == 404
    assert client.get("/windows/abc/").status_code == 404


def test_home_shows_real_presence(client, window):
    officer = factories.officer(window)
    assert "可留言" in client.get("/").content.decode()
    actions.desk_connected(officer=officer, channel_name="desk-1")
    page = client.get("/").content.decode()
    assert 'presence-online">在线' in page


def test_text_is_escaped_never_html(client, window):
    window.duty_statement = "<script>alert(1)</script>"
    window.save()
    page = client.get(reverse("portal:window", args=[window.id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_failed_logins_lock_the_username_from_that_address_only(client):
    factories.citizen(phone="13700000000")
    for _ in range(5):
        response = client.post(reverse("portal:login"), {"username": "13700000000", "password": "wrong-password"})
    response = client.post(reverse("portal:login"), {"username": "13700000000", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert "次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The owner, elsewhere, still gets in (django-axes locks the (username, address) pair; tests/security).
    other = Client(REMOTE_ADDR="198.51.100.9")
    response = other.post(reverse("portal:login"), {"username": "13700000000", "password": factories.PASSWORD})
    assert response.status_code == 302


def test_login_next_must_be_local(client):
    factories.citizen(phone="13600000000")
    response = client.post(
        reverse("portal:login"),
        {"username": "13600000000", "password": factories.PASSWORD, "next": "https://evil.example.com/"},
    )
    assert response.status_code == 302 and response.url == reverse("portal:home")


def test_citizen_chat_page_and_no_js_fallback(client, window):
    citizen = factories.citizen()
    client.force_login(citizen)
    response = client.post(reverse("chat:start", args=[window.id]))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "职责说明" in page and "受理机动车驾驶证" in page
    response = client.post(response.url, {"body": "驾驶证要不要年检？", "client_id": "nojs-1"}, follow=True)
    assert "驾驶证要不要年检？" in response.content.decode()
    assert "留言" in response.content.decode()
    stranger = factories.citizen()
    client.force_login(stranger)
    assert client.get(response.request["PATH_INFO"]).status_code == 404  # not theirs: as if unknown


def test_public_pages_forbid_inline_scripts(client, window):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_new_supervisor_can_use_the_console_without_demo_data(client):
    supervisor = factories.supervisor()
    assert supervisor.groups.filter(name="信息中心").exists()
    client.force_login(supervisor)
    assert client.get("/admin/departments/window/").status_code == 200
    assert client.get("/admin/chat/conversation/").status_code == 200


def test_admin_index_lists_oversight_first(client):
    client.force_login(factories.supervisor())
    page = client.get("/admin/").content.decode()
    assert (
        page.index('href="/admin/oversight/"')
        < page.index('href="/admin/chat/"')
        < page.index('href="/admin/departments/"')
    )
