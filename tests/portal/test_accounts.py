"""Citizens' accounts with SMS codes: registration, 忘记密码, code login, phone verification, notices switch."""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import Role, User
from sms.models import SmsMessage, Template, VerificationCode
from tests import factories

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
PASSWORD = "Hangzhou-2026"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def ask_code(client, url_name, phone=PHONE, **extra):
    return client.post(reverse(url_name), {"action": "send_code", "phone": phone}, **extra)


def code_sent_to(phone=PHONE) -> str:
    return SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]


def allow_next_code():
    """Let the next code be asked at once (the 60-second rule is tested in tests/sms)."""
    VerificationCode.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))


def register(client, phone=PHONE, code=None, password=PASSWORD, **extra):
    data = {"phone": phone, "code": code or code_sent_to(phone), "password1": password, "password2": password}
    return client.post(reverse("portal:register"), data, **extra)


def test_register_with_a_code_then_log_out_and_in(client):
    response = ask_code(client, "portal:register", phone="138 0013 8000")
    assert response.status_code == 200
    assert "短信已发送至 138****8000，验证码 5 分钟内有效" in response.content.decode()
    assert 'data-wait="60"' in response.content.decode()
    response = register(client)
    assert response.status_code == 302 and response.url == reverse("portal:home")
    user = User.objects.get(phone=PHONE)
    assert user.role == Role.CITIZEN and user.username == PHONE and user.phone_verified_at is not None
    client.post(reverse("portal:logout"))
    response = client.post(reverse("portal:login"), {"username": PHONE, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("portal:home")


def test_send_code_answers_json_to_the_page_script(client):
    response = ask_code(client, "portal:register", HTTP_ACCEPT="application/json")
    assert response.json() == {"ok": True, "message": "短信已发送至 138****8000，验证码 5 分钟内有效。", "wait": 60}
    response = ask_code(client, "portal:register", HTTP_ACCEPT="application/json")
    assert response.status_code == 429 and response.json()["ok"] is False and "秒后再获取" in response.json()["message"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"phone": "12345"}, "正确的中国大陆手机号"),
        ({"phone": "23800138000"}, "正确的中国大陆手机号"),
        ({"password1": "12345678", "password2": "12345678"}, "密码"),
        ({"password1": "abc", "password2": "abc"}, "密码"),
        ({"password2": "Hangzhou-2027"}, "不一致"),
        ({"code": "12a456"}, "6 位数字验证码"),
        ({"code": ""}, "请输入短信验证码"),
    ],
)
def test_bad_registration_saves_nothing(client, data, message):
    ask_code(client, "portal:register")
    form = {"phone": PHONE, "code": code_sent_to(), "password1": PASSWORD, "password2": PASSWORD, **data}
    response = client.post(reverse("portal:register"), form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_wrong_code_says_how_many_tries_are_left(client):
    ask_code(client, "portal:register")
    wrong = f"{(int(code_sent_to()) + 1) % 10**6:06d}"
    response = register(client, code=wrong)
    assert response.status_code == 400 and "验证码不正确，还可以再试 4 次。" in response.content.decode()
    assert not User.objects.exists()


def test_no_enumeration_registration_answers_the_same_and_the_owner_is_told_by_sms(client):
    factories.citizen(phone="13900000000")
    taken = ask_code(client, "portal:register", phone="13900000000").content.decode()
    free = ask_code(client, "portal:register", phone="13700000000").content.decode()

    def answer(page):
        return re.sub(
            r"1[37]\d\*{4}\d{4}|1[39]\d\*{4}\d{4}", "NUMBER", re.search(r'id="code-status".*?</p>', page, re.S)[0]
        )

    assert answer(taken) == answer(free)
    notice = SmsMessage.objects.get(phone="13900000000")
    assert notice.template == Template.ALREADY_REGISTERED and "已注册政务通，可直接登录或找回密码" in notice.text
    # Someone else trying to register the number cannot: no code was sent to them.
    response = register(client, phone="13900000000", code="000000")
    assert response.status_code == 400 and "验证码不正确" in response.content.decode()
    assert User.objects.filter(phone="13900000000").count() == 1


def test_no_enumeration_reset_and_code_login_answer_the_same(client):
    factories.citizen(phone="13900000000")
    for url_name in ("portal:password_reset", "portal:code_login"):
        allow_next_code()
        with_account = ask_code(client, url_name, phone="13900000000", HTTP_ACCEPT="application/json").json()
        without = ask_code(client, url_name, phone="13700000000", HTTP_ACCEPT="application/json").json()
        assert with_account["message"].replace("139****0000", "X") == without["message"].replace("137****0000", "X")
        assert with_account["wait"] == without["wait"] == 60
    assert not SmsMessage.objects.filter(phone="13700000000").exists()


def test_forgotten_password_sets_a_new_one_and_ends_every_session(client):
    citizen = factories.citizen(phone=PHONE)
    other_device = Client()
    other_device.force_login(citizen)
    assert other_device.get(reverse("portal:my_consultations")).status_code == 200
    ask_code(client, "portal:password_reset")
    response = client.post(
        reverse("portal:password_reset") + "?next=/windows/1/",
        {
            "phone": PHONE,
            "code": code_sent_to(),
            "password1": "Xihu-Longjing-9",
            "password2": "Xihu-Longjing-9",
            "next": "/windows/1/",
        },
    )
    assert response.status_code == 302 and response.url == reverse("portal:login") + "?next=%2Fwindows%2F1%2F"
    assert not Session.objects.exists()
    assert other_device.get(reverse("portal:my_consultations")).status_code == 302  # signed out there too
    assert client.login(username=PHONE, password="Xihu-Longjing-9")


def test_code_login_returns_to_the_window(client):
    factories.citizen(phone=PHONE)
    ask_code(client, "portal:code_login")
    response = client.post(
        reverse("portal:code_login"), {"phone": PHONE, "code": code_sent_to(), "next": "/windows/7/"}
    )
    assert response.status_code == 302 and response.url == "/windows/7/"
    assert client.get(reverse("portal:my_consultations")).status_code == 200


def test_code_login_refuses_staff_numbers_and_unknown_numbers_alike(client):
    officer = factories.officer(factories.window(), username="officer-a")
    User.objects.filter(pk=officer.pk).update(phone="13600000000")
    ask_code(client, "portal:code_login", phone="13600000000")
    assert not SmsMessage.objects.exists()  # no code goes to a staff number
    response = client.post(reverse("portal:code_login"), {"phone": "13600000000", "code": "123456"})
    assert response.status_code == 400 and "验证码不正确" in response.content.decode()


def test_register_from_a_window_returns_there_and_outside_next_is_ignored(client):
    ask_code(client, "portal:register")
    response = client.post(
        reverse("portal:register"),
        {"phone": PHONE, "code": code_sent_to(), "password1": PASSWORD, "password2": PASSWORD, "next": "/windows/3/"},
    )
    assert response.url == "/windows/3/"
    client.post(reverse("portal:logout"))
    response = client.post(
        reverse("portal:login"), {"username": PHONE, "password": PASSWORD, "next": "https://evil.example.com/"}
    )
    assert response.url == reverse("portal:home")


def test_login_page_links_keep_the_window(client):
    page = client.get(reverse("portal:login") + "?next=/windows/3/").content.decode()
    for url_name in ("portal:code_login", "portal:password_reset", "portal:register"):
        assert f"{reverse(url_name)}?next=/windows/3/" in page.replace("%2F", "/")
    assert 'name="next" value="/windows/3/"' in page


def test_citizen_registered_before_codes_is_asked_to_verify_at_next_login(client):
    citizen = factories.citizen(phone=PHONE)
    User.objects.filter(pk=citizen.pk).update(phone_verified_at=None)
    response = client.post(
        reverse("portal:login"), {"username": PHONE, "password": factories.PASSWORD, "next": "/windows/2/"}
    )
    assert response.url == reverse("portal:verify_phone") + "?next=%2Fwindows%2F2%2F"
    page = client.get(response.url).content.decode()
    assert "138****8000" in page and "稍后再说" in page
    client.post(reverse("portal:verify_phone") + "?next=/windows/2/", {"action": "send_code"})
    assert SmsMessage.objects.get().template == Template.VERIFY_CODE
    response = client.post(reverse("portal:verify_phone"), {"code": code_sent_to(), "next": "/windows/2/"})
    assert response.url == "/windows/2/"
    citizen.refresh_from_db()
    assert citizen.phone_verified_at is not None
    client.post(reverse("portal:logout"))
    response = client.post(reverse("portal:login"), {"username": PHONE, "password": factories.PASSWORD})
    assert response.url == reverse("portal:home")


def test_officers_are_not_asked_to_verify(client):
    factories.officer(factories.window(), username="officer-b")
    response = client.post(reverse("portal:login"), {"username": "officer-b", "password": factories.PASSWORD})
    assert response.url == reverse("chat:desk")


def test_aria_describedby_points_at_elements_that_exist(client):
    ask_code(client, "portal:register")
    page = client.post(
        reverse("portal:register"), {"phone": PHONE, "code": "000000", "password1": "abc", "password2": "abd"}
    ).content.decode()
    described = re.findall(r'aria-describedby="([^"]+)"', page)
    assert described, "fields must say where their help and errors are"
    for ids in described:
        for element_id in ids.split():
            assert f'id="{element_id}"' in page, element_id
    assert "id_password1_helptext" in " ".join(described) and "id_password1_error" in " ".join(described)
    login_page = client.post(
        reverse("portal:login"), {"username": PHONE, "password": "wrong-password"}
    ).content.decode()
    for ids in re.findall(r'aria-describedby="([^"]+)"', login_page):
        for element_id in ids.split():
            assert f'id="{element_id}"' in login_page, element_id
    assert 'aria-describedby="form-errors"' in login_page


def test_citizen_switches_notices_off_and_on(client):
    citizen = factories.citizen(phone=PHONE)
    client.force_login(citizen)
    assert "关闭短信通知" in client.get(reverse("portal:my_consultations")).content.decode()
    client.post(reverse("portal:sms_notices"), {"enabled": "0"})
    page = client.get(reverse("portal:my_consultations")).content.decode()
    assert "短信通知已关闭" in page and "开启短信通知" in page
    client.post(reverse("portal:sms_notices"), {"enabled": "1"})
    assert "关闭短信通知" in client.get(reverse("portal:my_consultations")).content.decode()


def test_page_says_so_when_the_provider_keeps_failing(client):
    for n in range(3):
        SmsMessage.objects.create(
            template=Template.NOTICE_CASE,
            masked_phone=f"137****000{n}",
            status="failed",
            attempts=5,
            provider_answer="ServiceUnavailable: 服务暂不可用",
        )
    answer = ask_code(client, "portal:code_login", HTTP_ACCEPT="application/json").json()
    assert "短信服务暂时不稳定，我们正在自动重发；如 5 分钟内仍未收到，请稍后重新获取。" in answer["message"]
    SmsMessage.objects.create(template=Template.NOTICE_CASE, masked_phone="137****0009", status="sent", attempts=1)
    allow_next_code()
    answer = ask_code(client, "portal:code_login", HTTP_ACCEPT="application/json").json()
    assert "不稳定" not in answer["message"]
