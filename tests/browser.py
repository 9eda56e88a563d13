"""Helpers for end-to-end tests that drive the live server through Playwright pages."""

PASSWORD = "Zwt-test-2026!"  # the factories' password (tests/factories.py)


def login(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
