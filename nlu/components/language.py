"""Rasa adapter for :mod:`nlu.pipeline.language`: reports the language of a message as the
entity ``language``, which fills the slot of the same name.

It reports nothing when it is not sure, so the slot keeps the conversation's
language. When the visitor asks for a language ("Bitte auf Englisch"), the language
named wins over the language the request is written in. It learns from the training
data: examples whose intent (or example) metadata says ``language: de`` are German,
all others are English.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.pipeline.language import LanguageModel, balanced

log = logging.getLogger(__name__)

ENTITY = "language"
# the extractors whose entities are names from the knowledge base (config.yml runs them
# before this component)
NAMING_EXTRACTORS = frozenset({"KnowledgeEntityExtractor"})
MODEL_FILE = "language_model.json"


def without_names(text: str, entities: list[dict]) -> str:
    """The message without what the knowledge base names (topics, partners, people):
    "high performance computing" and "big data" are said in English in German
    sentences too, and are no evidence of the language."""
    for entity in sorted(entities, key=lambda e: -int(e.get("start") or 0)):
        if entity.get("extractor") in NAMING_EXTRACTORS and entity.get("end"):
            text = text[: entity["start"]] + " " + text[entity["end"] :]
    return text


def training_language(message: Message, default: str) -> str:
    metadata = message.get(METADATA) or {}
    for level in ("example", "intent"):
        language = (metadata.get(level) or {}).get(ENTITY)
        if language:
            return language
    return default


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
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
        model: Optional[LanguageModel] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._names = {
            word: language for language, words in config["language_names"].items() for word in words
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        default = self._config["default_language"]
        examples = [
            (example.get(TEXT), training_language(example, default), example.get(INTENT))
            for example in training_data.intent_examples
        ]
        if len({language for _, language, _ in examples}) < 2:
            log.warning("training data in one language only: the language is never detected")
            self._model = None
        else:
            self._model = LanguageModel.train(balanced(examples))
        with self._model_storage.write_to(self._resource) as directory:
            counts = self._model.to_dict() if self._model else {}
            (directory / MODEL_FILE).write_text(json.dumps(counts))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LanguageDetector:
        with model_storage.read_from(resource) as directory:
            counts = json.loads((directory / MODEL_FILE).read_text())
        model = LanguageModel(counts) if len(counts) > 1 else None
        return cls(config, model_storage, resource, model)

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

    def language_of(self, message: Message) -> Optional[str]:
        """The language the conversation should go on in after this message, or None."""
        text = message.get(TEXT) or ""
        asks_to_switch = (message.get(INTENT) or {}).get("name") == self._config["switch_intent"]
        if asks_to_switch and (named := self._named_language(text)):
            return named
        if self._model is None:
            return None
        guess = self._model.guess(without_names(text, message.get(ENTITIES) or []))
        return guess.language if guess.is_sure(self._config["threshold"]) else None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            language = self.language_of(message)
            if language is None:
                continue
            text = message.get(TEXT) or ""
            entity = {"entity": ENTITY, "value": language, "start": 0, "end": len(text)}
            found = self.add_extractor_name([entity])
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
