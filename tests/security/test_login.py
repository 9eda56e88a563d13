"""Controls: login lockout per (username, address) on both logins, visible and liftable in the admin;
a TOTP second factor for staff with QR enrolment and recovery codes; the demo password in production."""

import io
import re
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from infra.second_factor import DEMO_GROUP
from portal.checks import demo_password_check
from tests import factories

pytestmark = pytest.mark.django_db

WRONG = "wrong-password-1"


def fail(client: Client, url: str, username: str, times: int = 5):
    for _ in range(times):
        response = client.post(url, {"username": username, "password": WRONG})
    return response


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_both_logins_lock_the_pair_not_the_account(url):
    supervisor = factories.supervisor()
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    fail(attacker, url, supervisor.username)
    locked = attacker.post(url, {"username": supervisor.username, "password": factories.PASSWORD})
    assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in attacker.session
    # The attacker cannot lock the supervisor out: from the supervisor's own address the login works.
    own = Client(REMOTE_ADDR="198.51.100.20")
    response = own.post(url, {"username": supervisor.username, "password": factories.PASSWORD})
    assert response.status_code == 302 and own.session["_auth_user_id"] == str(supervisor.pk)


def test_lockouts_are_listed_and_lifted_in_the_admin():
    citizen = factories.citizen()
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    fail(attacker, "/accounts/login/", citizen.username)
    console = Client()
    console.force_login(factories.supervisor())  # the information center, not only the superuser
    listing = console.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "203.0.113.66" in listing.content.decode()
    attempt = AccessAttempt.objects.get()
    console.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.exists()
    response = attacker.post("/accounts/login/", {"username": citizen.username, "password": factories.PASSWORD})
    assert response.status_code == 302


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_supervisor_enrols_by_qr_then_needs_a_code_or_a_recovery_code(settings):
    settings.SECOND_FACTOR_REQUIRED = True
    supervisor = factories.supervisor()
    client = Client()
    response = client.post("/accounts/login/", {"username": supervisor.username, "password": factories.PASSWORD})
    assert response.status_code == 302
    # Every staff page sends them to the second factor first.
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/second-factor/")
    text = page.content.decode()
    assert "<svg" in text and "扫描" in text
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    assert client.post("/accounts/second-factor/", {"code": "000000"}).status_code == 400
    time.sleep(1.1)  # a failure throttles the device for a second (doubling with each failure)
    codes_page = client.post("/accounts/second-factor/", {"code": _code(device), "next": "/admin/"})
    codes = re.findall(r"<code>([0-9a-f]{8})</code>", codes_page.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200

    # Next login: the password alone is not enough; a recovery code works once.
    client = Client()
    client.post("/accounts/login/", {"username": supervisor.username, "password": factories.PASSWORD})
    assert client.get("/admin/").status_code == 302
    assert client.post("/accounts/second-factor/", {"code": codes[0]}).status_code == 302
    assert client.get("/admin/").status_code == 200
    again = Client()
    again.post("/accounts/login/", {"username": supervisor.username, "password": factories.PASSWORD})
    assert again.post("/accounts/second-factor/", {"code": codes[0]}).status_code == 400


def test_officers_only_when_the_setting_says_so_and_demo_accounts_skip_only_in_debug(settings):
    settings.SECOND_FACTOR_REQUIRED = True
    officer = factories.officer(factories.window())
    client = Client()
    client.force_login(officer)
    assert client.get("/desk/").status_code == 200
    settings.OTP_REQUIRED_FOR_OFFICERS = True
    assert client.get("/desk/").status_code == 302

    demo_supervisor = factories.supervisor()
    Group.objects.get_or_create(name=DEMO_GROUP)[0].user_set.add(demo_supervisor)
    client.force_login(demo_supervisor)
    settings.DEBUG = True
    assert client.get("/admin/").status_code == 200
    settings.DEBUG = False
    assert client.get("/admin/").status_code == 302


def test_deploy_check_fails_while_a_demo_account_has_the_demo_password(settings):
    from demo import demo_data

    assert settings.DEMO_PASSWORD == demo_data.DEMO_PASSWORD
    user = factories.supervisor()
    user.set_password(settings.DEMO_PASSWORD)
    user.save()
    Group.objects.get_or_create(name=DEMO_GROUP)[0].user_set.add(user)
    errors = demo_password_check(None)
    assert errors and errors[0].id == "portal.E001" and user.username in errors[0].msg
    with pytest.raises(SystemCheckError):
        call_command("check", "--deploy", "--fail-level", "ERROR", stdout=io.StringIO(), stderr=io.StringIO())
    user.set_password("Changed-Before-Launch-2026")
    user.save()
    assert demo_password_check(None) == []


def test_seed_demo_refuses_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=io.StringIO())
