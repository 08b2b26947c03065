"""What a message asks for: a detail the facts lack (the hubs' only when the message
makes it theirs), whom to turn to, the last question again, other questions."""

import pytest

from bot.asked import (
    COMPOUND,
    about_the_hubs,
    also_asked,
    asks_again,
    asks_for_contact_details,
    asks_whom_to_turn_to,
    corrects,
    is_negated,
    named_in_their_words,
    question_words,
    speaks_of_reaching_someone,
    unknown_details,
)


@pytest.mark.parametrize(
    "text, entities",
    [
        ("what are your opening hours?", []),
        ("habt ihr am wochenende offen", []),
        ("how much does it cost", ["programme"]),
        ("parking at the hub?", []),
    ],
)
def test_a_detail_asked_of_the_hubs(text, entities):
    assert about_the_hubs(text, entities)


@pytest.mark.parametrize(
    "text", ["any concerts in munich this weekend?", "when does the bakery open", "young people"]
)
def test_a_detail_of_anything_else(text):
    assert not about_the_hubs(text, ["language"])


@pytest.mark.parametrize(
    "text, detail",
    [
        ("e-mail adresse von dr lindner?", "email"),
        ("what are the office hours of dr weber", "hours"),
        ("zu welchen uhrzeiten ist er erreichbar", "hours"),
        ("was kostet ein schreibtisch", "cost"),
        ("wieviele startups sind im spinlab", "count"),
        ("wie lange dauert das programm", "duration"),
        ("ab wann kann man die mieteinheiten beziehen", "date"),
        ("is there parking on campus", "parking"),
        ("any hackathons or meetups?", "events"),
        ("kann man euch besichtigen", "visit"),
        ("how do i apply to spinlab", "applying"),
        ("habt ihr ein praktikum fuer mich", "jobs"),
    ],
)
def test_a_detail_the_brief_never_gives_is_recognised(text, detail):
    assert detail in unknown_details(text)


@pytest.mark.parametrize(
    "text",
    [
        "what is the phone number of the dresden hub",
        "who is in charge of the leipzig hub",
        "what does the leipzig hub focus on",
        "which practical applications does leipzig work on",
        "visit the website",
        "Wer ist Ansprechpartner in Dresden?",
    ],
)
def test_what_the_facts_do_give_is_no_unknown_detail(text):
    assert unknown_details(text) == set()


def test_whom_to_turn_to_and_contact_details_are_told_apart():
    assert asks_whom_to_turn_to("which person handles things in dresden")
    assert asks_whom_to_turn_to("wen ruf ich da an")
    assert not asks_whom_to_turn_to("what is the phone number of the pizza place")
    assert asks_for_contact_details("what is the phone number of the pizza place")
    assert asks_for_contact_details("gibt es eine hotline")
    assert asks_whom_to_turn_to("Whom should we speak to first?")
    assert asks_whom_to_turn_to("who do i even ask at your place")
    assert asks_for_contact_details("Bitte sämtliche Telefonnummern")


@pytest.mark.parametrize(
    "text, again, correction",
    [
        ("and Leipzig?", True, False),
        ("und wie sieht es in Dresden aus?", True, False),
        ("sorry, I meant Leipzig", True, True),
        ("nein, der andere hub", True, True),
        ("and what is the weather in Leipzig like this weekend, and tomorrow?", False, False),
        ("what does the Leipzig hub focus on", False, False),
        ("companies there too pls", True, False),
        ("oh wait my mistake, I need this for Leipzig actually", True, True),
        ("hm no I mixed them up, I mean the one at the TU Dresden campus", True, True),
        ("no, what are the partners of Dresden in the smart systems field", False, False),
        ("ok danke, und die kosten?", True, False),
    ],
)
def test_a_follow_up_and_a_correction(text, again, correction):
    assert (asks_again(text), corrects(text)) == (again, correction)


def test_the_other_questions_of_a_message():
    assert also_asked("Where is the Dresden hub and who is the contact?") == ["ask_location"]
    assert also_asked("office space and funding for our start-up") == [
        "ask_office_space",
        "ask_funding",
    ]
    assert also_asked("what is his e-mail address") == []
    assert also_asked("is SAP involved in this?") == ["ask_is_partner"]
    assert also_asked("macht die Uni Leipzig da mit?") == ["ask_is_partner"]
    assert also_asked("welche Hochschulen sind dabei, und sitzt der Hub auf dem Campus?") == [
        "ask_location",
        "ask_is_partner",
        "ask_partners",
    ]
    assert also_asked("which fraunhofer institutes are in it") == ["ask_partners"]


@pytest.mark.parametrize(
    "text",
    [
        "which topics, only energy?",
        "nur smart cities oder noch mehr?",
        "international start-ups too?",
    ],
)
def test_what_else_a_hub_works_on_and_whom_it_is_open_to_ask_of_the_hub(text):
    assert also_asked(text) == ["ask_hub"]


def test_only_some_kind_of_partner_is_no_question_of_the_hub():
    assert "ask_hub" not in also_asked("Macht Porsche da mit oder nur die Hochschulen?")
    assert "ask_hub" not in also_asked("I only need the phone number")


def test_the_words_a_detail_or_contact_is_asked_in_are_found_whole():
    assert question_words("Öffnungszeiten?") == {"oeffnungszeiten"}
    assert question_words("gibts events oder meetups am wochenende") == {
        "events",
        "meetups",
        "wochenende",
    }
    assert question_words("who are the partners") == set()


@pytest.mark.parametrize(
    "text, asked",
    [
        ("wann ist jemand erreichbar?", {"hours"}),
        ("is the office staffed on fridays", {"hours"}),
    ],
)
def test_when_someone_is_there_is_a_detail_the_brief_lacks(text, asked):
    assert unknown_details(text) == asked


def test_other_ways_to_ask_whom_to_turn_to_and_what_takes_part():
    assert asks_whom_to_turn_to("i do research on sensors, where should i go?")
    assert asks_whom_to_turn_to("wohin soll ich mich wenden")
    assert also_asked("gehoert die HTW auch dazu?") == ["ask_is_partner"]
    assert also_asked("ist infineon mit drin") == ["ask_is_partner"]
    assert also_asked("gibt es einen Investmentfonds?") == ["ask_funding"]


def test_words_of_reaching_someone_are_found_in_any_form():
    assert speaks_of_reaching_someone("wen kontaktier ich in dresden")
    assert speaks_of_reaching_someone("weber nr pls")
    assert not speaks_of_reaching_someone("best restaurants in dresden?")


def test_a_name_the_visitor_says_they_do_not_mean_is_negated():
    text = "ich bin in dresden, nicht leipzig"
    assert is_negated(text, text.index("leipzig"))
    assert not is_negated(text, text.index("dresden"))
    text = "the energy hub rather than the dresden one"
    assert is_negated(text, text.index("dresden"))


def test_a_city_or_a_compound_topic_is_no_evidence_among_words_of_no_hub_question():
    entities = [
        {"entity": "hub", "value": "leipzig"},
        {"entity": "topic", "value": "energy", COMPOUND: True},
        {"entity": "person", "value": "eric_weber"},
        {"entity": "language", "value": "de"},
    ]
    assert named_in_their_words(entities, []) == {"hub", "topic", "person"}
    assert named_in_their_words(entities, None) == {"hub", "topic", "person"}
    assert named_in_their_words(entities, ["zoo"]) == {"person"}
