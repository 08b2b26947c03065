"""Rasa adapter for :mod:`nlu.pipeline.language`: reports the language of a message as the
entity ``language``, which fills the slot of the same name.

It reports nothing when it is not sure, so the slot keeps the conversation's
language; in a conversation that has none yet (no page language, nothing said so far
that it was sure of) it reports its best guess: "moin" or "Durchwahl Dr. Lindner?" as
a first message on a messenger is German, though neither would switch a conversation.
When the visitor asks for a language ("Bitte auf Englisch"), the language named wins
over the language the request is written in. It learns from the training
data: examples whose intent (or example) metadata says ``language: de`` are German,
all others are English.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.learnt import Learnt
from nlu.pipeline.language import LanguageModel, balanced

log = logging.getLogger(__name__)

ENTITY = "language"
# the extractors whose entities are names from the knowledge base (config.yml runs them
# before this component)
NAMING_EXTRACTORS = frozenset({"KnowledgeEntityExtractor"})
# the words of a name that are no name but the visitor's language
HONORIFICS = frozenset({"herr", "herrn", "frau", "mr", "mrs", "ms"})
# a guess this close to even is no lean ("42", "ok?" against names left out)
NO_LEAN = 0.6


def without_names(text: str, entities: list[dict]) -> str:
    """The message without what the knowledge base names (topics, partners, people):
    "high performance computing" and "big data" are said in English in German
    sentences too, and are no evidence of the language."""
    for entity in sorted(entities, key=lambda e: -int(e.get("start") or 0)):
        if entity.get("extractor") in NAMING_EXTRACTORS and entity.get("end"):
            name = text[entity["start"] : entity["end"]]
            kept = [w for w in name.split() if w.lower() in HONORIFICS]  # "Herr Lindner"
            text = text[: entity["start"]] + " " + " ".join(kept) + " " + text[entity["end"] :]
    return text


def training_language(message: Message, default: str) -> str:
    metadata = message.get(METADATA) or {}
    for level in ("example", "intent"):
        language = (metadata.get(level) or {}).get(ENTITY)
        if language:
            return language
    return default


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LanguageDetector(Learnt, EntityExtractorMixin):
    FILE = "language_model.json"  # what is learnt: a LanguageModel

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "default_language": "en",
            # how sure the detector must be before the conversation changes language
            "threshold": 0.9,
            "switch_intent": "switch_language",
            # words that name a language in a request to switch; after a negation
            # ("I don't speak German") they ask for the other language
            "language_names": {
                "en": ["english", "englisch", "engl"],
                "de": ["german", "deutsch", "deutsche", "deutscher"],
            },
            "negations": ["not", "don't", "dont", "no", "kein", "keine", "nicht"],
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        learnt: Optional[LanguageModel] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, learnt)
        self._names = {
            word: language for language, words in config["language_names"].items() for word in words
        }

    def train(self, training_data: TrainingData) -> Resource:
        default = self._config["default_language"]
        examples = [
            (example.get(TEXT), training_language(example, default), example.get(INTENT))
            for example in training_data.intent_examples
        ]
        if len({language for _, language, _ in examples}) < 2:
            log.warning("training data in one language only: the language is never detected")
            self.learnt = None
        else:
            self.learnt = LanguageModel.train(balanced(examples))
        return self.store(self.learnt.to_dict() if self.learnt else {})

    @classmethod
    def from_document(cls, counts: dict) -> Optional[LanguageModel]:
        return LanguageModel(counts) if len(counts) > 1 else None

    def _named_language(self, text: str) -> Optional[str]:
        named, negated = set(), False
        for word in re.findall(r"[\w']+", text.lower()):
            negated = negated or word in self._config["negations"]
            if word in self._names:
                language = self._names[word]
                others = set(self._config["language_names"]) - {language}
                named |= others if negated and len(others) == 1 else {language}
                negated = False
        return named.pop() if len(named) == 1 else None

    def language_of(self, message: Message, has_a_language: bool = True) -> Optional[str]:
        """The language the conversation should go on in after this message, or None."""
        text = message.get(TEXT) or ""
        asks_to_switch = (message.get(INTENT) or {}).get("name") == self._config["switch_intent"]
        if asks_to_switch and (named := self._named_language(text)):
            return named
        if self.learnt is None:
            return None
        guess = self.learnt.guess(without_names(text, message.get(ENTITIES) or []))
        if guess.is_sure(self._config["threshold"]):
            return guess.language
        leans = guess.telling_words > 0 or guess.probability > NO_LEAN
        return guess.language if leans and not has_a_language else None

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        """``tracker`` is the conversation's (None for a parse outside one, such as
        /model/parse): its ``language`` slot is empty until a language is set."""
        has_a_language = tracker is None or tracker.get_slot(ENTITY) is not None
        for message in messages:
            language = self.language_of(message, has_a_language)
            if language is None:
                continue
            text = message.get(TEXT) or ""
            entity = {"entity": ENTITY, "value": language, "start": 0, "end": len(text)}
            found = self.add_extractor_name([entity])
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
