"""Enquiry references (HUB-YYYY-NNNNNN) are never given twice: not after an erasure, not
after the retention purge, not when two processes submit at once; on SQLite and on the
real PostgreSQL (127.0.0.1:5432, a new database per test)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.enquiries import store
from bot.enquiries.models import EnquiryRow, ReferenceCounterRow
from tests.support.enquiries import new_enquiry
from tests.support.postgres import new_database


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request, tmp_path):
    with new_database(request.param, tmp_path, "refs") as made:
        yield made


def number(reference: str) -> int:
    matched = re.fullmatch(r"HUB-(\d{4})-(\d{6,})", reference)
    assert matched and int(matched[1]) == store.utcnow().year, reference
    return int(matched[2])


def test_an_erased_enquirys_reference_is_not_given_to_the_next_one(facts, factory):
    first = store.submit(new_enquiry(facts, "visitor-a"), factory).reference
    assert store.delete_conversation_data("visitor-a", factory) == 1
    second = store.submit(new_enquiry(facts, "visitor-b"), factory).reference
    assert number(second) > number(first)
    store.delete_conversation_data("visitor-b", factory)
    third = store.submit(new_enquiry(facts, "visitor-c"), factory).reference
    assert number(third) > number(second)
    assert [e.reference for e in store.enquiries(factory)] == [third]


def test_purged_references_are_not_given_again(facts, factory):
    purged = [store.submit(new_enquiry(facts, f"old-{i}"), factory).reference for i in range(2)]
    with factory.begin() as session:
        session.execute(update(EnquiryRow).values(created_at=store.utcnow() - timedelta(days=200)))
    assert store.purge(180, factory) == 2 and store.enquiries(factory) == []
    after = store.submit(new_enquiry(facts, "new"), factory).reference
    assert number(after) > max(map(number, purged))


def test_erasure_and_purge_leave_the_counter_alone(facts, factory):
    store.submit(new_enquiry(facts, "visitor-a"), factory)
    store.submit(new_enquiry(facts, "visitor-b"), factory)
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
                given.append(store.submit(new_enquiry(facts, f"v{index}-{i}"), factory).reference)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    running = [threading.Thread(target=submitter, args=(i,)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert failures == []
    assert sorted(map(number, given)) == list(range(1, threads * each + 1))
