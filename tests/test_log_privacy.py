"""No personal data (names, e-mail addresses, what visitors wrote) in any log line at
the default log level: not when an enquiry goes through, not when an action fails.

The end-to-end tests run whole enquiry conversations against the real action server,
Rasa server and dispatcher, in both log formats, one of them with an action that fails
on the action server (Rasa logs the failed call; the action server the traceback) and
one whose database refuses to store the enquiry (the action logs the database error),
then search every log for what the visitors typed. The fast tests show the same for
the log filter alone (bot/logs.py), with the error texts Rasa and SQLAlchemy really
produce.
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import Session, declarative_base

from bot import db, logs
from bot.enquiries.models import EnquiryRow, ReferenceCounterRow
from harness.servers import Visitor, running_assistant

# the visitors of the end-to-end conversations
WHOLE = {  # a whole enquiry, stored and e-mailed to the contact and the visitor
    "name": "Henrike Wolkenstein",
    "email": "h.wolkenstein@wolkenstein-consult.example",
    "organisation": "Wolkenstein GmbH",
    "text": "We would like to rent four desks in Plagwitz from March onwards.",
}
FAILING_ACTION = {  # the submit action raises (an internationalised address, too)
    "name": "Erik Brandtner",
    "email": "erik.brandtner@brändtner-werke.example",
    "organisation": "Brandtner GmbH",
    "text": "Our heat pumps need a pilot site in Connewitz.",
}
DATABASE_REFUSES = {  # the database refuses to store the enquiry
    "name": "Greta Lindqvist",
    "email": "greta.lindqvist@nordlicht-leuchten.example",
    "organisation": "Nordlicht AG",
    "text": "Smart street lighting for the Grünau estate, please.",
}


def needles(visitor: dict[str, str]) -> set[str]:
    """Every way a log line could quote what the visitor typed: whole and in parts,
    raw and JSON-escaped."""
    surname = visitor["name"].split()[-1]
    local_part = visitor["email"].split("@")[0]
    plain = {*visitor.values(), surname, local_part, " ".join(visitor["text"].split()[-3:])}
    return plain | {json.dumps(value)[1:-1] for value in plain}


def leaks(logs_by_file: dict[str, str], *visitors: dict[str, str]) -> list[str]:
    found = []
    for name, text in logs_by_file.items():
        for number, line in enumerate(text.splitlines(), 1):
            for visitor in visitors:
                for needle in needles(visitor):
                    if needle in line:
                        found.append(f"{name}:{number} has {needle!r}: {line[:300]}")
    return found


def execute(database: str, statement: str) -> None:
    connection = sqlite3.connect(database.removeprefix("sqlite:///"))
    connection.execute(statement)
    connection.commit()
    connection.close()


@contextmanager
def submit_action_fails(database: str) -> Iterator[None]:
    """A reference counter holding a fraction (as a bad manual edit might leave it):
    the submit action raises ValueError formatting the reference, as any bug in an
    action would raise, with the visitor's data in its tracker."""
    counter = ReferenceCounterRow.__tablename__
    execute(database, f"UPDATE {counter} SET last_number = last_number + 0.5")
    try:
        yield
    finally:
        execute(database, f"UPDATE {counter} SET last_number = CAST(last_number AS INTEGER)")


def fill_in(visitor: Visitor, data: dict[str, str]) -> str:
    """Asks to be put through to Leipzig and fills in the form up to the summary."""
    visitor.says("Please forward my question to Dr Weber")
    visitor.says('/inform{"hub": "leipzig"}')
    visitor.says(data["name"])
    visitor.says(data["email"])
    visitor.says(data["organisation"])
    assert "Privacy notice" in visitor.says(data["text"])
    return visitor.says("/affirm")  # consent; the summary


# LOG_FORMAT, and where the actions run: in the Rasa server (the default), or on the
# action server (ACTION_SERVER=on)
LAYOUTS = [("text", "in-process"), ("json", "in-process"), ("json", "action-server")]


@pytest.fixture(scope="module", params=LAYOUTS, ids=["-".join(p) for p in LAYOUTS])
def conversations(request, tmp_path_factory, smtp):
    """The three conversations in one of the LAYOUTS; every log afterwards, with the
    servers stopped, and the visitors' REST sender ids."""
    log_format, actions_run = request.param
    workdir = tmp_path_factory.mktemp(f"log-privacy-{log_format}-{actions_run}")
    smtp.mailbox.messages.clear()  # each layout's database numbers its enquiries from 1
    with running_assistant(
        workdir,
        extra_env={**smtp.env, "LOG_FORMAT": log_format},
        with_dispatcher=True,
        actions_in_process=actions_run == "in-process",
    ) as assistant:
        whole = Visitor(assistant)
        assert WHOLE["text"] in fill_in(whole, WHOLE)
        assert "HUB-" in whole.says("/affirm")
        reference = whole.enquiries()[0].reference
        delivered = [m for m in smtp.mailbox.wait_for(2) if reference in m["Subject"]]
        assert len(delivered) == 2  # the dispatcher's part of the conversation happened too

        failing = Visitor(assistant)
        assert FAILING_ACTION["email"] in fill_in(failing, FAILING_ACTION)
        with submit_action_fails(assistant.database):
            failing.says("/affirm")
        assert failing.enquiries() == []

        refused = Visitor(assistant)
        assert DATABASE_REFUSES["email"] in fill_in(refused, DATABASE_REFUSES)
        execute(
            assistant.database,
            f"CREATE TRIGGER disk_full BEFORE INSERT ON {EnquiryRow.__tablename__} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
        assert "could not store your enquiry" in refused.says("/affirm")
    texts = {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(workdir.glob("*.log"))
    }
    senders = {"failing": failing.sender, "refused": refused.sender}
    if actions_run == "in-process":  # the actions write to the Rasa server's log
        texts["actions.log"] = texts["rasa.log"]
    return log_format, texts, senders


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.e2e
def test_no_log_line_has_a_visitors_name_address_or_enquiry(conversations):
    _format, texts, _senders = conversations
    assert {"rasa.log", "actions.log", "dispatcher.log"} <= set(texts)
    assert leaks(texts, WHOLE, FAILING_ACTION, DATABASE_REFUSES) == []


@pytest.mark.e2e
def test_the_failures_are_still_logged_with_action_error_type_and_conversation(conversations):
    log_format, texts, senders = conversations
    rasa, actions = texts["rasa.log"], texts["actions.log"]
    # if the action no longer fails so, the test needs another failing action
    assert "Encountered an exception while running action 'action_submit_enquiry'" in rasa
    assert "500, Internal Server Error" in rasa
    assert "ValueError" in actions and "in reference_for" in actions  # the planted failure
    assert "enquiry could not be stored" in actions and "sqlalchemy.exc." in actions
    assert "database or disk is full" in actions and "INSERT INTO enquiry" in actions
    if log_format == "json":
        failed = [
            line
            for line in json_lines(rasa)
            if line["logger"] == "rasa.core.processor" and line["level"] == "ERROR"
        ]
        assert any(senders["failing"] in line.get("conversation_id", "") for line in failed)
        stored = [line for line in json_lines(actions) if line["message"].startswith("enquiry")]
        assert senders["refused"] in stored[0]["conversation_id"]


# --- the filter alone --------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch):
    """A logger writing JSON through a handler that :func:`logs.configure` adopted."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.configure("test", [handler])
    logger = logging.getLogger("test.log_privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


SDK_ERROR_ANSWER = {  # what rasa_sdk's own error handler answers when an action raises
    "error": "'ascii' codec can't encode character '\\xe4' in position 14",
    "request_body": {
        "next_action": "action_submit_enquiry",
        "sender_id": "rest:4711",
        "tracker": {
            "slots": {
                "visitor_name": "Erik Brandtner",
                "visitor_email": "erik.brandtner@brändtner-werke.example",
                "enquiry_text": "Our heat pumps need a pilot site in Connewitz.",
            },
            "events": [{"event": "user", "text": "Erik Brandtner"}],
        },
    },
}


def failed_action_call(body: dict) -> Exception:
    """The exception Rasa's RemoteAction raises for a 500 answer, chained as Rasa does."""
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError

    try:
        try:
            raise ClientResponseError(500, "Internal Server Error", json.dumps(body).encode())
        except ClientResponseError as error:
            raise RasaException(
                "Failed to execute custom action 'action_submit_enquiry'"
            ) from error
    except RasaException as error:
        return error


def test_the_tracker_in_a_failed_action_answer_is_withheld(captured):
    logger, lines = captured
    error = failed_action_call(SDK_ERROR_ANSWER)
    token = logs.conversation_id.set("rest:4711")
    try:
        logger.error(
            "Encountered an exception while running action 'action_submit_enquiry'.",
            exc_info=(type(error), error, error.__traceback__),
        )
        logger.warning("Failed to execute custom action: error '%s'", error.__cause__)
    finally:
        logs.conversation_id.reset(token)
    text = json.dumps(lines(), ensure_ascii=False)
    assert leaks({"log": text}, FAILING_ACTION) == []
    assert "brändtner" not in text and "Connewitz" not in text
    first = lines()[0]
    assert first["conversation_id"] == "rest:4711"
    assert "action_submit_enquiry" in first["message"]
    assert "ClientResponseError: 500, Internal Server Error, body=[withheld]" in first["exception"]


def test_an_error_answer_keeps_the_action_name_and_error_type(captured):
    logger, lines = captured
    error = failed_action_call(
        {"error": "UnicodeEncodeError", "action_name": "action_submit_enquiry", "x": "Dana Roth"}
    )
    logger.error("action failed", exc_info=(type(error), error, error.__traceback__))
    exception = lines()[0]["exception"]
    assert "Dana Roth" not in exception
    assert (
        'body={"action_name": "action_submit_enquiry", "error": "UnicodeEncodeError"}' in exception
    )


def test_the_values_of_a_failed_sql_statement_are_withheld(captured, tmp_path):
    logger, lines = captured
    table = declarative_base()

    class Person(table):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        name = Column(String, unique=True)
        email = Column(String)

    # an engine of another library (Rasa's tracker store), and the project's own
    for engine in (create_engine("sqlite://"), db.engine(f"sqlite:///{tmp_path / 'p.db'}")):
        table.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Person(name="Greta Lindqvist", email="greta@nordlicht-leuchten.example"))
            session.commit()
            session.add(Person(name="Greta Lindqvist", email="greta@nordlicht-leuchten.example"))
            try:
                session.commit()
            except sqlalchemy.exc.IntegrityError:
                logger.exception("enquiry could not be stored")
    text = json.dumps(lines(), ensure_ascii=False)
    assert "Greta" not in text and "nordlicht" not in text
    assert text.count("IntegrityError") >= 2 and "INSERT INTO person" in text  # still useful


def test_our_engine_keeps_the_values_out_of_its_error_texts(tmp_path):
    engine = db.engine(f"sqlite:///{tmp_path / 'e.db'}")
    with engine.connect() as connection:
        try:
            connection.execute(
                sqlalchemy.text("SELECT * FROM missing WHERE name = :n"), {"n": "Eva"}
            )
        except sqlalchemy.exc.OperationalError as error:
            assert "Eva" not in str(error) and "no such table" in str(error)
        else:
            pytest.fail("the statement should fail")


def test_addresses_are_withheld_but_message_ids_urls_and_secrets_handled_as_before(
    captured, monkeypatch
):
    logger, lines = captured
    refused = {"anna.schmidt+hub@sensorik.example": (550, b"5.1.1 <anna@sensorik.example>")}
    logger.warning("delivery of %s failed: SMTPRecipientsRefused: %s", "<m1@hub>", refused)
    logger.warning(
        "delivery of %s failed",
        "<173312345678.4711.1234567890.HUB-2026-000001.contact@hub.example.org>",
    )
    logger.info("events to amqp://guest@rabbit.example.org:5672/ and mailto:eva@müller.example")
    first, second, third = (line["message"] for line in lines())
    assert "anna" not in first and "sensorik" not in first and "550" in first
    assert "HUB-2026-000001.contact@hub.example.org" in second
    assert "amqp://guest@rabbit.example.org" in third and "eva" not in third
    assert logs.withhold_personal_data("Eva <eva@example.org>") == "Eva <[e-mail address]>"
