"""Which language a message is written in, learnt from the assistant's own training
data (English and German examples of every intent).

Off-the-shelf detectors are trained on long general text and guess on the messages a
chat gets ("ja", "Ist SAP Partner?", "ehealth contact pls"): py3langid, the fastest,
took "ja", "danke" and "hallo" for English. This one is a naive Bayes over the words
and the character trigrams of words that visitors really write to this assistant,
and it says when it is not sure, so that a name, an e-mail address, "ok" or a place
name never switches the conversation's language. docs/languages.md has
the measured accuracy of both.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# e-mail addresses, links and numbers; "ja/nein" is two words
NOT_LANGUAGE = re.compile(r"@|://|www\.|\d")


@dataclass(frozen=True)
class Guess:
    language: str
    probability: float  # of ``language`` against the other languages
    telling_words: int  # words seen in training far more often in one language

    def is_sure(self, threshold: float) -> bool:
        """Sure enough to change the conversation's language: the words themselves (not
        only their letters) point to one language. "Dresden", "ok" and names do not;
        a word never seen in training whose letters leave no doubt ("schwerpunkt")
        does."""
        if self.telling_words > 0:
            return self.probability >= threshold
        return self.probability >= LETTERS_ALONE_SURE


def _features(text: str) -> list[str]:
    """Words and their trigrams, in time linear in the text (a regex over whole tokens
    took quadratic time on a long token: 5,000 dashes blocked the server for 0.3 s)."""
    language = " ".join(t for t in text.split() if not NOT_LANGUAGE.search(t))
    words = [w.lower() for w in WORD.findall(language)]
    trigrams = [
        padded[i : i + 3] for w in words for padded in [f"<{w}>"] for i in range(len(padded) - 2)
    ]
    return [f"w:{w}" for w in words] + trigrams


def balanced(examples: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(text, language) pairs with as many examples of each intent in every language.

    Otherwise what differs between the languages' examples is also what they are
    about: with a thousand English small-talk sentences and none in German, "Dresden"
    and "partner" would look German."""
    by_intent: dict[str, dict[str, list[str]]] = {}
    for text, language, intent in examples:
        by_intent.setdefault(intent, {}).setdefault(language, []).append(text)
    pairs = []
    for texts in by_intent.values():
        if len(texts) < 2:
            continue  # an intent with examples in one language only says nothing here
        size = min(len(t) for t in texts.values())
        for language, all_texts in texts.items():
            step = len(all_texts) / size
            pairs += [(all_texts[int(i * step)], language) for i in range(size)]
    return pairs


# how sure the letters alone must be, without a telling word: "Anna Schmidt" (0.9997)
# and "Jürgen Müller" (0.9992) stay below it, "Schwerpunkt" (1 - 1e-10) does not
LETTERS_ALONE_SURE = 0.99999
TELLING_RATIO = 3.0  # a word this many times more frequent in one language tells it
TELLING_SMOOTHING = 0.25  # so that a word seen once in one language only tells it


class LanguageModel:
    """Multinomial naive Bayes with add-one smoothing and equal priors."""

    def __init__(self, counts: dict[str, dict[str, int]]):
        self.counts = {language: Counter(c) for language, c in counts.items()}
        self.totals = {language: sum(c.values()) for language, c in self.counts.items()}
        self.vocabulary_size = len(set().union(*self.counts.values())) + 1
        self.telling = {  # word feature -> the language it tells
            f: told
            for c in self.counts.values()
            for f in c
            if f.startswith("w:") and (told := self._tells(f))
        }
        self.log_probabilities = {  # feature -> its log-probability in each language
            feature: [
                math.log((counts[feature] + 1) / (self.totals[language] + self.vocabulary_size))
                for language, counts in self.counts.items()
            ]
            for feature in set().union(*self.counts.values())
        }

    def _tells(self, feature: str) -> str | None:
        rates = sorted(
            ((self.counts[language][feature] + TELLING_SMOOTHING) / self.totals[language], language)
            for language in self.counts
        )
        return rates[-1][1] if rates[-1][0] >= TELLING_RATIO * rates[-2][0] else None

    @classmethod
    def train(cls, examples: Iterable[tuple[str, str]]) -> LanguageModel:
        """From (text, language) pairs."""
        counts: dict[str, Counter] = {}
        for text, language in examples:
            counts.setdefault(language, Counter()).update(_features(text))
        if len(counts) < 2:
            raise ValueError(f"need examples of at least two languages, got {sorted(counts)}")
        return cls(counts)

    def guess(self, text: str) -> Guess:
        features = _features(text)
        seen = [self.log_probabilities[f] for f in features if f in self.log_probabilities]
        scores = {
            language: sum(row[index] for row in seen)  # unseen everywhere: no evidence
            for index, language in enumerate(self.counts)
        }
        told = [self.telling[f] for f in features if f in self.telling]
        # the words themselves before their letters: "moin" is German, though its
        # trigrams ("oin") are more frequent in English
        best = told[0] if len(set(told)) == 1 else max(scores, key=scores.get)
        probability = 1 / sum(math.exp(score - scores[best]) for score in scores.values())
        return Guess(best, probability, len(told))

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {language: dict(counts) for language, counts in self.counts.items()}
