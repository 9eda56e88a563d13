"""A citizen sees earlier answers under the chat box while typing, before sending (real Chromium, daphne)."""
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.services import PROJECT_DIR

pytestmark = pytest.mark.e2e

CORPUS = PROJECT_DIR.parent / "shared" / "eval" / "faq_corpus.jsonl"

PEOPLE = """
import json
from departments.models import Window
from tests import factories
window = Window.objects.get(department__name="省公安厅", name="交通车管")
citizen = factories.citizen(phone="13{n:09d}")
print(json.dumps({{"window": window.id, "phone": citizen.phone}}))
"""


def test_citizen_typing_sees_the_published_answer_before_sending(new_page, live_manage, tmp_path):
    # The traffic window's entries of the corpus, imported by another process than the server's:
    # the server notices the new index version at its next search.
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    traffic = [r for r in rows if r["department"] == "省公安厅" and r["window"] == "交通车管"]
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in traffic), encoding="utf-8")
    live_manage("faq_import", str(path), "--verbosity", "0")
    tag = uuid.uuid4().hex[:8]
    people = json.loads(live_manage("shell", "-c", PEOPLE.format(n=int(tag, 16) % 10**9)).stdout.strip().splitlines()[-1])

    citizen = new_page("phone")
    citizen.goto("/accounts/login/")
    citizen.fill("#id_username", people["phone"])
    citizen.fill("#id_password", "Zwt-test-2026!")
    citizen.click("form button[type=submit]")
    citizen.goto(f"/windows/{people['window']}/")
    citizen.locator("form[action$='/chat/'] button[type=submit]").click()
    expect(citizen).to_have_url(re.compile(r"/my/conversations/\d+/$"))
    dialog = citizen.locator("#statement-dialog")
    if dialog.is_visible():
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
