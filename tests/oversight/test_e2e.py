"""The supervisor's oversight pages in real Chromium: readable at desktop and phone width, closed to officers."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from demo.demo_data import DEMO_PASSWORD
from tests.browser import login

pytestmark = pytest.mark.e2e


def admin_login(page, username: str):
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_supervisor_reads_dashboard_and_weekly_report(new_page, kind):
    page = new_page(kind)
    admin_login(page, "supervisor")
    page.goto("/admin/oversight/assessment/?month=2026-10")
    expect(page.locator("h1")).to_contain_text("考核看板")
    expect(page.locator(".ov-card")).to_have_count(16)
    expect(page.locator(".ov-card", has_text="答复率").first).to_contain_text("已答复 ÷（有效咨询")
    expect(page.locator(".ov-card", has_text="按期办结率")).to_have_count(1)
    expect(page.locator(".ov-ranking").first).to_contain_text("得分")
    assert page.locator("svg.chart").count() == 5
    expect(page.locator(".ov-table td.name", has_text="省公安厅").first).to_be_visible()
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.click("text=一周运行情况")
    expect(page.locator("h1")).to_contain_text("一周运行情况")
    expect(page.locator("button", has_text="打印")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.emulate_media(media="print")
    expect(page.locator("#header")).to_be_hidden()
    expect(page.locator(".ov-filters").first).to_be_hidden()
    # Printed on A4 landscape (about 1047 CSS pixels inside the margins) no table is cut on the right.
    page.set_viewport_size({"width": 1047, "height": 800})
    assert page.evaluate(
        "[...document.querySelectorAll('.ov-table')].every(t => t.scrollWidth <= t.parentElement.clientWidth + 1)"
    )


def test_officer_cannot_open_the_dashboard(new_page):
    page = new_page("desktop")
    admin_login(page, "gongan_huji")
    response = page.goto("/admin/oversight/assessment/")
    # An officer is either not let into the admin at all, or refused the page.
    assert response.status == 403 or "/admin/login/" in page.url
    expect(page.locator(".ov-card")).to_have_count(0)


PEOPLE = """
import json
from departments.models import Department
from tests import factories
window = factories.window(Department.objects.get(name="省公安厅"), name="监控{tag}")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="wb-officer-{tag}")
print(json.dumps({{"window": window.id, "phone": citizen.phone, "officer": officer.username}}))
"""


def test_wallboard_updates_when_a_citizen_queues(new_page, live_manage):
    tag = uuid.uuid4().hex[:8]
    people = json.loads(
        live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9, tag=tag)).stdout.strip().splitlines()[-1]
    )
    officer = new_page("desktop")
    login(officer, people["officer"])
    expect(officer.locator("#presence")).to_have_text("在线")
    officer.select_option("#status-select", "busy")  # on duty; the question waits in the queue
    expect(officer.locator("#presence")).to_have_text("忙碌")

    board = new_page("desktop")
    admin_login(board, "supervisor")
    board.goto("/admin/oversight/assessment/wallboard/")
    expect(board.locator("#wb-connection")).to_have_text("实时更新中")
    row = board.locator(f"#wallboard tr[data-window='{people['window']}']")
    expect(row.locator(".wb-queued")).to_have_text("0")
    expect(row).to_contain_text("忙碌")

    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    citizen.click("text=开始咨询")
    citizen.click("#statement-ok")
    citizen.fill("#body", "身份证丢了怎么补办？")
    citizen.click("#send")
    # No reload: the websocket brings the queue, and the wait starts counting.
    expect(row.locator(".wb-queued")).to_have_text("1")
    expect(row.locator(".wb-wait")).to_contain_text("秒")
    expect(board.locator("#wb-total-queued")).not_to_have_text("0")
