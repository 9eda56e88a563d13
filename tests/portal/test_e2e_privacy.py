"""A citizen's personal data in real Chromium: consent at the rating step, download, account deletion."""

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import PASSWORD, login

pytestmark = pytest.mark.e2e

CLOSED_CHAT = """
import json
from chat import actions
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="交通车管")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="privacy-e2e-{tag}")
conversation = actions.open_conversation(citizen=citizen, window=window)
actions.send_message(conversation=conversation, sender=citizen, body="我叫钱{tag}，驾驶证到期了怎么换？", client_id="q")
actions.take_conversation(officer=officer, conversation=conversation)
actions.send_message(conversation=conversation, sender=officer, body="到期前90日内可在交管12123申请换证。", client_id="a")
actions.classify_conversation(conversation=conversation, officer=officer, classification="valid")
actions.close_conversation(conversation=conversation, by=officer)
print(json.dumps({{"phone": citizen.phone, "conversation": conversation.id, "tag": "{tag}"}}))
"""

STATE = """
import json
from chat.models import Conversation
from oversight.models import AuditLog
from portal.models import User
c = Conversation.objects.select_related("citizen").get(pk={conversation})
print(json.dumps({{"consent": c.publication_consent, "rating": c.rating, "active": c.citizen.is_active,
                  "username": c.citizen.username, "audit": sorted(set(AuditLog.objects.filter(object_id=str(c.citizen_id))
                  .values_list("action", flat=True)))}}))
"""


def closed_chat(live_manage) -> dict:
    tag = uuid.uuid4().hex[:8]
    output = live_manage("shell", "-c", CLOSED_CHAT.format(n=int(tag, 16) % 10**9, tag=tag)).stdout
    return json.loads(output.strip().splitlines()[-1])


def state(live_manage, conversation: int) -> dict:
    return json.loads(
        live_manage("shell", "-c", STATE.format(conversation=conversation)).stdout.strip().splitlines()[-1]
    )


def test_citizen_consents_at_the_rating_step_and_changes_it_in_my_consultations(new_page, live_manage):
    chat = closed_chat(live_manage)
    page = new_page("phone")
    login(page, chat["phone"])
    page.goto(f"/my/conversations/{chat['conversation']}/")
    rating = page.locator("#rating")
    expect(rating).to_be_visible()
    consent = page.get_by_label("同意在去除个人信息后公开本次问答，帮助其他市民")
    expect(consent).not_to_be_checked()  # off unless the citizen ticks it
    page.get_by_label("非常满意").check()
    consent.check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#rated")).to_be_visible()
    # The rating goes over the socket and the consent over HTTP; both are stored.
    for _ in range(10):
        now = state(live_manage, chat["conversation"])
        if now["consent"] and now["rating"]:
            break
    assert (now["consent"], now["rating"]) == (True, 5)

    page.goto("/my/")
    card = page.locator(f"#consultation-{chat['conversation']}")
    expect(card).to_contain_text("您已同意在去除个人信息后公开本次问答")
    card.get_by_role("button", name="不同意公开").click()
    expect(page.locator(f"#consultation-{chat['conversation']}")).to_contain_text("本次问答不会公开")
    assert state(live_manage, chat["conversation"])["consent"] is False


def test_citizen_downloads_their_data_and_deletes_the_account(new_page, live_manage):
    chat = closed_chat(live_manage)
    page = new_page("desktop")
    login(page, chat["phone"])
    page.goto("/my/")
    page.get_by_role("link", name="下载我的全部数据").click()
    page.get_by_label("JSON（便于转存到其他系统）").check()
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="下载").click()
    data = json.loads(Path(downloaded.value.path()).read_text(encoding="utf-8"))
    assert data["账户"][0]["手机号"] == chat["phone"]
    assert f"我叫钱{chat['tag']}，驾驶证到期了怎么换？" in [m["内容"] for m in data["消息"]]

    page.goto("/my/")
    page.get_by_role("link", name="注销账户并删除个人信息").click()
    page.get_by_label("登录密码").fill(PASSWORD)
    page.get_by_label("我确认注销账户，删除我的个人信息").check()
    page.get_by_role("button", name="注销账户").click()
    expect(page.locator("body")).to_contain_text("您的账户已注销")
    after = state(live_manage, chat["conversation"])
    assert after["active"] is False and re.fullmatch(r"deleted-\d+", after["username"])
    assert after["audit"] == ["account_delete", "data_export"]

    login(page, chat["phone"])
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
