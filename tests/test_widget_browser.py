"""The chat widget in a real browser (Debian's chromium driven by Playwright) against
the real web app, Rasa server (socket.io channel, running the actions), handoff
dispatcher and SMTP server (aiosmtpd). The demo page's policy admits scripts and
styles only with its nonce, so every test here also runs the widget under it."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import conversations
from bot.settings import PROJECT_ROOT
from harness.servers import free_port, running_assistant
from tests.support.browser import answer, ask, chromium, open_widget, playwright_or_skip, web_app

pytestmark = pytest.mark.e2e

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = PROJECT_ROOT / "docs" / "widget.png"
PRIVACY_URL = "https://hub.example.org/privacy-notice"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

playwright_api = playwright_or_skip()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, smtp):
    workdir = tmp_path_factory.mktemp("widget")
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    with running_assistant(
        workdir,
        extra_env={"CORS_ORIGINS": origin, "PRIVACY_NOTICE_URL": PRIVACY_URL, **smtp.env},
        with_dispatcher=True,
    ) as assistant:
        env = {**assistant.env, "RASA_PUBLIC_URL": assistant.url}
        with web_app(workdir, env, web_port):
            yield assistant, origin


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as launched:
        yield launched


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
    assert page.title() == "Digital Hub Dresden/Leipzig – Anfrage-Assistent"
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Smart Systems und Smart Infrastructure"
    )
    assert "Öffnen Sie den Chat" in page.locator("main").inner_text()
    assert page.get_by_role("navigation", name="Sprache").is_visible()
    page.get_by_role("button", name="Mit dem Hub-Assistenten chatten").click()
    assert page.get_by_role("link", name="Datenschutzhinweise").get_attribute("href") == PRIVACY_URL
    assert page.get_by_role("button", name="Neu beginnen").is_visible()
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
    page.keyboard.type("I'd like to send an enquiry")
    page.keyboard.press("Enter")
    answer(page, "Which hub")
    page.keyboard.press("Shift+Tab")  # from the input back to the question's last button
    focused = "document.getElementById('hub-widget').shadowRoot.activeElement.textContent"
    assert page.evaluate(focused) == LEIPZIG
    page.keyboard.press("Enter")
    answer(page, "What is your name?")
    assert page.locator(".reply:enabled").count() == 0
    page.keyboard.press("Tab")  # back to the input: the clicked button is disabled now
    page.keyboard.type("who is the contact?")
    page.keyboard.press("Enter")
    answer(page, "Dr Eric Weber")
    page.keyboard.press("Escape")
    assert page.get_by_role("button", name="Chat with the hub assistant").is_visible()
    assert page.evaluate(focused) == ""  # the launcher, an icon named by its aria-label
    assert page.evaluate(focused.replace("textContent", "className")) == "bubble"


def test_unreachable_notice_then_the_conversation_goes_on(page, servers):
    assistant, _ = servers
    box = open_widget(page)
    ask(page, "hello", "enquiry assistant")
    notice = page.get_by_role("status").filter(has_text="unreachable")
    assistant.stop_rasa()
    notice.wait_for(state="visible", timeout=20_000)
    box.fill("Who is the contact for Dresden?")
    box.press("Enter")  # kept until the assistant is back
    page.wait_for_timeout(300)
    assert page.locator(".typing").is_hidden()  # nobody is typing while it is unreachable
    assistant.start_rasa()
    notice.wait_for(state="hidden", timeout=30_000)
    answer(page, "Dr Sebastian Lindner")
    ask(page, "What is SpinLab?", "accelerator")


@pytest.mark.parametrize(
    "layout, path",
    [("desktop", "/"), ("phone", "/"), ("desktop", "/?lang=de")],
    ids=["desktop", "phone", "german"],
)
def test_no_wcag_2_1_aa_violations_that_axe_finds(browser, servers, layout, path):
    """What docs/accessibility.md states: axe-core's WCAG 2.0/2.1 A and AA rules pass,
    on the page with the open widget, a question with buttons, links and a number."""
    options = PHONE if layout == "phone" else {}
    context = browser.new_context(bypass_csp=True, **options)  # to inject axe-core only
    page = context.new_page()
    page.goto(servers[1] + path)
    page.locator(".bubble").click()
    box = page.locator(".composer input")
    for question in ("Who is the contact for Leipzig?", "delete my data"):
        answers_before = page.locator(".msg.bot").count()
        box.fill(question)
        box.press("Enter")
        page.locator(".msg.bot").nth(answers_before).wait_for(timeout=20_000)
    page.locator(".reply").first.wait_for()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],"
        " resultTypes: ['violations']})"
    )
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]
    context.close()
    assert violations == []


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


LEIPZIG = "Leipzig: smart infrastructure, practical applications"


def stored(page) -> dict | None:
    """What the widget keeps in this browser's localStorage (None: nothing)."""
    return page.evaluate(
        "Object.keys(localStorage).length"
        " ? JSON.parse(localStorage.getItem(Object.keys(localStorage)[0])) : null"
    )


def within(element, width: int, height: int) -> bool:
    box = element.bounding_box()
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and box["y"] + box["height"] <= height
    )


@pytest.mark.parametrize("width, height", [(390, 844), (320, 640)], ids=["phone", "reflow-320"])
def test_on_a_phone_the_chat_takes_the_screen_and_its_input_stays_in_sight(
    browser, servers, width, height
):
    context = browser.new_context(**{**PHONE, "viewport": {"width": width, "height": height}})
    page = context.new_page()
    page.goto(servers[1] + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing to pan
    viewport = page.locator("meta[name=viewport]").get_attribute("content")
    assert "user-scalable" not in viewport and "maximum-scale" not in viewport  # zoom allowed
    bubble = page.get_by_role("button", name="Chat with the hub assistant")
    assert within(bubble, width, height)
    bubble.click()
    panel = page.get_by_role("dialog", name="Dresden/Leipzig digital hub")
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": width, "height": height}
    box = page.get_by_role("textbox", name="Your message")
    send = page.locator("form button[type=submit]")
    assert within(box, width, height) and within(send, width, height)
    assert box.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16  # no zoom on focus
    ask(page, "Who is the contact for Leipzig?", "Dr Eric Weber")
    phone = page.locator(".msg.bot a[href^='tel:']").last
    assert phone.evaluate("e => e.getClientRects().length") == 1  # the number on one line
    with_keyboard = height * 4 // 7
    page.set_viewport_size({"width": width, "height": with_keyboard})  # the keyboard is up
    page.wait_for_function(
        "() => document.getElementById('hub-widget').shadowRoot.querySelector('input')"
        ".getBoundingClientRect().bottom <= window.innerHeight"
    )
    assert within(box, width, with_keyboard) and within(send, width, with_keyboard)
    page.get_by_role("button", name="Close chat").click()
    assert within(bubble, width, with_keyboard)
    context.close()


def test_after_a_reload_the_latest_message_shows_and_only_its_buttons_answer(page):
    open_widget(page)
    ask(page, "I'd like to send an enquiry", "Which hub")
    page.reload()  # the question waiting for an answer keeps its buttons
    leipzig = page.get_by_role("button", name=LEIPZIG)
    leipzig.click()
    answer(page, "What is your name?")
    ask(page, "cancel", "Nothing was stored")
    for question in (
        "What is SpinLab?",
        "Who are the partners in Dresden?",
        "What is enabling IoT?",
    ):
        ask(page, question, "")
    page.reload()
    log = page.get_by_role("log")
    log.locator(".msg.user").last.wait_for()
    assert log.evaluate("e => e.scrollHeight > e.clientHeight")  # there is history above
    assert log.evaluate("e => e.scrollTop + e.clientHeight >= e.scrollHeight - 2")
    assert leipzig.is_disabled()
    assert page.locator(".reply:enabled").count() == 0


def test_screen_readers_hear_each_new_message(page):
    bubble = page.get_by_role("button", name="Chat with the hub assistant")
    assert bubble.get_attribute("aria-expanded") == "false"
    bubble.click()
    assert page.get_by_role("dialog", name="Dresden/Leipzig digital hub").is_visible()
    log = page.get_by_role("log", name="Dresden/Leipzig digital hub")
    assert log.get_attribute("aria-live") == "polite"
    ask(page, "What is SpinLab?", "accelerator")
    latest = log.locator(".msg").last
    assert latest.text_content().startswith("Assistant: ")
    assert "SpinLab" in latest.text_content()
    assert page.locator(".bubble").get_attribute("aria-expanded") == "true"


def test_nothing_is_stored_or_sent_before_the_first_message(browser, servers):
    context = browser.new_context()
    page = context.new_page()
    contacted = []
    page.on("request", lambda request: "/socket.io/" in request.url and contacted.append(request))
    page.on("websocket", lambda socket: contacted.append(socket))
    page.goto(servers[1] + "/")
    open_widget(page)
    assert "passes nothing on without your consent" in page.locator(".privacy").inner_text()
    assert page.get_by_role("link", name="Privacy notice").get_attribute("href") == PRIVACY_URL
    page.wait_for_timeout(500)
    assert contacted == [] and stored(page) is None
    ask(page, "hello", "enquiry assistant")
    assert contacted and stored(page)["session"]
    context.close()


def test_start_over_forgets_the_conversation(page):
    open_widget(page)
    ask(page, "What is SpinLab?", "accelerator")
    first = stored(page)["session"]
    page.get_by_role("button", name="Start over").click()
    assert page.locator(".msg.user").count() == 0 and stored(page) is None
    ask(page, "Who is the contact for Dresden?", "Dr Sebastian Lindner")
    assert stored(page)["session"] not in (None, first)


def test_after_an_erasure_the_browser_keeps_nothing_either(page):
    open_widget(page)
    ask(page, "What is SpinLab?", "accelerator")
    ask(page, "delete my data", "Shall I delete")
    page.get_by_role("button", name="Yes, delete my data").click()
    answer(page, "Done: I deleted")
    page.wait_for_function("localStorage.length === 0")
    assert page.locator(".msg.user").count() == 0
    page.reload()
    open_widget(page)
    assert page.locator(".msg.bot").count() == 1  # the welcome only
    assert page.get_by_text("What is SpinLab?").count() == 0


def test_the_contact_reads_the_conversation_as_the_visitor_saw_it(page, smtp):
    open_widget(page)
    ask(page, "I'd like to send an enquiry", "Which hub")
    page.get_by_role("button", name=LEIPZIG).click()
    answer(page, "What is your name?")
    ask(page, "Emil Graf", "e-mail address")
    ask(page, "emil.graf@energie.example", "organisation")
    ask(page, "none", "describe your enquiry")
    ask(page, "We store heat for districts and look for a pilot site.", "May I pass")
    page.get_by_role("button", name="Yes, I agree").click()
    answer(page, "Shall I send it?")
    page.locator(".reply").filter(has_text=re.compile("^Send$")).click()
    sent = answer(page, "Thank you!")
    reference = re.search(r"reference (\S+) ", sent).group(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = [m for m in smtp.mailbox.messages if reference in m["Subject"]]
        to_contact = next((m for m in mails if "weber" in m["To"].lower()), None)
        if to_contact:
            break
        time.sleep(0.1)
    assert to_contact is not None, f"no e-mail to the contact about {reference}"
    for part in ("plain", "html"):
        body = to_contact.get_body((part,)).get_content()
        for label in (LEIPZIG, "Yes, I agree", "Send", "Emil Graf"):
            assert label in body
        assert "/affirm" not in body and "/inform" not in body and '"hub"' not in body
        assert "socketio" not in body and "Website-Chat" in body
        local_times = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d)(?::\d\d)? (CES?T)\b", body)
        assert local_times, "no times in Europe/Berlin"
        for stamp, _ in local_times:
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(
                tzinfo=ZoneInfo("Europe/Berlin")
            )
            assert abs((datetime.now(timezone.utc) - at).total_seconds()) < 600


def test_an_image_or_attachment_is_a_link_to_it(page, servers):
    assistant, _ = servers
    open_widget(page)
    ask(page, "hello", "enquiry assistant")
    session = stored(page)["session"]
    conversation = conversations.conversation_id("socketio", session)
    sent = [
        {
            "event": "bot",
            "text": "The campus map:",
            "data": {"image": "https://hub.example.org/map.png"},
        },
        {
            "event": "bot",
            "data": {
                "attachment": {
                    "type": "file",
                    "payload": {"url": "https://hub.example.org/flyer.pdf", "title": "Flyer"},
                }
            },
        },
    ]
    request = urllib.request.Request(
        f"{assistant.url}/conversations/{conversation}/tracker/events"
        "?output_channel=latest&execute_side_effects=true",
        data=json.dumps(sent).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()
    image = page.get_by_role("link", name="Image")
    image.wait_for(timeout=10_000)
    assert image.get_attribute("href") == "https://hub.example.org/map.png"
    assert page.get_by_role("link", name="Flyer").get_attribute("href") == (
        "https://hub.example.org/flyer.pdf"
    )
    assert "[object Object]" not in page.locator(".log").inner_text()
    page.reload()  # kept with the history
    assert page.get_by_role("link", name="Flyer").is_visible()
