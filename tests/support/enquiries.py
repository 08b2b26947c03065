"""An enquiry conversation and its erasure, as the privacy tests hold them against
every tracker store."""

from __future__ import annotations

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
