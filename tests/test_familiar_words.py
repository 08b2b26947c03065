"""The words of a message that no question about the hubs uses: what makes a detail
("parking?") the city's or another business's rather than the hubs'."""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.asked import UNFAMILIAR_WORDS
from nlu.components.familiar_words import FamiliarWords

EXAMPLES = [
    ("is there parking at the hub", "ask_unknown_fact"),
    ("who is the contact for energy", "ask_contact"),
    ("when does the zoo open", "out_of_scope"),
    ("how much is the parking garage downtown", "out_of_scope"),
]


def tokenised(messages: list[Message]) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    for message in messages:
        message.set(TOKENS_NAMES[TEXT], tokenizer.tokenize(message, TEXT))
    return messages


@pytest.fixture
def familiar(tmp_path) -> FamiliarWords:
    storage, resource = LocalModelStorage(tmp_path), Resource("familiar")
    config = FamiliarWords.get_default_config()
    data = TrainingData(tokenised([Message.build(text, intent) for text, intent in EXAMPLES]))
    FamiliarWords.create(config, storage, resource, None).train(data)
    return FamiliarWords.load(config, storage, resource, None)


def unfamiliar(familiar: FamiliarWords, text: str, entities: list[dict] | None = None):
    message = tokenised([Message({TEXT: text, ENTITIES: entities or []})])[0]
    familiar.process([message])
    return message.get(UNFAMILIAR_WORDS)


def test_words_only_off_topic_examples_use_are_unfamiliar(familiar):
    assert unfamiliar(familiar, "Is there parking?") == []
    assert unfamiliar(familiar, "parking at the zoo downtown") == ["zoo", "downtown"]


def test_function_words_names_and_numbers_are_never_unfamiliar(familiar):
    text = "some hub in Leipzig 24"
    leipzig = {"entity": "hub", "value": "leipzig", "start": 12, "end": 19}
    language = {"entity": "language", "value": "en", "start": 0, "end": len(text)}
    assert unfamiliar(familiar, text, [leipzig, language]) == []
    assert unfamiliar(familiar, "the zoo in Leipzig", [language]) == ["zoo", "Leipzig"]


def test_an_untrained_component_reports_nothing(tmp_path):
    untrained = FamiliarWords(FamiliarWords.get_default_config(), None, None)
    assert unfamiliar(untrained, "anything at all") is None


def test_umlauts_typed_as_ae_oe_ue_are_the_same_words(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("familiar")
    config = FamiliarWords.get_default_config()
    data = TrainingData(
        tokenised([Message.build("wie sind die Öffnungszeiten", "ask_unknown_fact")])
    )
    FamiliarWords.create(config, storage, resource, None).train(data)
    familiar = FamiliarWords.load(config, storage, resource, None)
    assert unfamiliar(familiar, "und oeffnungszeiten?") == []


def test_the_words_a_detail_is_asked_in_are_familiar(familiar):
    """No training example needs to say "meetups" for it to be the hubs' word."""
    assert unfamiliar(familiar, "any meetups downtown") == ["downtown"]


def test_words_of_a_time_name_no_subject(familiar):
    assert unfamiliar(familiar, "is there parking next week, or soon?") == []
