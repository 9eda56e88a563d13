"""Close codes and login pages in real Chromium against a live daphne server."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import PASSWORD, login

pytestmark = pytest.mark.e2e

PEOPLE = """
import json
from chat import actions
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="交通车管")
citizen = factories.citizen(phone="15{n:09d}")
other = factories.citizen(phone="16{n:09d}")
conversation = actions.open_conversation(citizen=citizen, window=window)
theirs = actions.open_conversation(citizen=other, window=window)
print(json.dumps({{"phone": citizen.phone, "conversation": conversation.id, "theirs": theirs.id}}))
"""

CLOSE_CODE = """
async (path) => await new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  ws.onclose = (event) => resolve(event.code);
})
"""


@pytest.fixture
def people(live_manage):
    n = int(uuid.uuid4().hex[:8], 16) % 10**9
    return json.loads(live_manage("shell", "-c", PEOPLE.format(n=n)).stdout.strip().splitlines()[-1])


def test_the_browser_sees_4401_and_4403_not_1006(new_page, people):
    page = new_page("desktop")
    page.goto("/")
    assert page.evaluate(CLOSE_CODE, f"/ws/chat/{people['conversation']}/") == 4401
    assert page.evaluate(CLOSE_CODE, "/ws/desk/") == 4401
    login(page, people["phone"])
    assert page.evaluate(CLOSE_CODE, f"/ws/chat/{people['theirs']}/") == 4403
    assert page.evaluate(CLOSE_CODE, "/ws/desk/") == 4403


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_logout_elsewhere_stops_the_chat_page_and_offers_login(new_page, people, kind):
    chat = new_page(kind)
    login(chat, people["phone"])
    chat.goto(f"/my/conversations/{people['conversation']}/")
    expect(chat.locator("#statement-ok")).to_be_visible()
    chat.click("#statement-ok")
    # The same person logs out in another tab: the open chat socket is closed with 4401.
    other_tab = chat.context.new_page()
    other_tab.goto("/")
    other_tab.click("header form button[type=submit]")
    notice = chat.locator("#connection .connection-gone")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("登录已失效，实时连接已停止。")
    expect(notice).to_contain_text("重新登录")
    chat.screenshot(path=f"/tmp/security-logout-{kind}.png", full_page=True)
    # No retry loop: the notice stays and the page does not say it is reconnecting.
    chat.wait_for_timeout(2500)
    expect(notice).to_contain_text("登录已失效，实时连接已停止。")
    expect(chat.locator("#connection")).not_to_contain_text("重连")
    chat.click("#connection .connection-gone a")
    expect(chat).to_have_url(
        re.compile(rf"/accounts/login/\?next=%2Fmy%2Fconversations%2F{people['conversation']}%2F$")
    )


@pytest.mark.parametrize("kind", ["phone", "desktop"])
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_login_pages_lock_after_five_failures(new_page, live_manage, kind, url):
    n = int(uuid.uuid4().hex[:8], 16) % 10**9
    username = f"e2e-lock-{n}"
    live_manage(
        "shell",
        "-c",
        "from portal.actions import create_staff_user; from tests.factories import PASSWORD; "
        f"create_staff_user(username='{username}', password=PASSWORD, role='supervisor')",
    )
    page = new_page(kind)
    for _ in range(5):
        page.goto(url)
        page.fill("#id_username", username)
        page.fill("#id_password", "wrong-password")
        page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    expect(page.locator("h1")).to_contain_text("登录失败次数过多")
    page.screenshot(path=f"/tmp/security-locked-{kind}{url.replace('/', '-')}.png", full_page=True)
