"""What every messenger webhook shares: updates it cannot read, the messages the
dialogue receives for what is not text, and the ids already handled."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

NON_TEXT = "/non_text"  # stickers, photos, voice notes, files, locations ...
EDITED = "/edited_message"


class UnknownUpdate(ValueError):
    """An update this assistant does not subscribe to or cannot read."""


class SeenIds:
    """The update or message ids this process handled lately (bounded), so that a
    platform's redelivery of the same update is answered once. Enough for one Rasa
    server; several share theirs in Redis (``bot.messengers.shared_ids``)."""

    def __init__(self, size: int = 10_000):
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._size = size

    async def first_time(self, update_id: Hashable) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True
