"""The supervisor's oversight pages in real Chromium: readable at desktop and phone width, closed to officers."""
import pytest
from playwright.sync_api import expect

from demo.demo_data import DEMO_PASSWORD

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
    expect(page.locator(".ov-card")).to_have_count(10)
    expect(page.locator(".ov-card", has_text="答复率").first).to_contain_text("已答复 ÷ 有效咨询")
    assert page.locator("svg.chart").count() == 4
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


def test_officer_cannot_open_the_dashboard(new_page):
    page = new_page("desktop")
    admin_login(page, "gongan_huji")
    response = page.goto("/admin/oversight/assessment/")
    # An officer is either not let into the admin at all, or refused the page.
    assert response.status == 403 or "/admin/login/" in page.url
    expect(page.locator(".ov-card")).to_have_count(0)
