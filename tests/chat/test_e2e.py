"""A citizen and a duty officer in two real browsers against a live daphne server."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = pytest.mark.e2e

PEOPLE = """
import json, uuid
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="交通车管")
offline_window = Window.objects.get(department__name="省公安厅", name="出境入境")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="e2e-officer-{tag}")
print(json.dumps({{"window": window.id, "offline_window": offline_window.id, "phone": citizen.phone,
                  "officer": officer.username}}))
"""

DUE = """
from chat.models import Conversation
from django.utils import timezone
c = Conversation.objects.get(pk={pk})
print(timezone.localtime(c.due_at).strftime("%Y年%m月%d日"))
"""


def test_citizen_asks_officer_answers_and_nothing_is_lost(new_page, live_manage):
    tag = uuid.uuid4().hex[:8]
    people = json.loads(
        live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9, tag=tag)).stdout.strip().splitlines()[-1]
    )

    officer = new_page("desktop")
    login(officer, people["officer"])
    expect(officer).to_have_url(re.compile(r"/desk/$"))
    expect(officer.locator("#presence")).to_have_text("在线")
    # 忙碌: still on duty, so citizens queue, but nothing is assigned automatically: the officer takes it.
    officer.select_option("#status-select", "busy")
    expect(officer.locator("#presence")).to_have_text("忙碌")

    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    # The only officer is 忙碌: the page says the citizen will queue, not that someone is 在线.
    expect(citizen.locator("h1")).to_contain_text("需排队")
    citizen.click("text=开始咨询")
    dialog = citizen.locator("#statement-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("职责说明")
    citizen.click("#statement-ok")
    expect(citizen.locator("#status-label")).to_have_text("尚未提问")
    citizen.fill("#body", "驾驶证要不要年检？")
    citizen.click("#send")
    expect(citizen.locator(".message-citizen").last).to_contain_text("已送达")
    expect(citizen.locator("#queue-info")).to_contain_text("排队中：下一位就是您")

    queued = officer.locator("#queue .desk-item", has_text="驾驶证要不要年检")
    expect(queued).to_have_count(1)
    queued.click()
    officer.click("#take")
    expect(officer.locator("#chats .desk-item", has_text="驾驶证要不要年检")).to_have_count(1)
    officer.fill("#reply", "c证无需年检，6年有效期满换证时提交体检证明即可。")
    officer.click("#reply-form button[type=submit]")
    expect(citizen.locator(".message-officer")).to_contain_text("c证无需年检")
    expect(citizen.locator("#status-label")).to_have_text("进行中")

    # The officer's network goes away; the citizen keeps writing; back on line the desk has all of it once.
    officer.context.set_offline(True)
    officer.evaluate("window.zwtDesk.socket.drop()")
    expect(officer.locator("#desk-connection")).to_be_visible()
    for text in ["体检去哪里做？", "要带什么材料？"]:
        citizen.fill("#body", text)
        citizen.click("#send")
        expect(citizen.locator(".message-citizen", has_text=text)).to_contain_text("已送达")
    officer.context.set_offline(False)
    expect(officer.locator("#desk-connection")).to_be_hidden(timeout=20_000)
    for text in ["体检去哪里做？", "要带什么材料？"]:
        expect(officer.locator("#transcript .message-citizen", has_text=text)).to_have_count(1)
    seqs = officer.locator("#transcript [data-seq]").evaluate_all("nodes => nodes.map(n => Number(n.dataset.seq))")
    assert seqs == sorted(set(seqs)) and seqs == list(range(1, len(seqs) + 1))

    # An offline question at a window with nobody on duty gets its next-working-day due time.
    citizen.goto(f"/windows/{people['offline_window']}/")
    citizen.click("text=我要留言")
    citizen.click("#statement-ok")
    citizen.fill("#body", "护照过期了怎么换？")
    citizen.click("#send")
    notice = citizen.locator(".message-system", has_text="留言")
    expect(notice).to_be_visible()
    conversation_id = int(re.search(r"/my/conversations/(\d+)/", citizen.url).group(1))
    due = live_manage("shell", "-c", DUE.format(pk=conversation_id)).stdout.strip().splitlines()[-1]
    expect(notice).to_contain_text(due)
    citizen.goto("/my/")
    expect(citizen.locator(".consultations")).to_contain_text("留言待答复")
