"""Whether a question the facts cannot answer is a question about the hubs at all.

"What are your opening hours?" is one the assistant must answer with "I don't know"
and a contact; "any tech events in Munich this weekend?" is off-topic, though it asks
for the same kind of detail. The classifier learns the kind of detail; what makes it
the hubs' is that the message names something of theirs (a hub, programme, person,
organisation or topic) or speaks to the assistant as the hub ("you", "ihr", "euch").
"""

from __future__ import annotations

import re
from typing import Iterable

HUB_ENTITIES = frozenset({"hub", "programme", "person", "organisation", "topic", "org_kind"})
ADDRESSED = re.compile(
    r"\b(you|your|yours|hub|hubs|ihr|euch|eure|euer|euren|eurem|eurer|ihnen|dein|deine)\b",
    re.IGNORECASE,
)


def about_the_hubs(text: str, entities: Iterable[str]) -> bool:
    return bool(HUB_ENTITIES & set(entities)) or bool(ADDRESSED.search(text or ""))
