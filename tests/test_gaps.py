"""What visitors asked that the assistant could not answer (bot/console/gaps.py): found
in the events the tracker stores save, grouped, marked, exported as training data, and
forgotten on erasure and after the retention period."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot import conversations, db
from bot.console import gaps
from bot.console.models import GapMarkRow, GapRow
from bot.enquiries import store
from bot.settings import PROJECT_ROOT
from harness.servers import Visitor
from nlu.server.tracker_store import ForgettingInMemoryTrackerStore, RestartSafeSQLTrackerStore

DAY = 86400.0
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc).timestamp()  # a Tuesday of 2026-W49


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain"))


@pytest.fixture
def project_db(tmp_path, monkeypatch):
    """The project database the Rasa server writes gaps to, one of the test's own."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    factory = db.session_factory(url)
    db.create_schema(factory)
    return factory


def said(response: str, text: str = "…", at: float = T0) -> BotUttered:
    """A response as Rasa records it: its name in the metadata."""
    return BotUttered(text, metadata={"utter_action": response}, timestamp=at)


def asked(text: str, intent: str = "out_of_scope", at: float = T0) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.95}, timestamp=at)


def turn(text, intent, action, *responses, language="en", at=T0) -> list:
    """One turn as the Rasa server's tracker holds it (as tests/test_tracker_store.py)."""
    return [
        asked(text, intent, at),
        SlotSet("language", language),
        ActionExecuted(action),
        *[said(response, at=at) for response in responses],
        SlotSet("last_question", {"action": action}),
        ActionExecuted("action_listen"),
    ]


WEATHER = turn(
    "what's the weather in Dresden tomorrow?",
    "out_of_scope",
    "action_decline",
    "utter_out_of_scope",
)
OPENING_HOURS = turn(
    "what are the opening hours of SpinLab?",
    "ask_unknown_fact",
    "action_answer_unknown",
    "utter_fact_unknown",
    "utter_contact_line",
)
WHOM = turn("who can I talk to?", "ask_routing", "action_route_enquiry", "utter_ask_which_hub")
ANSWERED = turn(
    "who is the contact for Leipzig?",
    "ask_contact",
    "action_answer_contact",
    "utter_contact_person",
)


def kinds(found) -> list[tuple[str, str]]:
    return [(gap.text, gap.kind) for gap in found]


# --- which messages are gaps ------------------------------------------------------------


def test_each_kind_of_answer_it_could_not_give_is_a_gap_and_an_answer_is_none():
    exactly = turn(
        "when does the fund start exactly?",
        "ask_future_plans",
        "action_answer_programme",
        "utter_fact_unknown_exactly",
        "utter_programme_medium_term",
    )
    for_subject = turn(
        "I'd like to talk about funding",
        "ask_routing",
        "action_route_enquiry",
        "utter_ask_which_hub_for_subject",
    )
    events = WEATHER + ANSWERED + OPENING_HOURS + exactly + WHOM + for_subject
    assert kinds(gaps.gaps_in(events, "rest:v", "en")) == [
        ("what's the weather in Dresden tomorrow?", "declined"),
        ("what are the opening hours of SpinLab?", "unknown"),
        ("when does the fund start exactly?", "unknown"),
        ("who can I talk to?", "which_hub"),
        ("I'd like to talk about funding", "which_hub"),
    ]


def test_the_fallback_and_an_unsure_classifier_are_unsure_even_when_declined_after():
    fallback = [
        asked("and the thing from before?", "ask_hub"),
        ActionExecuted("action_default_fallback"),
        said("utter_default"),
        UserUtteranceReverted(),
    ]
    unsure = turn("asdkjh qwe zzz", "nlu_fallback", "action_uncertain", "utter_out_of_scope")
    routed = turn(
        "micro electronics contact", "nlu_fallback", "action_uncertain", "utter_route_focus"
    )
    assert kinds(gaps.gaps_in(fallback + unsure + routed, "rest:v", "en")) == [
        ("and the thing from before?", "unsure"),
        ("asdkjh qwe zzz", "unsure"),
        ("micro electronics contact", "unsure"),
    ]


def test_a_message_counts_once_with_the_first_kind_its_answer_showed():
    events = turn(
        "fees and which hub?",
        "ask_unknown_fact",
        "action_answer_unknown",
        "utter_fact_unknown",
        "utter_ask_which_hub",
        "utter_out_of_scope",
    )
    assert kinds(gaps.gaps_in(events, "rest:v", "en")) == [("fees and which hub?", "unknown")]


def test_a_gap_has_its_message_time_conversation_key_and_the_language_of_its_turn():
    german = turn(
        "Wie wird das Wetter morgen?",
        "out_of_scope",
        "action_decline",
        "utter_out_of_scope",
        language="de",
        at=T0 + 60,
    )
    unsure = [asked("hmm, zzz", "nlu_fallback", T0 + 120), said("utter_out_of_scope")]
    first, second, third = gaps.gaps_in(WEATHER + german + unsure, "rest:v", None)
    assert (first.language, second.language, third.language) == ("en", "de", "de")
    assert second.at == datetime.utcfromtimestamp(T0 + 60)
    assert second.conversation_id == "rest:v"
    assert second.group_key == gaps.group_key("Wie wird das Wetter morgen?") == "morgen wetter"
    assert [g.language for g in gaps.gaps_in(unsure, "rest:v", "de")] == ["de"]
    assert [g.language for g in gaps.gaps_in(unsure, "rest:v", None)] == ["en"]


def test_dicts_of_the_events_give_the_same_gaps():
    events = WEATHER + ANSWERED + OPENING_HOURS + WHOM
    as_dicts = [event.as_dict() for event in events]
    assert kinds(gaps.gaps_in(as_dicts, "rest:v", "en")) == kinds(
        gaps.gaps_in(events, "rest:v", "en")
    )
    assert len(gaps.gaps_in(as_dicts, "rest:v", "en")) == 3


def test_button_payloads_and_bot_messages_without_a_visitor_message_are_no_gaps():
    button = turn(
        '/inform{"hub": "dresden"}', "inform", "action_route_enquiry", "utter_ask_which_hub"
    )
    greeting_first = [said("utter_out_of_scope")]
    assert gaps.gaps_in(greeting_first + button, "rest:v", "en") == []


def test_the_responses_are_those_of_the_domain(domain):
    for response in gaps.KIND_OF_RESPONSE:
        assert response in domain.responses, response
    assert set(gaps.KIND_OF_RESPONSE.values()) == set(gaps.KINDS)


def test_a_response_a_custom_action_sends_carries_its_name(domain):
    """As Rasa makes the events of the actions' responses (RemoteAction, in-process too)."""
    tracker = DialogueStateTracker.from_events("rest:v", [asked("weather in Dresden?")])
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    uttered = asyncio.run(
        RemoteAction._utter_responses(
            [{"response": "utter_out_of_scope"}, {"response": "utter_ask_which_hub"}],
            CollectingOutputChannel(),
            nlg,
            tracker,
        )
    )
    found = gaps.gaps_in([*tracker.events, *uttered], "rest:v", "en")
    assert kinds(found) == [("weather in Dresden?", "declined")]


# --- group keys --------------------------------------------------------------------------


def test_similar_wording_shares_a_key():
    keys = {
        gaps.group_key(t)
        for t in (
            "What are your opening hours?",
            "opening hours?",
            "Opening hours please",
            "OPENING HOURS, hours!!",
        )
    }
    assert keys == {"hours opening"}
    german = {
        gaps.group_key(t)
        for t in ("Wie sind die Öffnungszeiten?", "Oeffnungszeiten bitte", "öffnungszeiten")
    }
    assert german == {"oeffnungszeiten"}
    assert gaps.group_key("what's the fee?") == gaps.group_key("whats the fee") == "fee"
    assert gaps.group_key("Café für Straßenbahn") == "cafe strassenbahn"


def test_different_questions_and_stopwords_only_keep_apart():
    assert gaps.group_key("opening hours") != gaps.group_key("opening fees")
    assert gaps.group_key("what?") == "what"
    assert gaps.group_key("Why?") == "why"
    assert gaps.group_key("🙂 ???") == ""


def test_a_long_key_is_cut_at_a_word_to_255_characters():
    words = [f"word{n:03d}" for n in range(60)]  # 7 characters each
    key = gaps.group_key(" ".join(reversed(words)))
    assert len(key) <= 255 and key == " ".join(words[: len(key.split())])
    assert len(gaps.group_key("x" * 400)) == 255


# --- groups -------------------------------------------------------------------------------


def gap(text, kind="declined", at=T0, language="en", conversation="rest:a") -> GapRow:
    return GapRow(
        at=datetime.utcfromtimestamp(at),
        conversation_id=conversation,
        language=language,
        kind=kind,
        text=text,
        group_key=gaps.group_key(text),
    )


@pytest.fixture
def recorded(sqlite_factory):
    week = 7 * DAY
    gaps.record(
        sqlite_factory,
        [
            gap("What are your opening hours?", "unknown", T0, conversation="rest:a"),
            gap("opening hours?", "unknown", T0 + week, conversation="rest:b"),
            gap("Opening hours please", "unsure", T0 + week + 60, "en", "rest:c"),
            gap("opening hours?", "unknown", T0 + week + 120, conversation="rest:c"),
            gap("Wetter morgen?", "declined", T0 + 2 * week, "de", "rest:d"),
            gap("weather tomorrow", "declined", T0 + 2 * week, conversation="rest:e"),
            gap("Weather tomorrow!", "declined", T0 + 2 * week + 60, conversation="rest:f"),
            gap("who can I talk to?", "which_hub", T0 + 3 * week, conversation="rest:g"),
        ],
    )
    return sqlite_factory


def test_groups_count_by_iso_week_and_show_recent_examples_and_conversations(recorded):
    hours = gaps.groups(recorded)[0]
    assert hours.key == "hours opening" and hours.count == 4
    assert hours.weeks == {"2026-W49": 1, "2026-W50": 3}
    assert hours.examples == (
        "opening hours?",
        "Opening hours please",
        "What are your opening hours?",
    )
    assert hours.conversations == ("rest:c", "rest:b", "rest:a")
    assert hours.kinds == {"unknown", "unsure"} and hours.languages == {"en"}
    assert hours.last_at == datetime.utcfromtimestamp(T0 + 7 * DAY + 120)
    assert hours.belongs_to is None


def test_groups_are_ordered_by_count_then_the_most_recent(recorded):
    assert [(g.key, g.count) for g in gaps.groups(recorded)] == [
        ("hours opening", 4),
        ("tomorrow weather", 2),
        ("talk", 1),  # the most recent of the single ones
        ("morgen wetter", 1),
    ]


def test_groups_filter_by_time_kind_and_language(recorded):
    since = datetime.utcfromtimestamp(T0 + 7 * DAY + 30)
    assert [(g.key, g.count) for g in gaps.groups(recorded, since=since, kind="unknown")] == [
        ("hours opening", 1)
    ]
    assert [g.key for g in gaps.groups(recorded, language="de")] == ["morgen wetter"]
    assert [g.key for g in gaps.groups(recorded, kind="which_hub")] == ["talk"]
    assert gaps.groups(recorded, kind="no such kind") == []


def test_a_group_shows_at_most_five_examples_and_ten_conversations(sqlite_factory):
    rows = [
        gap(f"opening hours {'?' * n}", at=T0 + n, conversation=f"rest:{n % 12}")
        for n in range(1, 25)
    ]
    rows += [gap(f"Opening hours no. {n}", at=T0 + 100 + n, conversation="rest:x") for n in (1, 2)]
    gaps.record(sqlite_factory, rows)
    by_key = {g.key: g for g in gaps.groups(sqlite_factory)}
    hours = by_key["hours opening"]
    assert hours.count == 24
    assert hours.examples == tuple(f"opening hours {'?' * n}" for n in (24, 23, 22, 21, 20))
    assert hours.conversations == tuple(f"rest:{n % 12}" for n in range(24, 14, -1))


def test_one_conversations_gaps_in_the_order_asked(recorded):
    found = gaps.of_conversation(recorded, "rest:c")
    assert [g.text for g in found] == ["Opening hours please", "opening hours?"]


# --- marks and training examples ------------------------------------------------------------


def test_a_group_is_marked_with_an_intent_of_the_domain_only(recorded):
    assert "ask_unknown_fact" in gaps.known_intents() and "ask_contact" in gaps.known_intents()
    with pytest.raises(ValueError):
        gaps.mark(recorded, "hours opening", "ask_opening_hours", "anna")
    with pytest.raises(ValueError):
        gaps.mark(recorded, "hours opening", "nlu_fallback", "anna")
    assert gaps.groups(recorded)[0].belongs_to is None
    gaps.mark(recorded, "hours opening", "ask_contact", "anna")
    gaps.mark(recorded, "hours opening", "ask_unknown_fact", "ben")  # a later verdict wins
    assert gaps.groups(recorded)[0].belongs_to == "ask_unknown_fact"
    with recorded() as session:
        marks = session.execute(select(GapMarkRow)).scalars().all()
    assert [(m.group_key, m.belongs_to, m.marked_by) for m in marks] == [
        ("hours opening", "ask_unknown_fact", "ben")
    ]


def examples_of(document: dict) -> dict[tuple[str, str], list[str]]:
    """(intent, language) -> the texts, as Rasa reads an ``examples`` block."""
    found = {}
    for item in document["nlu"]:
        language = (item.get("metadata") or {}).get("language", "en")
        lines = item["examples"].splitlines()
        assert all(line.startswith("- ") for line in lines)
        found[(item["intent"], language)] = [line[2:] for line in lines]
    return found


TRICKY = [
    'opening hours: "when"? # asking',
    "- what's 'the' fee | {per} [day](x)? ",
    "hours:\nplease\tnow",
    "ÖFFNUNGSZEITEN & Gebühren: 100 %",
]


def test_marked_groups_export_as_nlu_data_that_gives_back_their_texts(sqlite_factory):
    gaps.record(
        sqlite_factory,
        [
            gap(TRICKY[0], conversation="rest:a"),
            gap(TRICKY[0], conversation="rest:b"),  # once in the export
            gap(TRICKY[1]),
            gap(TRICKY[2]),
            gap(TRICKY[3], language="de"),
            gap("Wie sind die Öffnungszeiten?", language="de"),
            gap("weather tomorrow"),  # not marked
        ],
    )
    for text in TRICKY + ["Wie sind die Öffnungszeiten?"]:
        gaps.mark(sqlite_factory, gaps.group_key(text), "ask_unknown_fact", "anna")
    gaps.mark(sqlite_factory, gaps.group_key(TRICKY[1]), "ask_funding", "anna")
    exported = gaps.training_examples(sqlite_factory)
    document = yaml.safe_load(exported)
    assert document["version"] == "3.1"
    assert examples_of(document) == {
        ("ask_funding", "en"): ["- what's 'the' fee | {per} [day](x)?"],
        ("ask_unknown_fact", "en"): ["hours: please now", 'opening hours: "when"? # asking'],
        ("ask_unknown_fact", "de"): ["Wie sind die Öffnungszeiten?", TRICKY[3]],
    }
    items = [(item["intent"], item.get("metadata")) for item in document["nlu"]]
    assert items == [
        ("ask_funding", None),
        ("ask_unknown_fact", None),
        ("ask_unknown_fact", {"language": "de"}),
    ]
    assert "weather" not in exported


def test_with_nothing_marked_the_export_is_empty_nlu_data(recorded):
    assert yaml.safe_load(gaps.training_examples(recorded)) == {"version": "3.1", "nlu": []}


# --- the tracker stores record them ---------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def tracker_store(request, tmp_path, domain, project_db):
    if request.param == "memory":
        found = ForgettingInMemoryTrackerStore(domain)
    else:
        found = RestartSafeSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    found.sweep_seconds = 1e9
    return found


def conversation_with(sender: str, *turns: list) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    tracker = DialogueStateTracker.from_events(sender, events)
    add(tracker, *turns)
    return tracker


def add(tracker, *turns: list) -> None:
    for events in turns:
        for event in events:
            tracker.update(event)


def save(store, tracker) -> None:
    asyncio.run(store.save(tracker))


def recorded_in(factory) -> list[tuple[str, str, str, str]]:
    with factory() as session:
        rows = session.execute(select(GapRow).order_by(GapRow.id)).scalars().all()
    return [(row.conversation_id, row.text, row.kind, row.language) for row in rows]


def test_both_stores_record_each_turns_gaps_once(tracker_store, project_db):
    visitor = conversation_with("rest:v", WEATHER, ANSWERED)
    save(tracker_store, visitor)
    read = asyncio.run(tracker_store.retrieve("rest:v"))
    add(read, OPENING_HOURS)
    save(tracker_store, read)
    add(read, ANSWERED)
    save(tracker_store, read)
    assert recorded_in(project_db) == [
        ("rest:v", "what's the weather in Dresden tomorrow?", "declined", "en"),
        ("rest:v", "what are the opening hours of SpinLab?", "unknown", "en"),
    ]


def test_a_turn_without_a_language_of_its_own_has_the_conversations(tracker_store, project_db):
    german = turn(
        "Wetter morgen?", "out_of_scope", "action_decline", "utter_out_of_scope", language="de"
    )
    save(tracker_store, conversation_with("rest:v", german))
    read = asyncio.run(tracker_store.retrieve("rest:v"))
    add(read, [asked("zzz qqq", "nlu_fallback"), said("utter_out_of_scope")])
    save(tracker_store, read)
    assert [language for *_, language in recorded_in(project_db)] == ["de", "de"]


def test_gaps_are_written_in_a_thread_and_only_when_there_are_any(tracker_store, monkeypatch):
    calls = []
    monkeypatch.setattr(gaps, "record", lambda f, found: calls.append(threading.get_ident()))
    save(tracker_store, conversation_with("rest:v", ANSWERED))
    assert calls == []
    save(tracker_store, conversation_with("rest:w", WHOM))
    assert len(calls) == 1 and calls[0] != threading.get_ident()


def test_a_failed_gap_insert_does_not_fail_the_save(tracker_store, project_db, monkeypatch):
    def broken(factory, found):
        raise RuntimeError("database gone")

    monkeypatch.setattr(gaps, "record", broken)
    save(tracker_store, conversation_with("rest:v", WEATHER))
    assert asyncio.run(tracker_store.retrieve("rest:v")) is not None


def test_the_erasure_turn_records_nothing(tracker_store, project_db):
    visitor = conversation_with("rest:v", ANSWERED)
    save(tracker_store, visitor)
    erasing = [
        asked("yes, delete it", "affirm"),
        said("utter_out_of_scope"),
        ActionExecuted(conversations.ERASE_ACTION),
        Restarted(),
    ]
    add(visitor, erasing)
    save(tracker_store, visitor)
    assert recorded_in(project_db) == []


# --- erasure and retention ------------------------------------------------------------------


def test_erasure_deletes_the_conversations_gaps_and_keeps_the_marks(recorded):
    gaps.mark(recorded, "hours opening", "ask_unknown_fact", "anna")
    assert store.delete_conversation_data("rest:c", recorded) == 0
    left = {conversation for conversation, *_ in recorded_in(recorded)}
    assert left == {"rest:a", "rest:b", "rest:d", "rest:e", "rest:f", "rest:g"}
    marks = {group.key: group.belongs_to for group in gaps.groups(recorded)}
    assert marks["hours opening"] == "ask_unknown_fact"


def test_the_retention_sweep_deletes_gaps_older_than_the_period(
    tracker_store, project_db, monkeypatch
):
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "30")
    now = time.time()
    gaps.record(project_db, [gap("old question", at=now - 31 * DAY), gap("recent", at=now - DAY)])
    gaps.mark(project_db, gaps.group_key("old question"), "out_of_scope", "anna")
    asyncio.run(tracker_store.sweep(now=now))
    assert [text for _, text, *_ in recorded_in(project_db)] == ["recent"]
    with project_db() as session:
        assert session.execute(select(GapMarkRow.group_key)).scalars().all() == ["old question"]


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_real_assistant_records_what_it_could_not_answer_and_forgets_it(assistant):
    visitor, neighbour = Visitor(assistant), Visitor(assistant)
    assert "Which hub" in visitor.says("who can I talk to?")
    assert "I can only help" in visitor.says("what's the weather in Dresden tomorrow?")
    assert "don't have that information" in visitor.says("what are the opening hours of SpinLab?")
    assert "Tel." in visitor.says("who is the contact for Leipzig?")
    assert "I can only help" in neighbour.says("what's the weather in Leipzig tomorrow?")
    factory = db.session_factory(assistant.database)
    conversation = conversations.conversation_id("rest", visitor.sender)

    def visitors_gaps() -> dict[str, set[str]]:
        return {
            group.examples[0]: set(group.kinds)
            for group in gaps.groups(factory)
            if conversation in group.conversations
        }

    assert visitors_gaps() == {
        "who can I talk to?": {"which_hub"},
        "what's the weather in Dresden tomorrow?": {"declined"},
        "what are the opening hours of SpinLab?": {"unknown"},
    }
    assert "delete" in visitor.says("please delete my data")
    assert "deleted 0 enquiries" in visitor.says("/affirm")
    assert visitors_gaps() == {}
    neighbours = conversations.conversation_id("rest", neighbour.sender)
    assert [g.text for g in gaps.of_conversation(factory, neighbours)] == [
        "what's the weather in Leipzig tomorrow?"
    ]


def test_the_gaps_module_works_without_rasa():
    check = "import sys, bot.console.gaps; print(any(m.startswith('rasa') for m in sys.modules))"
    ran = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "False"
