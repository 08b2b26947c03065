"""Rasa entity extractor over the project's spaCy entity ruler.

Unlike Rasa's ``SpacyEntityExtractor`` it reports the canonical knowledge-base key
(the ruler pattern's ``id``) as the entity value, so "Smart Cities", "smart city"
and "smart-city" all arrive at the actions as ``topic: smart_cities``. It reuses
the doc ``SpacyNLP`` already made, so the pipeline runs once per message.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text, Type

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

from bot.asked import COMPOUND
from nlu.components.stateless import Stateless
from nlu.pipeline.compounds import CompoundReader
from nlu.pipeline.spelling import Either, Speller


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP"
)
class KnowledgeEntityExtractor(Stateless, EntityExtractorMixin):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"dimensions": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._spellers: Dict[int, Speller] = {}
        self._compounds: Dict[int, CompoundReader] = {}

    def _speller(self, nlp: Language) -> Speller:
        if id(nlp) not in self._spellers:
            patterns = nlp.get_pipe("entity_ruler").patterns
            words = {
                w for p in patterns if isinstance(p["pattern"], str) for w in p["pattern"].split()
            }
            # the lemma table knows every English and German word form it can lemmatise,
            # and, as its values, the lemmas ("gerade" is no typo of "geräte")
            lemmas = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup", {})
            self._spellers[id(nlp)] = Speller(words, Either(lemmas, set(lemmas.values())))
        return self._spellers[id(nlp)]

    def _compound_reader(self, nlp: Language) -> CompoundReader:
        if id(nlp) not in self._compounds:
            patterns = nlp.get_pipe("entity_ruler").patterns
            words = {p["pattern"] for p in patterns if isinstance(p["pattern"], str)}
            topic_words = {
                p["pattern"] for p in patterns if p["label"] == "topic" and " " not in p["pattern"]
            }
            known = {w for phrase in words for w in phrase.split()}
            self._compounds[id(nlp)] = CompoundReader(topic_words, known)
        return self._compounds[id(nlp)]

    def _with_spelling_corrected(self, doc: Doc, nlp: Language) -> tuple[Doc, set[int]]:
        """The doc re-annotated with typos of KB words corrected and compounds read as
        their topic, same tokens, same offsets; and the tokens read as compounds."""
        speller, compounds = self._speller(nlp), self._compound_reader(nlp)
        words, compounded = [], set()
        for token in doc:
            corrected = speller.correct(token.text)
            head = None if corrected else compounds.head(token.text)
            words.append(corrected or head or token.text)
            if head:
                compounded.add(token.i)
        if words == [token.text for token in doc]:
            return doc, compounded
        corrected = Doc(nlp.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc])
        for _name, component in nlp.pipeline:
            corrected = component(corrected)
        return corrected, compounded

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT]) or model.model(message.get(TEXT, "").lower())
            corrected, compounded = self._with_spelling_corrected(doc, model.model)
            found = self.add_extractor_name(
                [
                    {
                        "entity": ent.label_,
                        "value": ent.ent_id_ or ent.text,
                        "start": doc[ent.start].idx,
                        "end": doc[ent.end - 1].idx + len(doc[ent.end - 1]),
                        "confidence": 1.0,
                        # read from a compound ("Energieanbieter"): less sure a subject
                        COMPOUND: bool(compounded & set(range(ent.start, ent.end))),
                    }
                    for ent in corrected.ents
                ]
            )
            found = self.filter_irrelevant_entities(found, self._config["dimensions"])
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
