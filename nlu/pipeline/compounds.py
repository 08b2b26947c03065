"""German compounds name their topic last: "Drucksensoren" are sensors,
"Solarenergie" is energy, "Leistungselektronik" is electronics; so, in English, is
"telemedicine". A word that is not itself a knowledge-base word but ends in a topic
word (at least five letters, after at least three more) is read as that topic. So,
failing that, is one that begins with a topic word before at least four more letters
("Halbleiterphysik", "Gesundheitsangebote"), and the first part of a compound cut short
before "und" ("Strom- und Wärmeversorgung")."""

from __future__ import annotations

from typing import Iterable

MIN_HEAD = 5
MIN_MODIFIER = 3
MIN_REST = 4  # after a topic word a compound begins with ("halbleiter|physik")


class CompoundReader:
    def __init__(self, topic_words: Iterable[str], known_words: Iterable[str]):
        self.heads = {w for w in topic_words if w.isalpha() and len(w) >= MIN_HEAD}
        self.longest_head = max(map(len, self.heads), default=0)
        self.known = set(known_words)

    def head(self, word: str) -> str | None:
        """The topic word ``word`` is a compound of, or None."""
        if word.endswith("-") and word[:-1].isalpha():  # "strom-" (und Wärmeversorgung)
            cut = word[:-1]
            return cut if cut in self.heads else self.head(cut)
        if word in self.known or not word.isalpha():
            return None
        first = max(MIN_MODIFIER, len(word) - self.longest_head)  # no longer ending is a head
        endings = (word[start:] for start in range(first, len(word) - MIN_HEAD + 1))
        found = next((ending for ending in endings if ending in self.heads), None)  # longest
        if found:
            return found
        last = min(len(word) - MIN_REST, self.longest_head)
        beginnings = (word[:end] for end in range(last, MIN_HEAD - 1, -1))  # longest first
        return next((beginning for beginning in beginnings if beginning in self.heads), None)
