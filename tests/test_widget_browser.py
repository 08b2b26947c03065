"""The chat widget in a real browser (Debian's chromium driven by Playwright) against
the real web app, Rasa server (socket.io channel) and action server."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from harness.servers import _start, _stop, _wait_http, free_port, running_assistant
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, ask, open_widget

pytestmark = pytest.mark.e2e

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = PROJECT_ROOT / "docs" / "widget.png"

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"{CHROMIUM} not installed (make setup installs Debian's chromium)", allow_module_level=True
    )
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("widget")
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    with running_assistant(workdir, extra_env={"CORS_ORIGINS": origin}) as assistant:
        env = {**assistant.env, "WEB_PORT": str(web_port), "RASA_PUBLIC_URL": assistant.url}
        web = _start([sys.executable, "-m", "bot.web.app"], workdir / "web.log", env)
        try:
            _wait_http(f"{origin}/healthz", web, 60, workdir / "web.log")
            yield assistant, origin
        finally:
            _stop(web)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, servers):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(servers[1] + "/")
    yield page
    context.close()


def test_ask_for_the_dresden_contact_and_call_by_link(page):
    open_widget(page)
    ask(page, "Who is the contact for Dresden?", "Dr Sebastian Lindner")
    phone = page.locator(".msg.bot a[href^='tel:']").last
    assert phone.get_attribute("href") == "tel:+493515641270"
    assert phone.inner_text() == "+49 (0)351 56 41 270"
    page.screenshot(path=str(SCREENSHOT))


def test_on_a_german_page_the_widget_and_the_assistant_speak_german(page, servers):
    page.goto(servers[1] + "/?lang=de")
    page.get_by_role("button", name="Mit dem Hub-Assistenten chatten").click()
    box = page.get_by_role("textbox", name="Ihre Nachricht")
    box.fill("Dresden")  # a place name: only the page says which language
    box.press("Enter")
    answer = page.locator(".msg.bot").filter(has_text="wenden Sie sich bitte an").last
    answer.wait_for(timeout=20_000)
    assert "Dr. Sebastian Lindner" in answer.inner_text()


def test_quick_reply_buttons_answer(page):
    open_widget(page)
    ask(page, "I have an enquiry about a cooperation", "Which hub")
    page.get_by_role("button", name="Leipzig: smart infrastructure, practical applications").click()
    page.locator(".msg.bot").filter(has_text="Dr Eric Weber").last.wait_for(timeout=20_000)


def test_the_conversation_survives_a_reload(page):
    open_widget(page)
    ask(page, "What is SpinLab?", "accelerator")
    page.reload()
    page.locator(".msg.user").filter(has_text="What is SpinLab?").wait_for(timeout=5_000)
    page.locator(".msg.bot").filter(has_text="accelerator").first.wait_for(timeout=5_000)
    ask(page, "who is the contact there?", "Dr Eric Weber")  # same conversation: same hub


def test_markup_is_shown_as_text_and_never_runs(page):
    open_widget(page)
    attack = "<img src=x onerror=alert(1)>"
    ask(page, attack, "")
    mine = page.locator(".msg.user").filter(has_text=attack)
    assert mine.count() == 1 and mine.locator("img").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_a_question_using_only_the_keyboard(page):
    page.keyboard.press("Tab")  # the language links come first
    for _ in range(4):
        if page.evaluate("document.activeElement && document.activeElement.id") == "hub-widget":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # opens the panel; focus moves to the input
    page.keyboard.type("Who is the contact for Leipzig?")
    page.keyboard.press("Enter")
    page.locator(".msg.bot").filter(has_text="Dr Eric Weber").last.wait_for(timeout=20_000)
    page.keyboard.press("Escape")
    assert page.get_by_role("button", name="Chat with the hub assistant").is_visible()


def test_unreachable_notice_then_the_conversation_goes_on(page, servers):
    assistant, _ = servers
    open_widget(page)
    ask(page, "hello", "enquiry assistant")
    notice = page.get_by_role("status").filter(has_text="unreachable")
    assistant.stop_rasa()
    notice.wait_for(state="visible", timeout=20_000)
    assistant.start_rasa()
    notice.wait_for(state="hidden", timeout=30_000)
    ask(page, "Who is the contact for Dresden?", "Dr Sebastian Lindner")


def test_no_serious_accessibility_violations(browser, servers):
    context = browser.new_context(bypass_csp=True)  # to inject axe-core for the check only
    page = context.new_page()
    page.goto(servers[1] + "/")
    open_widget(page)
    ask(page, "I have an enquiry about a cooperation", "Which hub")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    context.close()
    assert serious == []


def test_widget_size_and_time_to_usable(browser, servers):
    """Not a speed assertion: records the figures docs/widget.md reports."""
    _, origin = servers
    request = urllib.request.Request(
        origin + "/widget/hub-widget.js", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request) as response:
        gzipped = len(response.read())
    context = browser.new_context()
    page = context.new_page()
    started = time.perf_counter()
    page.goto(origin + "/")
    page.get_by_role("button", name="Chat with the hub assistant").wait_for()
    usable_ms = (time.perf_counter() - started) * 1000
    context.close()
    report = PROJECT_ROOT / "reports" / "widget.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps({"gzipped_bytes": gzipped, "page_to_usable_ms": round(usable_ms)}))
    assert gzipped > 0


def test_socket_connections_from_other_origins_are_refused(servers):
    assistant, origin = servers

    def handshake(from_origin: str) -> int:
        request = urllib.request.Request(
            f"{assistant.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": from_origin}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert handshake(origin) == 200
    assert handshake("https://evil.example") == 400
