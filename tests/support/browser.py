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


def ask(page, text: str, expect: str):
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")
    page.locator(".msg.bot").filter(has_text=expect).last.wait_for(timeout=20_000)
