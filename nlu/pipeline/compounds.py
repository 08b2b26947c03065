"""German compounds name their topic last: "Drucksensoren" are sensors,
"Solarenergie" is energy, "Leistungselektronik" is electronics; so, in English, is
"telemedicine". A word that is not itself a knowledge-base word but ends in a topic
word (at least five letters, after at least three more) is read as that topic."""

from __future__ import annotations

from typing import Iterable

MIN_HEAD = 5
MIN_MODIFIER = 3


class CompoundReader:
    def __init__(self, topic_words: Iterable[str], known_words: Iterable[str]):
        self.heads = {w for w in topic_words if w.isalpha() and len(w) >= MIN_HEAD}
        self.longest_head = max(map(len, self.heads), default=0)
        self.known = set(known_words)

    def head(self, word: str) -> str | None:
        """The topic word ``word`` is a compound of, or None."""
        if word in self.known or not word.isalpha():
            return None
        first = max(MIN_MODIFIER, len(word) - self.longest_head)  # no longer ending is a head
        endings = (word[start:] for start in range(first, len(word) - MIN_HEAD + 1))
        return next((ending for ending in endings if ending in self.heads), None)  # longest
