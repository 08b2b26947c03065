"""The chat widget as a visitor uses it, in Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.servers import _start, _stop, _wait_http

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


@contextmanager
def web_app(workdir: Path, env: dict, port: int) -> Iterator[str]:
    """The web app (``python -m bot.web.app``) on ``port`` with ``env``; its origin."""
    origin = f"http://127.0.0.1:{port}"
    process = _start(
        [sys.executable, "-m", "bot.web.app"], workdir / "web.log", {**env, "WEB_PORT": str(port)}
    )
    try:
        _wait_http(f"{origin}/healthz", process, 60, workdir / "web.log")
        yield origin
    finally:
        _stop(process)


@contextmanager
def chromium(playwright_api) -> Iterator:
    """Debian's chromium, headless, driven by Playwright."""
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def playwright_or_skip():
    """Playwright's sync API, or the test module skipped, saying why."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} not installed (make setup installs Debian's chromium)",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api")
