"""The chat widget as a visitor uses it, in Debian's chromium driven by Playwright."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_widget(page):
    page.get_by_role("button", name="Chat with the hub assistant").click()
    return page.get_by_role("textbox", name="Your message")


def answer(page, expect: str) -> str:
    """The text of the latest answer that says ``expect``, once it has come."""
    said = page.locator(".msg.bot").filter(has_text=expect).last
    said.wait_for(timeout=20_000)
    return said.inner_text()


def ask(page, text: str, expect: str) -> str:
    """Sends ``text`` and waits for the answer to it that says ``expect``."""
    answers_before = page.locator(".msg.bot").count()
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")
    page.locator(".msg.bot").nth(answers_before).wait_for(timeout=20_000)
    return answer(page, expect)
