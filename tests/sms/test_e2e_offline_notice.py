"""In Chromium: a citizen leaves an offline question (留言); an officer answers it from the desk in three lines;
the citizen gets exactly one SMS notice (outbox of the live server), without the answer's words."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = pytest.mark.e2e

PEOPLE = """
import json
from departments.models import Department
from tests import factories
window = factories.window(Department.objects.get(name="省公安厅"), name="短信通知{tag}")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="e2e-sms-{tag}")
print(json.dumps({{"window": window.id, "phone": citizen.phone, "officer": officer.username}}))
"""

NOTICES = """
import json
from sms.models import SmsMessage
rows = SmsMessage.objects.filter(masked_phone="{masked}", template="notice_answered")
print(json.dumps([[row.text, row.status] for row in rows]))
"""


def test_offline_question_answered_from_the_desk_sends_one_notice(new_page, live_manage):
    tag = uuid.uuid4().hex[:8]
    people = json.loads(
        live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9, tag=tag)).stdout.strip().splitlines()[-1]
    )
    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    citizen.click("text=我要留言")
    citizen.click("#statement-ok")
    citizen.fill("#body", f"护照丢了怎么补办？（{tag}）")
    citizen.click("#send")
    expect(citizen.locator(".message-system", has_text="留言")).to_be_visible()

    officer = new_page("desktop")
    login(officer, people["officer"])
    officer.locator("#backlog .desk-item", has_text=tag).click()
    officer.click("#take")
    for line in ("您好，护照遗失需本人到出入境窗口申请补发。", "请带身份证原件。", "补发一般需要 7 个工作日。"):
        officer.fill("#reply", line)
        officer.click("#reply-form button[type=submit]")
        expect(officer.locator("#transcript .message-officer", has_text=line)).to_have_count(1)

    masked = f"{people['phone'][:3]}****{people['phone'][7:]}"
    rows = json.loads(live_manage("shell", "-c", NOTICES.format(masked=masked)).stdout.strip().splitlines()[-1])
    assert len(rows) == 1
    text, _status = rows[0]
    assert f"短信通知{tag}的留言已答复" in text and "护照" not in text
