"""Typo tolerance for knowledge-base words: "enrgy" -> "energy", "perfomance" ->
"performance". Only words that are not themselves known words are corrected, only
towards a word of the knowledge base's entity patterns, and only when exactly one
such word is close enough; anything else is left as typed."""

from __future__ import annotations

from typing import Container, Iterable

MIN_LENGTH = 5


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, stopping above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Speller:
    def __init__(self, vocabulary: Iterable[str], known_words: Container[str]):
        self.vocabulary = sorted(
            {w for w in vocabulary if w.isalpha() and len(w) >= MIN_LENGTH - 1}
        )
        self.known = Either(set(self.vocabulary), known_words)
        self._seen: dict[str, str | None] = {}

    def correct(self, word: str) -> str | None:
        """The knowledge-base word meant by a misspelt ``word``, or None."""
        if len(word) < MIN_LENGTH or not word.isalpha() or word in self.known:
            return None
        if word not in self._seen:
            if len(self._seen) > 50_000:  # bounded memory under arbitrary input
                self._seen.clear()
            self._seen[word] = self._closest(word)
        return self._seen[word]

    def _closest(self, word: str) -> str | None:
        limit = 1 if len(word) < 9 else 2
        best = sorted(
            (distance, candidate)
            for candidate in self.vocabulary
            if (distance := edit_distance(word, candidate, limit)) <= limit
        )
        if not best or (len(best) > 1 and best[0][0] == best[1][0]):
            return None
        return best[0][1]


class Either:
    """Membership in either of two containers (a lookup table need not be copied)."""

    def __init__(self, first: Container[str], second: Container[str]):
        self.first, self.second = first, second

    def __contains__(self, word: object) -> bool:
        return word in self.first or word in self.second
