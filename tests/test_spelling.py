from __future__ import annotations

import spacy

from bot import settings
from nlu.components.knowledge_entities import KnowledgeEntityExtractor
from nlu.pipeline.spelling import Speller, edit_distance


def test_edit_distance_counts_transpositions_once():
    assert edit_distance("sensor", "sesnor", 2) == 1
    assert edit_distance("energy", "enrgy", 2) == 1
    assert edit_distance("energy", "synergy", 1) == 2  # above the limit


def test_only_unknown_words_close_to_exactly_one_kb_word_are_corrected():
    speller = Speller(["energy", "sensors", "spinlab", "leipzig"], known_words=["enemy", "weather"])
    assert speller.correct("enrgy") == "energy"
    assert speller.correct("spinlabb") == "spinlab"
    assert speller.correct("enemy") is None  # a real word is left alone
    assert speller.correct("wether") is None  # nothing of the hubs is close
    assert speller.correct("leip") is None  # too short to guess


def test_with_the_built_pipeline_a_word_known_only_as_a_lemma_is_no_typo():
    """ "welcher Tarif ist gerade am günstigsten?" once read as a question about hardware
    ("gerade" corrected to "geräte"): the lemma table lists "gerade" only as a lemma."""
    nlp = spacy.load(settings.get().spacy_pipeline_dir)
    speller = KnowledgeEntityExtractor({})._speller(nlp)
    assert speller.correct("gerade") is None
    assert speller.correct("enrgy") == "energy"
