"""A detail the facts lack is the hubs' only when the message makes it theirs."""

import pytest

from bot.asked import about_the_hubs


@pytest.mark.parametrize(
    "text, entities",
    [
        ("what are your opening hours?", []),
        ("habt ihr am wochenende offen", []),
        ("how much does it cost", ["programme"]),
        ("parking at the hub?", []),
    ],
)
def test_a_detail_asked_of_the_hubs(text, entities):
    assert about_the_hubs(text, entities)


@pytest.mark.parametrize(
    "text", ["any concerts in munich this weekend?", "when does the bakery open", "young people"]
)
def test_a_detail_of_anything_else(text):
    assert not about_the_hubs(text, ["language"])
