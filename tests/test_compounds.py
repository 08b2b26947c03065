"""Compounds are read as the topic they end in, or else begin with."""

from hypothesis import given
from hypothesis import strategies as st

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


def test_a_compound_that_ends_in_no_topic_word_is_read_as_the_one_it_begins_with():
    assert reader.head("energiemarkt") == "energie"
    assert reader.head("sensorenhersteller") == "sensoren"
    assert reader.head("energieamt") is None  # three letters after it are no compound


def test_the_first_part_of_a_compound_cut_short_before_und_is_read():
    assert reader.head("energie-") == "energie"  # "Energie- und Wärmeversorgung"
    assert reader.head("solarenergie-") == "energie"
    assert reader.head("bau-") is None


def test_known_words_short_heads_and_short_modifiers_are_left_alone():
    assert reader.head("mikroelektronik") is None  # a knowledge-base word itself
    assert reader.head("energie") is None
    assert reader.head("smartiot") is None  # "iot" is too short to be a head
    assert reader.head("xxenergie") is None  # two letters are no modifier
    assert reader.head("stadtwerke") is None
    assert reader.head("e-health") is None


@given(st.text(alphabet="aeinorstgklmdh", max_size=60))
def test_every_word_gets_the_head_the_exhaustive_search_finds(word):
    """Only endings as long as the longest head are tried (a 10 MB word once took the
    server half an hour), and the answer is the one trying every ending gives."""
    endings = (word[start:] for start in range(3, len(word) - 4))
    beginnings = (word[:end] for end in range(len(word) - 4, 4, -1))
    exhaustive = next((e for e in endings if e in reader.heads), None) or next(
        (b for b in beginnings if b in reader.heads), None
    )
    if word in reader.known or not word.isalpha():
        exhaustive = None
    assert reader.head(word) == exhaustive


def test_a_word_of_a_million_letters_is_read():
    assert reader.head("x" * 1_000_000 + "energie") == "energie"
