"""In Chromium, a citizen's accounts by SMS: register from a window with a code read from the outbox, log out,
忘记密码, then log in with a code. The live daphne server sends from its own worker thread (outbox backend)."""

import json
import random
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

OUTBOX = """
import json, re
from sms.models import SmsMessage
message = SmsMessage.objects.filter(masked_phone="{masked}", template="{template}").latest("created_at")
print(json.dumps({{"status": message.status, "code": re.search(r"验证码为(\\d{{6}})", message.text)[1]}}))
"""
# Time passes: let the next code be asked without waiting out the 60-second rule.
AGE_CODES = """
import datetime
from sms.models import VerificationCode
VerificationCode.objects.filter(phone="{phone}").update(created_at=VerificationCode.objects.filter(phone="{phone}")
    .latest("created_at").created_at - datetime.timedelta(seconds=61))
"""


def read_outbox(live_manage, phone, template):
    masked = f"{phone[:3]}****{phone[7:]}"
    output = live_manage("shell", "-c", OUTBOX.format(masked=masked, template=template)).stdout.strip()
    return json.loads(output.splitlines()[-1])


def ask_code(page):
    page.click("[data-code-button]")
    expect(page.locator("#code-status")).to_contain_text("验证码")
    expect(page.locator("[data-code-button]")).to_be_disabled()
    expect(page.locator("[data-code-button]")).to_contain_text("秒后可重新获取")


def test_register_forget_password_and_code_login(new_page, live_manage):
    phone = f"135{random.randrange(10**8):08d}"
    window_id = (
        live_manage(
            "shell", "-c", "from departments.models import Window; print(Window.objects.order_by('id').first().id)"
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    page = new_page("phone")

    # Register from a window: the page returns there.
    page.goto(f"/accounts/login/?next=/windows/{window_id}/")
    page.click("text=用手机号注册")
    page.fill("#id_phone", phone)
    page.fill("#id_password1", "Qiantang-2026")  # typed before the code: stays while the code is asked
    ask_code(page)
    expect(page.locator("#code-status")).to_have_text(f"短信已发送至 {phone[:3]}****{phone[7:]}，验证码 5 分钟内有效。")
    code = read_outbox(live_manage, phone, "register_code")["code"]
    page.fill("#id_code", code)
    page.fill("#id_password2", "Qiantang-2026")
    page.click("main form button.button-large")
    expect(page).to_have_url(re.compile(rf"/windows/{window_id}/$"))
    # The server's own worker thread delivered it (the outbox backend): the record says 已发送.
    assert read_outbox(live_manage, phone, "register_code")["status"] == "sent"

    page.click("header button:has-text('退出')")
    expect(page.locator("header")).to_contain_text("登录")

    # 忘记密码: a new password with a new code.
    live_manage("shell", "-c", AGE_CODES.format(phone=phone))
    page.goto("/accounts/login/")
    page.click("text=忘记密码")
    page.fill("#id_phone", phone)
    ask_code(page)
    expect(page.locator("#code-status")).to_contain_text("如果该手机号已注册政务通，验证码已发送至")
    page.fill("#id_code", "000000" if code != "000000" else "111111")
    page.fill("#id_password1", "Xixi-Wetland-88")
    page.fill("#id_password2", "Xixi-Wetland-88")
    page.click("main form button.button-large")
    expect(page.locator("#id_code_error")).to_contain_text("验证码不正确，还可以再试 4 次")
    page.fill("#id_code", read_outbox(live_manage, phone, "reset_code")["code"])
    page.fill("#id_password1", "Xixi-Wetland-88")
    page.fill("#id_password2", "Xixi-Wetland-88")
    page.click("main form button.button-large")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".flash")).to_contain_text("密码已重设")

    # 验证码登录.
    live_manage("shell", "-c", AGE_CODES.format(phone=phone))
    page.click("text=用短信验证码登录")
    page.fill("#id_phone", phone)
    ask_code(page)
    page.fill("#id_code", read_outbox(live_manage, phone, "login_code")["code"])
    page.click("main form button.button-large")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header")).to_contain_text("我的咨询")
