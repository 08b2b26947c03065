"""The operator console in a real browser (Debian's chromium driven by Playwright) against
the real web app, Rasa server, dispatcher and SMTP server (aiosmtpd): an operator signs
in, finds an enquiry made in the same test, resends its failed e-mails, sees a declined
question among the gaps, runs a routing dry run; a signed-out browser and a form without
its CSRF token get nothing."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from bot import db
from bot.console import accounts
from bot.enquiries import store
from bot.settings import PROJECT_ROOT
from harness.servers import Visitor, free_port, running_assistant
from tests.support.browser import chromium, playwright_or_skip, web_app
from tests.support.enquiries import writes_and_sends_an_enquiry

pytestmark = pytest.mark.e2e

SCREENSHOT = PROJECT_ROOT / "docs" / "console.png"
PASSWORD = "a long enough password"

playwright_api = playwright_or_skip()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, smtp):
    workdir = tmp_path_factory.mktemp("console")
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    env = {
        **smtp.env,
        "CORS_ORIGINS": origin,
        "OPS_TOKEN": uuid.uuid4().hex,
        "HANDOFF_GIVE_UP_HOURS": "0.0001",  # a refused e-mail fails for good at once
        "CONSOLE_SIGN_INS_PER_MINUTE": "100",  # every test signs in; test_console tests the limit
    }
    with running_assistant(workdir, extra_env=env, with_dispatcher=True) as assistant:
        web_env = {
            **assistant.env,
            "RASA_PUBLIC_URL": assistant.url,
            "RASA_SERVERS": assistant.url.removeprefix("http://"),
        }
        with web_app(workdir, web_env, web_port):
            factory = db.session_factory(assistant.database)
            accounts.add(factory, "anna", PASSWORD)
            yield assistant, origin, factory


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def sign_in(page, origin: str, password: str = PASSWORD) -> None:
    page.goto(f"{origin}/console/")
    page.get_by_label("Name").fill("anna")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def an_enquiry_whose_mails_failed(assistant, smtp, factory) -> str:
    smtp.mailbox.refuse = True
    visitor = Visitor(assistant)
    writes_and_sends_an_enquiry(visitor, "Vera Sommer", f"vera.{uuid.uuid4().hex[:6]}@example.com")
    (enquiry,) = visitor.enquiries()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (row,) = store.enquiries(factory, reference=enquiry.reference)
        if store.status_of(row).startswith("failed"):
            return enquiry.reference
        time.sleep(0.5)
    raise AssertionError(f"the e-mails of {enquiry.reference} did not fail")


def test_signed_out_every_console_url_goes_to_the_sign_in_page_showing_nothing(page, servers, smtp):
    assistant, origin, factory = servers
    reference = an_enquiry_whose_mails_failed(assistant, smtp, factory)
    smtp.mailbox.refuse = False
    for path in (
        "/console/",
        "/console/enquiries",
        f"/console/enquiries/{reference}",
        f"/console/enquiries/{reference}/export",
        "/console/gaps",
        "/console/gaps/export",
        "/console/audit",
        "/console/no-such-page",
    ):
        page.goto(origin + path)
        assert page.url.startswith(f"{origin}/console/signin"), path
        shown = page.locator("body").inner_text()
        assert reference not in shown and "Vera" not in page.content(), path
    posted = page.request.post(f"{origin}/console/enquiries/{reference}/erase", max_redirects=0)
    assert posted.status == 303 and "/console/signin" in posted.headers["location"]
    assert store.enquiries(factory, reference=reference)  # still there


def test_a_wrong_password_is_refused_and_the_attempt_audited(page, servers):
    _, origin, factory = servers
    sign_in(page, origin, password="not the password at all")
    assert page.get_by_role("alert").inner_text() == "Name or password is wrong."
    assert "/console/signin" in page.url


def test_an_operator_resends_a_failed_enquiry_and_it_reaches_the_contact(page, servers, smtp):
    assistant, origin, factory = servers
    reference = an_enquiry_whose_mails_failed(assistant, smtp, factory)
    smtp.mailbox.refuse = False
    sign_in(page, origin)
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    page.get_by_role("link", name="Enquiries").click()
    row = page.get_by_role("row").filter(has_text=reference)
    assert "failed" in row.inner_text() and "website chat" not in row.inner_text()
    assert "REST API" in row.inner_text()  # the channel, by name
    row.get_by_role("link", name=reference).click()
    assert "Question about HPC." in page.locator("main").inner_text()
    page.get_by_role("button", name="Resend failed e-mails").click()
    assert page.get_by_role("status").inner_text() == "2 failed e-mail(s) queued again."
    deadline = time.monotonic() + 30
    while not any(reference in m["Subject"] for m in smtp.mailbox.messages):
        assert time.monotonic() < deadline, "the resent e-mail did not arrive"
        time.sleep(0.2)
    page.reload()
    assert "handed over" in page.locator("main").inner_text()
    page.get_by_role("link", name="Audit log").click()
    log = page.locator("table").inner_text()
    assert "resend" in log and reference in log and "sign-in refused" in log


def test_a_declined_question_shows_among_the_gaps_with_its_conversation(page, servers):
    assistant, origin, _ = servers
    question = f"what is the weather in Dresden tomorrow {uuid.uuid4().hex[:4]}"
    Visitor(assistant).says(question)
    sign_in(page, origin)
    page.get_by_role("link", name="Gaps").click()
    page.get_by_label("Kind").select_option("declined")
    page.get_by_role("button", name="Show").click()
    group = page.get_by_role("row").filter(has_text=question)
    assert "declined" in group.inner_text()
    group.get_by_role("link", name="1").first.click()
    assert question in page.locator("main").inner_text()


def test_a_routing_dry_run_names_the_contact_and_why(page, servers):
    _, origin, _ = servers
    sign_in(page, origin)
    page.get_by_role("link", name="Routing dry run").click()
    page.get_by_label("Message").fill("Who is the contact for the Leipzig hub?")
    page.get_by_role("button", name="Route").click()
    verdict = page.locator(".verdict").inner_text()
    assert "Eric Weber" in verdict and "Leipzig" in verdict
    assert "Leipzig" in page.locator(".result").inner_text()


def test_a_form_without_its_csrf_token_changes_nothing(page, servers, smtp):
    assistant, origin, factory = servers
    reference = an_enquiry_whose_mails_failed(assistant, smtp, factory)
    smtp.mailbox.refuse = False
    sign_in(page, origin)  # the browser has a session now
    for form in ({}, {"csrf": "guessed"}):
        answer = page.request.post(
            f"{origin}/console/enquiries/{reference}/erase", form=form, max_redirects=0
        )
        assert answer.status == 403
    assert store.enquiries(factory, reference=reference)
    page.goto(f"{origin}/console/enquiries/{reference}/erase")
    page.get_by_role("button", name="Yes, erase it").click()
    assert f"Enquiry {reference} was erased." == page.get_by_role("status").inner_text()
    assert store.enquiries(factory, reference=reference) == []


def test_the_console_speaks_german_and_the_overview_is_drawn(page, servers):
    _, origin, _ = servers
    sign_in(page, origin)
    page.goto(f"{origin}/console/?lang=de")
    assert page.get_by_role("heading", level=1).inner_text() == "Überblick"
    assert page.get_by_role("link", name="Lücken").is_visible()
    page.locator(".uplot").first.wait_for(timeout=10_000)  # the charts, under the nonce policy
    assert re.search(r"\d{4}-W\d{2}", page.locator("table:not(.u-legend)").first.inner_text())
    page.goto(f"{origin}/console/?lang=en")
    page.locator(".uplot").first.wait_for(timeout=10_000)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
