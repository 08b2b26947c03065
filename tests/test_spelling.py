from __future__ import annotations

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
