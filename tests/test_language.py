"""The language detector: learnt from the assistant's English and German examples,
sure of real sentences, unsure of words that belong to no language."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlu.components.language import LanguageDetector
from nlu.pipeline.language import WORD, LanguageModel, _features

ENGLISH = [
    "who is the contact for energy in leipzig",
    "yes please",
    "yes sure",
    "no thanks",
    "hello there",
    "which partners does the dresden hub have",
    "thank you very much",
]
GERMAN = [
    "wer ist der ansprechpartner für energie in leipzig",
    "ja bitte",
    "ja gerne",
    "nein danke",
    "hallo zusammen",
    "welche partner hat der hub in dresden",
    "vielen dank",
]


@pytest.fixture(scope="module")
def model() -> LanguageModel:
    return LanguageModel.train([(t, "en") for t in ENGLISH] + [(t, "de") for t in GERMAN])


@pytest.mark.parametrize(
    "text, language",
    [
        ("wer ist für Energie zuständig?", "de"),
        ("who is in charge of energy?", "en"),
        ("ja", "de"),
        ("thanks", "en"),
        ("Vielen Dank!", "de"),
    ],
)
def test_sentences_and_typical_short_replies_are_recognised(model, text, language):
    guess = model.guess(text)
    assert guess.language == language and guess.is_sure(0.9), guess


@pytest.mark.parametrize(
    "text", ["Dresden", "Leipzig", "Anna Schmidt", "anna.schmidt@example.org", "42", "", "🙂"]
)
def test_names_places_addresses_and_numbers_do_not_decide_the_language(model, text):
    assert not model.guess(text).is_sure(0.9)


def test_the_model_survives_a_round_trip_through_its_saved_form(model):
    restored = LanguageModel(model.to_dict())
    assert restored.guess("ja bitte") == model.guess("ja bitte")


def test_training_needs_two_languages():
    with pytest.raises(ValueError):
        LanguageModel.train([("hello", "en")])


@pytest.mark.parametrize(
    "text, language",
    [
        ("English please", "en"),
        ("Bitte auf Deutsch", "de"),
        ("bitte in deutscher Sprache", "de"),
        ("auf Englisch bitte", "en"),
        ("I don't speak German", "en"),
        ("ich spreche kein Englisch", "de"),
        ("I don't understand German, English please", "en"),
        ("can you switch the language?", None),
    ],
)
def test_a_request_for_a_language_names_the_language_wanted(text, language):
    detector = LanguageDetector(LanguageDetector.get_default_config(), None, None)
    assert detector._named_language(text) == language


def _trained_detector(tmp_path, examples):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, resource = LocalModelStorage(tmp_path), Resource("language")
    config = LanguageDetector.get_default_config()
    data = TrainingData(
        [
            Message.build(text, intent, intent_metadata={"language": language})
            for text, intent, language in examples
        ]
    )
    LanguageDetector.create(config, storage, resource, None).train(data)
    return LanguageDetector.load(config, storage, resource, None)


def _heard(detector, text: str, intent: str = "greet") -> list[str]:
    from rasa.shared.nlu.training_data.message import Message

    message = Message({"text": text, "intent": {"name": intent, "confidence": 1.0}})
    detector.process([message])
    return [e["value"] for e in message.get("entities", []) if e["entity"] == "language"]


def test_the_rasa_component_learns_from_metadata_and_reports_an_entity(tmp_path):
    examples = [(t, "greet", "en") for t in ENGLISH] + [(t, "greet", "de") for t in GERMAN]
    detector = _trained_detector(tmp_path, examples)
    assert _heard(detector, "ja bitte, vielen Dank") == ["de"]
    assert _heard(detector, "yes please, thank you") == ["en"]
    assert _heard(detector, "Dresden") == []
    assert _heard(detector, "auf Englisch bitte", intent="switch_language") == ["en"]


def test_with_training_data_in_one_language_it_never_reports(tmp_path):
    detector = _trained_detector(tmp_path, [(t, "greet", "en") for t in ENGLISH])
    assert _heard(detector, "ja bitte, vielen Dank") == []


ADDRESS_LINK_OR_NUMBER = re.compile(r"\S*(?:@|://|www\.|\d)\S*")  # a whole-token regex


@given(st.text(alphabet=st.sampled_from(list("ab ä1@/:w-.\n\t'")), max_size=80))
def test_the_features_are_those_of_the_text_without_addresses_links_and_numbers(text):
    """The features are found in linear time (a whole-token regex took 0.3 s for
    5,000 dashes), and are the words a whole-token regex leaves."""
    words = [w.lower() for w in WORD.findall(ADDRESS_LINK_OR_NUMBER.sub(" ", text))]
    assert [f[2:] for f in _features(text) if f.startswith("w:")] == words


def test_words_joined_by_a_slash_are_words_but_a_link_is_none():
    """ "globalfoundries partner ja/nein" was heard as English: "ja/nein" was dropped."""
    assert [f for f in _features("partner ja/nein") if f.startswith("w:")] == [
        "w:partner",
        "w:ja",
        "w:nein",
    ]
    assert _features("https://example.org/impressum") == []


def test_a_message_of_one_long_token_is_read():
    assert _features("-" * 1_000_000 + " Hallo") == ["w:hallo", "<ha", "hal", "all", "llo", "lo>"]


def test_a_word_only_one_language_uses_decides_over_its_letters():
    """ "moin" is in German examples only, though "oin" is English ("join", "point")."""
    model = LanguageModel.train(
        [(t, "en") for t in ["join the point", "a coin", "join us", "hello"]]
        + [(t, "de") for t in ["moin zusammen", "hallo", "ja bitte"]]
    )
    guess = model.guess("moin")
    assert guess.language == "de" and not guess.is_sure(0.9)


def _conversation(language: str | None):
    from rasa.shared.core.slots import CategoricalSlot
    from rasa.shared.core.trackers import DialogueStateTracker

    slot = CategoricalSlot("language", mappings=[{}], values=["en", "de"])
    tracker = DialogueStateTracker("visitor", [slot])
    tracker.slots["language"].value = language
    return tracker


def test_a_conversation_without_a_language_takes_the_lean_of_an_unsure_message(tmp_path):
    from rasa.shared.nlu.training_data.message import Message

    examples = [(t, "greet", "en") for t in ENGLISH] + [(t, "greet", "de") for t in GERMAN]
    detector = _trained_detector(tmp_path, examples)

    def heard_in(tracker, text):
        message = Message({"text": text, "intent": {"name": "greet", "confidence": 1.0}})
        detector.process([message], tracker)
        return [e["value"] for e in message.get("entities", []) if e["entity"] == "language"]

    leaning = "Zustaendigkeit"  # German-leaning letters, no word sure enough
    assert not detector.learnt.guess(leaning).is_sure(0.9)
    assert heard_in(_conversation(None), leaning) == ["de"]
    assert heard_in(_conversation("en"), leaning) == []
    assert heard_in(None, leaning) == []  # a parse outside a conversation
    assert heard_in(_conversation(None), "Durchwahl") == []  # letters never seen: no lean


def test_a_name_is_no_evidence_of_the_language_but_the_honorific_before_it_is():
    from nlu.components.language import without_names

    name = {"extractor": "KnowledgeEntityExtractor", "start": 0, "end": 12}
    assert without_names("Herr Lindner tel?", [name]).split() == ["Herr", "tel?"]
