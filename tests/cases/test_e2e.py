"""The whole path of a case in real browsers: escalated from the desk, answered in the admin, found by the citizen."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = pytest.mark.e2e

PEOPLE = """
import json
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="治安户籍")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="e2e-cases-{tag}")
print(json.dumps({{"window": window.id, "phone": citizen.phone, "officer": officer.username}}))
"""


def test_officer_escalates_to_governor_mailbox_and_citizen_finds_the_reply(new_page, live_manage):
    tag = uuid.uuid4().hex[:8]
    people = json.loads(
        live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9, tag=tag)).stdout.strip().splitlines()[-1]
    )
    question = f"毕业三年户籍还在学校，怎么迁回老家？（{tag}）"
    reply = f"请持毕业证和户口迁移证明到原籍派出所办理户口迁入。（{tag}）"

    officer = new_page("desktop")
    login(officer, people["officer"])
    expect(officer).to_have_url(re.compile(r"/desk/$"))
    officer.select_option("#status-select", "busy")
    expect(officer.locator("#presence")).to_have_text("忙碌")

    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    citizen.click("text=开始咨询")
    citizen.click("#statement-ok")
    citizen.fill("#body", question)
    citizen.click("#send")
    expect(citizen.locator(".message-citizen", has_text=tag)).to_contain_text("已送达")

    officer.locator("#queue .desk-item", has_text=tag).click()
    officer.click("#take")
    expect(officer.locator("#chats .desk-item", has_text=tag)).to_have_count(1)

    # 转为信件办理 → 省长信箱: the number and the code reach the citizen live, in the officer's name.
    officer.click("#desk-cases >> text=转为信件办理")
    officer.check("#desk-cases input[value=governor_mailbox]")
    officer.fill("#desk-cases textarea >> nth=1", "跨省户籍迁移，请信息中心协调")
    officer.click("#desk-cases >> text=生成受理编号并告知市民")
    expect(officer.locator("#desk-cases [role=status]")).to_contain_text("受理编号 ZWT")
    tracking = citizen.locator(".message-officer", has_text="受理编号")
    expect(tracking).to_contain_text("省长信箱")
    text = tracking.inner_text()
    number = re.search(r"受理编号：(ZWT\d{8}-\d{6})", text).group(1)
    code = re.search(r"查询码：([0-9A-Z]{6})", text).group(1)
    assert "/cases/lookup/" in text and "办理期限" in text
    assert "信息中心协调" not in text  # the internal note stays internal

    # The information center answers it in the admin.
    supervisor = new_page("desktop")
    login(supervisor, "supervisor", "zwt-demo-2026")
    supervisor.goto(f"/admin/cases/case/?q={number}")
    supervisor.click(f"text={number}")
    supervisor.click("#case-workflow input[value=受理]")
    expect(supervisor.locator(".messagelist")).to_contain_text("已受理")
    supervisor.fill("#workflow-reply", reply)
    supervisor.click("#case-workflow input[value=发布答复]")
    expect(supervisor.locator(".messagelist")).to_contain_text("答复已发布")

    # The citizen, still in the chat, gets the reply live; then finds it in 我的咨询 and on the lookup page.
    expect(citizen.locator(".message-system", has_text=tag)).to_contain_text("已答复")
    citizen.goto("/my/")
    mine = citizen.locator(f"#case-{number}")
    expect(mine).to_contain_text("已答复")
    expect(mine).to_contain_text(reply)

    stranger = new_page("phone")
    stranger.goto("/cases/lookup/")
    stranger.fill("#lookup-number", number)
    stranger.fill("#lookup-code", code.lower())
    stranger.click("main form button[type=submit]")
    result = stranger.locator("#case-result")
    expect(result).to_contain_text("已答复")
    expect(result).to_contain_text(reply)
    assert people["phone"] not in stranger.content() and question not in stranger.content()
