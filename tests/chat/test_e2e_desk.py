"""What the duty officer's desk shows, in real Chromium against a live daphne server (issue 14)."""

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
window = factories.window(dept, name="窗口甲{tag}", max_concurrent_chats=1)
second = factories.window(dept, name="窗口乙{tag}")
officer = factories.officer(window, username="desk-a-{tag}")
colleague = factories.officer(second, username="desk-b-{tag}")
citizens = [factories.citizen(phone="13{n:09d}"), factories.citizen(phone="15{n:09d}")]
print(json.dumps({{"window": window.id, "second": second.id, "officer": officer.username,
                  "colleague": colleague.username, "phones": [c.phone for c in citizens]}}))
"""


def people(live_manage) -> dict:
    tag = uuid.uuid4().hex[:8]
    out = live_manage("shell", "-c", PEOPLE.format(tag=tag, n=int(tag, 16) % 10**9)).stdout
    return json.loads(out.strip().splitlines()[-1])


def ask(page, window: int, text: str) -> None:
    page.goto(f"/windows/{window}/")
    page.locator("main form button[type=submit]").click()
    page.click("#statement-ok")
    page.fill("#body", text)
    page.click("#send")
    expect(page.locator(".message-citizen", has_text=text)).to_contain_text("已送达")


def say(page, text: str) -> None:
    page.fill("#body", text)
    page.click("#send")
    expect(page.locator(".message-citizen", has_text=text)).to_contain_text("已送达")


def badge_sum(desk) -> int:
    return sum(int(t) for t in desk.locator("#desk .badge-alert").all_inner_texts())


def tab_count(desk) -> int:
    match = re.match(r"\((\d+)\)", desk.title())
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_the_desk_never_hides_a_citizens_words_and_counts_truthfully(new_page, live_manage, kind):
    ids = people(live_manage)
    first, second = new_page("phone"), new_page("phone")
    login(first, ids["phones"][0])
    login(second, ids["phones"][1])
    # Nobody on duty: the first question becomes an offline question.
    ask(first, ids["window"], "护照过期了怎么换？")

    desk = new_page(kind)
    login(desk, ids["officer"])
    expect(desk.locator("#presence")).to_have_text("在线")
    expect(desk.locator("#backlog .desk-item")).to_have_count(1)
    expect(desk.locator("#backlog .citizen-presence")).to_have_text("在页面上")
    # A follow-up arrives live before the officer opens the item: both lines must show when it opens.
    say(first, "补充：我人在外地")
    expect(desk.locator("#backlog .badge-alert")).to_have_text("1")
    expect(desk.locator("#backlog .desk-item-preview")).to_have_text("补充：我人在外地")
    assert tab_count(desk) == badge_sum(desk) == 1
    desk.locator("#backlog .desk-item-button").click()
    for text in ["护照过期了怎么换？", "补充：我人在外地"]:
        expect(desk.locator("#transcript .message-citizen", has_text=text)).to_have_count(1)
    expect(desk).to_have_title(re.compile(r"^值班台"))

    # Take the offline question; then a second citizen queues behind the limit of one.
    desk.click("#take")
    expect(desk.locator("#chats .desk-item")).to_have_count(1)
    ask(second, ids["window"], "身份证丢了怎么补办？")
    say(second, "在外地能补办吗？")
    expect(desk.locator("#queue .badge-alert")).to_have_text("2")
    assert tab_count(desk) == badge_sum(desk) == 2
    desk.keyboard.press("Alt+N")
    expect(desk.locator("#take-next-note")).to_have_text("已达到同时接待上限（1）")
    if kind == "desktop":
        expect(desk.locator("#keyboard-hint")).to_be_visible()

    # Alt+↓ moves to the queued chat; reading it lowers the count by its own badges only.
    say(first, "请问多久能办好？")
    expect(desk.locator("#chats .badge-alert")).to_have_count(0)  # open and read as it arrives
    desk.keyboard.press("Alt+ArrowUp")
    expect(desk.locator("#queue .desk-item.selected")).to_have_count(1)
    expect(desk.locator("#transcript .message-citizen")).to_have_count(2)
    assert tab_count(desk) == badge_sum(desk) == 0

    # The close button says a classification is needed before it is pressed; the error shows in place.
    desk.locator("#chats .desk-item-button").click()
    expect(desk.locator("#close-hint")).to_have_text("结束前需先选择分类")
    desk.click("#close")
    expect(desk.locator("#conv-error")).to_have_text("请先为会话选择分类，再结束。")
    desk.fill("#reply", "请带上旧护照和身份证到出入境窗口办理。")
    desk.click("#reply-send")
    expect(first.locator(".message-officer")).to_contain_text("旧护照")

    # The citizen ends the chat: the open panel says so at once and the reply box is disabled.
    first.once("dialog", lambda dialog: dialog.accept())
    first.click("#end-button")
    expect(desk.locator("#conv-status")).to_have_text("已结束")
    expect(desk.locator("#reply")).to_be_disabled()
    closed = desk.locator("#closed .desk-item", has_text="旧护照")
    expect(closed).to_have_count(1)
    expect(closed.get_by_role("link", name="整理为常见问题")).to_have_attribute(
        "href", re.compile(r"^/faq/publish/\d+/$")
    )


def test_a_chat_transferred_into_an_open_desk_shows_its_whole_history(new_page, live_manage):
    ids = people(live_manage)
    desk = new_page("desktop")
    login(desk, ids["officer"])
    colleague = new_page("desktop")
    login(colleague, ids["colleague"])
    expect(colleague.locator("#presence")).to_have_text("在线")
    citizen = new_page("phone")
    login(citizen, ids["phones"][0])
    ask(citizen, ids["window"], "户口迁移需要什么材料？")
    say(citizen, "是从外省迁入")
    desk.locator("#desk .desk-item-button", has_text="外省").click()
    desk.click("#transfer-box summary")
    desk.select_option("#transfer-window", str(ids["second"]))
    desk.fill("#transfer-note-input", "外省迁入，请户籍窗口接办")
    desk.click("#transfer-form button[type=submit]")
    item = colleague.locator("#desk .desk-item-button", has_text="外省")
    expect(item).to_have_count(1)
    expect(desk.locator("#desk .desk-item-button", has_text="外省")).to_have_count(0)  # gone from the sender
    expect(item.locator(".citizen-presence")).to_have_text("在页面上")
    item.click()
    for text in ["户口迁移需要什么材料？", "是从外省迁入"]:
        expect(colleague.locator("#transcript .message-citizen", has_text=text)).to_have_count(1)
    expect(colleague.locator("#transcript")).to_contain_text("转至")
    # The internal note shows at once, not only after the desk reconnects.
    expect(colleague.locator("#transfer-note")).to_contain_text("外省迁入，请户籍窗口接办")
    # The open conversation's header says whether the citizen is still there, like its list item.
    expect(colleague.locator("#conv-presence")).to_have_text("在页面上")
    # The citizen leaves the chat page: the item and the header say so, and a screen reader hears it politely.
    citizen.goto("/")
    expect(item.locator(".citizen-presence")).to_have_text("已离开")
    expect(colleague.locator("#conv-presence")).to_have_text("已离开")
    expect(colleague.locator("#desk-announce")).to_contain_text("已离开咨询页面")


def test_without_javascript_the_desk_says_it_needs_it(browser, live_server_url, live_manage):
    ids = people(live_manage)
    context = browser.new_context(base_url=live_server_url, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, ids["officer"])
        page.goto("/desk/")
        expect(page.locator(".noscript-notice")).to_contain_text("需要启用浏览器的 JavaScript")
    finally:
        context.close()
