"""Enquiry references (HUB-YYYY-NNNNNN) are never given twice: not after an erasure, not
after the retention purge, not when two processes submit at once; on SQLite and on the
real PostgreSQL (127.0.0.1:5432, a new database per test)."""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import db
from bot.enquiries import store
from bot.enquiries.models import EnquiryRow, ReferenceCounterRow
from harness.servers import reachable


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request, tmp_path):
    """A new database with every table, as the start-up commands leave it."""
    if request.param == "sqlite":
        made = db.session_factory(f"sqlite:///{tmp_path / 'enquiries.db'}")
        db.create_schema(made)
        yield made
        return
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not running")
    name = f"hub_refs_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    assert db.ensure_database(url) == "created"
    yield db.session_factory(url)
    db.engine(url).dispose()
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'DROP DATABASE "{name}" WITH (FORCE)'],
        capture_output=True,
        check=False,
    )


def enquiry(facts, conversation_id: str) -> store.NewEnquiry:
    contact = facts.contact_for_hub(facts.hubs[0].key)
    return store.NewEnquiry(
        conversation_id=conversation_id,
        channel="rest",
        visitor_name="Anna Schmidt",
        visitor_email="anna@example.com",
        visitor_organisation="Sensorik GmbH",
        text="We build pressure sensors and look for a research partner.",
        contact=contact,
        hub=facts.hubs[0].key,
        topic="sensors",
        routing_reason="sensors are the hub's focus",
        consent_notice_version="2026-11",
    )


def number(reference: str) -> int:
    matched = re.fullmatch(r"HUB-(\d{4})-(\d{6,})", reference)
    assert matched and int(matched[1]) == store.utcnow().year, reference
    return int(matched[2])


def test_an_erased_enquirys_reference_is_not_given_to_the_next_one(facts, factory):
    first = store.submit(enquiry(facts, "visitor-a"), factory).reference
    assert store.delete_conversation_data("visitor-a", factory) == 1
    second = store.submit(enquiry(facts, "visitor-b"), factory).reference
    assert number(second) > number(first)
    store.delete_conversation_data("visitor-b", factory)
    third = store.submit(enquiry(facts, "visitor-c"), factory).reference
    assert number(third) > number(second)
    assert [e.reference for e in store.enquiries(factory)] == [third]


def test_purged_references_are_not_given_again(facts, factory):
    purged = [store.submit(enquiry(facts, f"old-{i}"), factory).reference for i in range(2)]
    with factory.begin() as session:
        session.execute(update(EnquiryRow).values(created_at=store.utcnow() - timedelta(days=200)))
    assert store.purge(180, factory) == 2 and store.enquiries(factory) == []
    after = store.submit(enquiry(facts, "new"), factory).reference
    assert number(after) > max(map(number, purged))


def test_erasure_and_purge_leave_the_counter_alone(facts, factory):
    store.submit(enquiry(facts, "visitor-a"), factory)
    store.submit(enquiry(facts, "visitor-b"), factory)
    store.delete_conversation_data("visitor-a", factory)
    store.purge(0, factory)
    with factory() as session:
        assert session.execute(select(ReferenceCounterRow.last_number)).scalars().all() == [2]


def test_references_submitted_at_once_are_all_different(facts, factory):
    """Separate connections in separate threads, as two action servers would submit: the
    counter's UPDATE serialises them (PostgreSQL's row lock, SQLite's write lock)."""
    threads, each = 4, 10
    start = threading.Barrier(threads)
    given: list[str] = []
    failures: list[BaseException] = []

    def submitter(index: int) -> None:
        start.wait()
        try:
            for i in range(each):
                given.append(store.submit(enquiry(facts, f"v{index}-{i}"), factory).reference)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    running = [threading.Thread(target=submitter, args=(i,)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert failures == []
    assert sorted(map(number, given)) == list(range(1, threads * each + 1))
