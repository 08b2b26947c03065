"""Rasa's CRF entity extractor, run only where its entity can matter.

The CRF finds names of organisations the knowledge base does not know ("is Siemens
a partner?"); only the answer to ``ask_is_partner`` uses them. Computing CRF
marginals for every message cost 9 % of the Rasa server's time under load, so other
messages skip it. Training is unchanged (all examples).
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message

INTENTS_USING_NAMES = {"ask_is_partner"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class PartnerNameExtractor(CRFEntityExtractor):
    def process(self, messages: List[Message]) -> List[Message]:
        wanted = [
            m for m in messages if (m.get(INTENT) or {}).get(INTENT_NAME_KEY) in INTENTS_USING_NAMES
        ]
        if wanted:
            super().process(wanted)
        return messages
