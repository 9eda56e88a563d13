"""What citizens are told, in real Chromium against a live daphne server (issue 14): every screen tells
the truth about what happens next."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = pytest.mark.e2e

PEOPLE = """
import json
from tests import factories
dept = factories.department(name="测试厅{tag}", short_name="测{tag}")
window = factories.window(dept, name="窗口{tag}")
officer = factories.officer(window, username="cit-off-{tag}")
citizen = factories.citizen(phone="13{n:09d}")
print(json.dumps({{"window": window.id, "officer": officer.username, "phone": citizen.phone}}))
"""


def people(live_manage) -> dict:
    tag = uuid.uuid4().hex[:8]
    out = live_manage("shell", "-c", PEOPLE.format(tag=tag, n=int(tag, 16) % 10**9)).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_a_busy_officer_is_not_online_and_the_wait_notice_replaces_the_wait_clock(new_page, live_manage, kind):
    ids = people(live_manage)
    desk = new_page("desktop")
    login(desk, ids["officer"])
    desk.select_option("#status-select", "busy")
    expect(desk.locator("#presence")).to_have_text("忙碌")

    citizen = new_page(kind)
    login(citizen, ids["phone"])
    citizen.goto(f"/windows/{ids['window']}/")
    expect(citizen.locator("h1")).to_contain_text("值班人员忙碌，需排队")
    expect(citizen.locator("h1")).not_to_contain_text("在线")
    citizen.locator("main form button[type=submit]").click()
    citizen.click("#statement-ok")
    # Nothing asked yet: not 排队中.
    expect(citizen.locator("#status-label")).to_have_text("尚未提问")
    expect(citizen.locator("#queue-info")).to_have_text("")
    expect(citizen.locator("#offline-notice")).to_contain_text("排队等候")
    citizen.fill("#body", "驾驶证到期换证需要体检吗？")
    citizen.click("#send")
    expect(citizen.locator("#queue-info")).to_contain_text("排队中：下一位就是您")
    # The live region says the state, not the seconds.
    expect(citizen.locator("#announcer")).to_have_text("排队中，下一位就是您")
    citizen.wait_for_timeout(2500)
    expect(citizen.locator("#announcer")).to_have_text("排队中，下一位就是您")
    expect(citizen.locator("#chat-status")).not_to_have_attribute("aria-live", "polite")

    # Simulate the configured wait having passed: the sweep the page asks for sends the notice.
    live_manage(
        "shell",
        "-c",
        "import datetime; from chat.models import Conversation; from django.utils import timezone;"
        f"Conversation.objects.filter(citizen__phone='{ids['phone']}').update("
        "queued_at=timezone.now() - datetime.timedelta(hours=1))",
    )
    citizen.reload()
    expect(citizen.locator("#status-label")).to_have_text("已记录为留言", timeout=40_000)
    expect(citizen.locator("#queue-info")).to_have_text("")
    expect(citizen.locator("#due-info")).to_contain_text("答复期限")
    # Delivered stays delivered after a reload; an unanswered offline question is withdrawn, not rated.
    citizen.reload()
    expect(citizen.locator(".message-citizen").first).to_contain_text("已送达")
    expect(citizen.locator("#end-button")).to_have_text("撤回留言")
    messages = []
    citizen.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    citizen.click("#end-button")
    expect(citizen.locator("#withdrawn")).to_be_visible()
    expect(citizen.locator("#rating")).to_be_hidden()
    assert messages and messages[0].startswith("撤回留言？")

    citizen.goto("/my/")
    card = citizen.locator(".consultation-card").first
    expect(card).to_contain_text("驾驶证到期换证需要体检吗？")
    expect(card).to_contain_text("已撤回")
    box = card.bounding_box()
    assert box["height"] >= 44


def test_logged_out_window_page_has_one_big_button_that_comes_back(new_page, live_manage):
    ids = people(live_manage)
    page = new_page("phone")
    page.goto(f"/windows/{ids['window']}/")
    button = page.get_by_role("link", name="登录后咨询")
    expect(button).to_be_visible()
    assert button.bounding_box()["height"] >= 44
    expect(page.locator(".what-next")).to_contain_text("前答复")
    button.click()
    page.fill("#id_username", ids["phone"])
    page.fill("#id_password", "Zwt-test-2026!")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/windows/{ids['window']}/$"))


def test_phone_header_links_are_big_enough_to_tap_and_the_home_page_filters(new_page, live_manage):
    ids = people(live_manage)
    page = new_page("phone")
    login(page, ids["phone"])
    page.goto("/")
    for link in page.locator(".site-nav a, .site-nav button").all():
        assert link.bounding_box()["height"] >= 44, link.inner_text()
    page.fill("#directory-q", "户籍")
    expect(page.locator("#directory-count")).to_contain_text("找到")
    visible = page.locator(".window-list li:visible .window-name").all_inner_texts()
    assert visible and all("户籍" in name for name in visible)
    page.fill("#directory-q", "没有这个部门")
    expect(page.locator("#directory-count")).to_contain_text("没有名称相符")


def test_times_are_beijing_time_in_any_browser_time_zone(browser, live_server_url, live_manage):
    ids = people(live_manage)
    context = browser.new_context(
        base_url=live_server_url, timezone_id="America/New_York", viewport={"width": 390, "height": 844}
    )
    try:
        page = context.new_page()
        login(page, ids["phone"])
        page.goto(f"/windows/{ids['window']}/")
        page.locator("main form button[type=submit]").click()
        page.click("#statement-ok")
        page.fill("#body", "社保卡丢了怎么办？")
        page.click("#send")
        live = page.locator(".message-citizen .meta").first
        expect(live).to_contain_text("已送达")
        live_time = re.search(r"\d\d:\d\d", live.inner_text()).group(0)
        page.reload()
        served = re.search(r"\d\d:\d\d", page.locator(".message-citizen .meta").first.inner_text()).group(0)
        assert live_time == served  # the server renders Beijing time
    finally:
        context.close()


def test_a_page_whose_socket_is_refused_for_good_says_so_and_offers_to_log_in(new_page, live_manage):
    ids = people(live_manage)
    page = new_page("phone")
    login(page, ids["phone"])
    page.goto(f"/windows/{ids['window']}/")
    page.locator("main form button[type=submit]").click()
    page.click("#statement-ok")
    expect(page.locator("#connection")).to_be_hidden()
    # The session ends (logged out elsewhere); the network drops; the server now refuses the socket.
    page.context.clear_cookies()
    page.evaluate("window.zwtChat.socket.drop()")
    notice = page.locator("#connection")
    expect(notice).to_contain_text("登录已失效", timeout=20_000)
    expect(notice.get_by_role("link", name="重新登录")).to_have_attribute(
        "href", re.compile(r"^/accounts/login/\?next=")
    )
    expect(page.locator("#body")).to_be_disabled()
    # It stopped retrying: the notice stays.
    page.wait_for_timeout(3000)
    expect(notice).to_contain_text("登录已失效")
