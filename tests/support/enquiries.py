"""Enquiries for tests: a conversation that sends one and has it erased (held against
every tracker store), and one as the submit action hands it to the store."""

from __future__ import annotations

from bot.enquiries import store
from harness.servers import Visitor


def writes_and_sends_an_enquiry(visitor: Visitor, name: str, email: str) -> None:
    visitor.says("I'd like to send an enquiry")
    for answer in ('/inform{"hub": "dresden"}', name, email, "none", "Question about HPC."):
        visitor.says(answer)
    assert email in visitor.says("/affirm")  # the summary
    assert "reference" in visitor.says("/affirm")


def erases(visitor: Visitor) -> None:
    assert "delete" in visitor.says("please delete my data")
    assert "deleted 1 enquiries" in visitor.says("/affirm")


def new_enquiry(facts, conversation_id: str) -> store.NewEnquiry:
    """An enquiry to the first hub's contact, as the submit action would hand it over."""
    hub = facts.hubs[0]
    return store.NewEnquiry(
        conversation_id=conversation_id,
        channel="rest",
        visitor_name="Anna Schmidt",
        visitor_email="anna@example.com",
        visitor_organisation="Sensorik GmbH",
        text="We build pressure sensors and look for a research partner.",
        contact=facts.contact_for_hub(hub.key),
        hub=hub.key,
        topic="sensors",
        routing_reason="sensors are the hub's focus",
        consent_notice_version="2026-11",
    )
