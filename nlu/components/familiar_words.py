"""The words of a message that no question about the hubs uses.

"Is there parking?" as a first message to the hub's assistant is the hubs' question;
"how much is the parking garage downtown?" is not, though both ask for a detail the
brief never gives and neither names a hub. What tells them apart is a word that no
question about the hubs uses ("garage", "downtown", "zoo"). The hubs' words are
those of the training examples of every intent but the off-topic ones, as written
and as lemmas, the function words of English and German (spaCy's stop words) and
words of a time ("soon", "Wochen").
So are the words in which a message asks for a detail or a contact ("meetups",
"Öffnungszeiten": bot/asked.py). The words of a message outside them, apart from
names and numbers, are reported as its ``unfamiliar_words``; what that means for an
answer is bot/asked.py's to decide.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.lang.de.stop_words import STOP_WORDS as GERMAN_STOP_WORDS
from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH_STOP_WORDS

from bot.asked import UNFAMILIAR_WORDS, question_words, typed
from nlu.components.language import ENTITY as LANGUAGE  # the one entity that is no name
from nlu.components.learnt import Learnt

# words that name a time, not a subject ("any events coming up soon?")
TIME_WORDS = frozenset(
    "soon day days week weeks month months year years today tonight tomorrow weekend "
    "bald demnaechst tag tage tagen woche wochen monat monate monaten jahr jahre heute "
    "morgen naechste naechsten kommende kommenden".split()
)
# "some", "jemand": words of no subject, whether the training examples use them or not
FUNCTION_WORDS = TIME_WORDS | frozenset(
    typed(word) for word in ENGLISH_STOP_WORDS | GERMAN_STOP_WORDS
)


def _forms(token: Token) -> set[str]:
    return {typed(token.text), typed(token.lemma)}  # "oeffnungszeiten" is "Öffnungszeiten"


def _is_word(token: Token) -> bool:
    return token.text.isalpha()


def _named(token: Token, entities: Iterable[dict]) -> bool:
    return any(
        e.get("start", -1) <= token.start and token.end <= e.get("end", -1) for e in entities
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class FamiliarWords(Learnt):
    FILE = "vocabulary.json"  # what is learnt: the hubs' words

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"off_topic_intents": ["out_of_scope"]}

    def train(self, training_data: TrainingData) -> Resource:
        off_topic = set(self._config["off_topic_intents"])
        self.learnt = FUNCTION_WORDS | {
            form
            for example in training_data.intent_examples
            if example.get(INTENT) not in off_topic
            for token in example.get(TOKENS_NAMES[TEXT]) or []
            for form in _forms(token)
        }
        return self.store(sorted(self.learnt))

    @classmethod
    def from_document(cls, words: list[str]) -> set[str]:
        return set(words)

    def unfamiliar_words(self, message: Message) -> List[str]:
        names = [e for e in message.get(ENTITIES) or [] if e.get("entity") != LANGUAGE]
        asked = question_words(message.get(TEXT))
        return [
            token.text
            for token in message.get(TOKENS_NAMES[TEXT]) or []
            if _is_word(token)
            and not _named(token, names)
            and (forms := _forms(token)).isdisjoint(self.learnt)
            and forms.isdisjoint(asked)
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        if self.learnt is None:
            return messages
        for message in messages:
            message.set(UNFAMILIAR_WORDS, self.unfamiliar_words(message), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
