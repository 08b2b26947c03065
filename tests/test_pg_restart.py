"""A PostgreSQL restart in the middle of conversations (production layout: SQL tracker
store, project database and Redis lock store), on a private cluster that may be
restarted without disturbing the machine's shared PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from harness.production import REDIS, production_env, shared_endpoints
from harness.servers import Visitor, reachable, running_assistant
from tests.support import postgres
from tests.support.metrics import get

pytestmark = pytest.mark.e2e

TRACKER_DB = f"hub_pg_restart_{uuid.uuid4().hex[:10]}"  # also the Redis key prefix
WEBER_PHONE = "+49 (0)341 355 785 70"
LINDNER_PHONE = "+49 (0)351 56 41 270"

if postgres.missing():
    pytest.skip(f"no private PostgreSQL cluster: {postgres.missing()}", allow_module_level=True)
if not reachable(*REDIS):
    pytest.skip("the production lock store needs Redis on 127.0.0.1:6379", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster():
    server = postgres.PrivateCluster()
    try:
        server.start()
        server.create_database("hub")
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def assistant(cluster, smtp, tmp_path_factory):
    """The production endpoints, with the tracker store on the private cluster."""
    env = {
        **production_env(TRACKER_DB),
        "TRACKER_DB_HOST": "127.0.0.1",
        "TRACKER_DB_PORT": str(cluster.port),
        **smtp.env,
    }
    with running_assistant(
        tmp_path_factory.mktemp("pg_restart"),
        extra_env=env,
        endpoints_extra=shared_endpoints(),
        with_dispatcher=True,
        database=cluster.url("hub"),
    ) as running:
        yield running


def stored_user_texts(cluster, sender: str) -> list[str]:
    """What the tracker store holds, read from PostgreSQL itself."""
    engine = create_engine(cluster.url(TRACKER_DB))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user'"
                    " ORDER BY id"
                ),
                {"sender": f"rest:{sender}"},  # REST conversations' namespace
            )
            return [json.loads(data)["text"] for (data,) in rows]
    finally:
        engine.dispose()


def test_a_conversation_keeps_its_context_across_a_restart(assistant, cluster):
    visitor = Visitor(assistant)
    assert "practical applications" in visitor.says("Tell me about the Leipzig hub")
    partners = visitor.says("who are its partners?")
    assert "Porsche" in partners and "Infineon" not in partners
    cluster.restart()
    contact = visitor.says("and who is the contact there?")
    assert WEBER_PHONE in contact and LINDNER_PHONE not in contact
    assert "Porsche" in visitor.says("who are its partners?")
    assert stored_user_texts(cluster, visitor.sender) == [
        "Tell me about the Leipzig hub",
        "who are its partners?",
        "and who is the contact there?",
        "who are its partners?",
    ]


def test_a_message_written_while_postgresql_is_down_waits_for_it(assistant, cluster):
    visitor = Visitor(assistant)
    assert "practical applications" in visitor.says("Tell me about the Leipzig hub")
    cluster.stop()
    assert get(f"{assistant.url}/webhooks/ops/readyz")[0] == 503
    with ThreadPoolExecutor(max_workers=1) as pool:
        reply = pool.submit(visitor.says, "and who is the contact there?")
        time.sleep(3)
        cluster.start()
    contact = reply.result()
    assert WEBER_PHONE in contact and LINDNER_PHONE not in contact
    assert stored_user_texts(cluster, visitor.sender) == [
        "Tell me about the Leipzig hub",
        "and who is the contact there?",
    ]


def test_an_enquiry_begun_before_a_restart_is_stored_and_handed_over_after_it(
    assistant, cluster, smtp
):
    visitor = Visitor(assistant)
    assert "Which hub" in visitor.says("I'd like to send an enquiry")
    assert "name" in visitor.says('/inform{"hub": "leipzig"}')
    assert "e-mail address" in visitor.says("Greta Hahn")
    cluster.restart()
    visitor.says("greta@example.com")
    visitor.says("none")
    visitor.says("We look for a partner for battery storage trials.")
    visitor.says("/affirm")
    done = visitor.says("/affirm")
    [enquiry] = visitor.enquiries()
    assert enquiry.reference in done and WEBER_PHONE in done
    assert (enquiry.visitor_name, enquiry.visitor_email) == ("Greta Hahn", "greta@example.com")
    mails = [m for m in smtp.mailbox.wait_for(2, timeout=30) if enquiry.reference in m["Subject"]]
    assert len(mails) == 2
