"""Take the README's screenshots: the main pages at phone (390 px) and desktop (1440 px) width.

    .venv/bin/python docs/screenshots.py            # writes docs/img/*.png

Starts its own daphne on a fresh copy of the demo data (migrate + seed_demo into a temporary SQLite
file), drives the system Chromium with Playwright as a citizen and a duty officer, and stops both on the
way out. Prints one line per image.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: docs/ is on the path, the project is not

from deploy.processes import Daphne, free_port  # noqa: E402

PY = sys.executable
OUT = ROOT / "docs" / "img"
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
PASSWORD = "zwt-demo-2026"
CITIZEN, OFFICER = "13800000002", "gongan_jiaoguan"


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="zwt-shots-"))
    env = {**os.environ, "SQLITE_PATH": str(workdir / "db.sqlite3"), "DEBUG": "1", "FAQ_DISABLE_EMBEDDINGS": "1"}
    for step in (["migrate", "--noinput"], ["seed_demo"]):
        print(f"==> manage.py {' '.join(step)}", flush=True)
        subprocess.run([PY, "manage.py", *step], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    server = Daphne(workdir, free_port(), env, behind_proxy=False, name="screenshots-daphne")
    server.start(timeout=120)
    base = server.url
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
                args=["--no-sandbox", "--disable-gpu"],
            )
            pages = {}
            for name, viewport in WIDTHS.items():
                context = chromium.new_context(base_url=base, viewport=viewport, locale="zh-CN")
                pages[name] = context.new_page()

            def shot(page, name: str, *, full: bool = False) -> None:
                path = OUT / f"{name}.png"
                page.screenshot(path=str(path), full_page=full)
                print(f"    {path.relative_to(ROOT)}", flush=True)

            def login(page, username: str) -> None:
                page.goto("/accounts/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", PASSWORD)
                page.click("main form button[type=submit]")

            # The officer comes on duty at the desk (desktop); the citizen asks from a phone.
            desk = pages["desktop"]
            login(desk, OFFICER)
            desk.goto("/desk/")
            expect(desk.locator("#presence")).to_have_text("在线")
            phone = pages["phone"]
            phone.goto("/")
            shot(phone, "home-phone")
            login(phone, CITIZEN)
            phone.goto("/")
            phone.get_by_role("link", name="交通车管").first.click()
            shot(phone, "window-phone")
            phone.locator("main form button[type=submit]").click()
            phone.click("#statement-ok")
            phone.fill("#body", "驾驶证快到期了，换证需要体检吗？")
            phone.click("#send")
            expect(phone.locator(".message-citizen").last).to_contain_text("已送达")
            item = desk.locator("#desk .desk-item-button", has_text="换证")
            item.first.click()
            desk.fill("#reply", "需要的，请先到指定医院体检，再带身份证到车管所或网上办理。")
            desk.keyboard.press("Control+Enter")
            expect(phone.locator(".message-officer").last).to_contain_text("体检")
            shot(phone, "chat-phone")
            shot(desk, "desk-desktop")
            # The same desk on a phone: the officer's second device.
            small = chromium.new_context(base_url=base, viewport=WIDTHS["phone"], locale="zh-CN").new_page()
            login(small, OFFICER)
            small.goto("/desk/")
            small.locator("#desk .desk-item-button", has_text="换证").first.click()
            expect(small.locator("#conv-presence")).to_have_text("在页面上")
            shot(small, "desk-phone", full=True)
            desk.goto("/")
            shot(desk, "home-desktop")
            chromium.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
