"""Compounds are read as the topic they end in."""

from nlu.pipeline.compounds import CompoundReader

reader = CompoundReader(
    ["sensoren", "energie", "elektronik", "medicine", "health", "sensor", "iot"],
    ["sensoren", "energie", "mikroelektronik", "sensor"],
)


def test_a_compound_is_read_as_its_last_topic_word():
    assert reader.head("drucksensoren") == "sensoren"
    assert reader.head("solarenergie") == "energie"
    assert reader.head("leistungselektronik") == "elektronik"
    assert reader.head("telemedicine") == "medicine"


def test_known_words_short_heads_and_short_modifiers_are_left_alone():
    assert reader.head("mikroelektronik") is None  # a knowledge-base word itself
    assert reader.head("energie") is None
    assert reader.head("smartiot") is None  # "iot" is too short to be a head
    assert reader.head("xxenergie") is None  # two letters are no modifier
    assert reader.head("stadtwerke") is None
    assert reader.head("e-health") is None
