"""A citizen sees earlier answers under the chat box while typing, before sending (real Chromium, daphne)."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.services import PROJECT_DIR

pytestmark = pytest.mark.e2e

CORPUS = PROJECT_DIR / "faq" / "fixtures" / "faq_demo.jsonl"  # the sample corpus of shared/eval

PEOPLE = """
import json
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="交通车管")
citizen = factories.citizen(phone="13{n:09d}")
officer = factories.officer(window, username="faq-e2e-{tag}")
print(json.dumps({{"window": window.id, "phone": citizen.phone, "officer": officer.username}}))
"""


def login(page, username: str, password: str = "Zwt-test-2026!"):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")


def setup(live_manage, tmp_path) -> dict:
    """Import the traffic window's corpus entries and make a citizen and an officer of that window.

    The import runs in another process than the server's: the server notices the new index
    version at its next search.
    """
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    traffic = [r for r in rows if r["department"] == "省公安厅" and r["window"] == "交通车管"]
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in traffic), encoding="utf-8")
    live_manage("faq_import", str(path), "--verbosity", "0")
    tag = uuid.uuid4().hex[:8]
    output = live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9, tag=tag)).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_citizen_typing_sees_the_published_answer_before_sending(new_page, live_manage, tmp_path):
    people = setup(live_manage, tmp_path)

    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    citizen.locator("form[action$='/chat/'] button[type=submit]").click()
    expect(citizen).to_have_url(re.compile(r"/my/conversations/\d+/$"))
    expect(citizen.locator("#statement-dialog")).to_be_visible()  # a new conversation shows the duty statement
    citizen.click("#statement-ok")

    citizen.locator("#body").press_sequentially("驾照要年审吗", delay=60)

    box = citizen.locator(".faq-suggest")
    expect(box).to_be_visible()
    expect(box).to_contain_text("这些问题可能已有答复")
    first = box.locator("a").first
    expect(first).to_contain_text("机动车驾驶证是否需要年检")
    # Nothing was sent: the question is still in the box, no message of the citizen in the transcript.
    expect(citizen.locator("#body")).to_have_value("驾照要年审吗")
    expect(citizen.locator(".message-citizen")).to_have_count(0)

    with citizen.context.expect_page() as opened:
        first.click()
    answer = opened.value
    expect(answer.locator("h1")).to_have_text("机动车驾驶证是否需要年检？")
    expect(answer.locator(".faq-answer")).to_contain_text("机动车驾驶证本身无需年检")


def test_officer_inserts_an_earlier_answer_into_the_reply_box(new_page, live_manage, tmp_path):
    people = setup(live_manage, tmp_path)

    officer = new_page("desktop")
    login(officer, people["officer"])
    expect(officer).to_have_url(re.compile(r"/desk/$"))
    officer.select_option("#status-select", "busy")  # citizens queue; the officer takes them

    citizen = new_page("phone")
    login(citizen, people["phone"])
    citizen.goto(f"/windows/{people['window']}/")
    citizen.locator("form[action$='/chat/'] button[type=submit]").click()
    expect(citizen.locator("#statement-dialog")).to_be_visible()
    citizen.click("#statement-ok")
    citizen.fill("#body", "我的驾照丢了，要去哪里补办？")
    citizen.click("#send")

    officer.locator("#queue .desk-item", has_text="驾照丢了").click()
    panel = officer.locator("#desk-faq")
    first = panel.locator(".faq-desk-item").first
    expect(first).to_contain_text("驾驶证遗失后怎样补领")
    # Only answers above the search's relevance cut-off are offered (at most five).
    assert 1 <= panel.locator(".faq-desk-item").count() <= 5
    first.get_by_role("button", name=re.compile("插入回复")).click()
    expect(officer.locator("#reply")).to_have_value(re.compile(r"^您好！驾驶证遗失的"))
