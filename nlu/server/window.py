"""The part of a conversation Rasa works on: its last turns, not its whole history.

Rasa reads every event of a session from the tracker store, replays them, writes them
back, featurises the whole history for each prediction and sends it all to the action
server with every action call, so each message cost more than the one before it (O(n²)
for a conversation). What the dialogue depends on is bounded: the policies look at the
last few turns (MemoizationPolicy's ``max_history``, the rules' length), the actions at
the slots, the active form and the last :data:`~bot.conversations.TRANSCRIPT_LINES`
messages (an enquiry's transcript).

So the tracker stores keep, for each conversation, a *window*:

1. an opening that stands for the older turns: their last messages' text (user and bot
   text only), a session start marked :data:`MARK`, and the state at the cut (the slots
   that differ from their initial values, the active form, a pause);
2. the last :data:`TURNS_KEPT` turns as they happened, and those since.

The marked session start resets the dialogue state, so the texts before it are read by
the actions (``tracker.events``) but replayed and featurised by no policy. When more
than :data:`TURNS_KEPT` + :data:`TURNS_SPARE` turns follow the opening, the window is cut
again, which replays only the window. A real session start (the visitor came back after
``session_expiration_time``) ends the window as it ends Rasa's own retrieval of a
session. The SQL store keeps every event as Rasa does; only what is read is bounded.
"""

from __future__ import annotations

from typing import Iterable

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversations import TRANSCRIPT_LINES

TURNS_KEPT = 5  # more than any policy or rule looks back (config.yml, data/rules.yml)
TURNS_SPARE = 5  # turns added before the window is cut again
MARK = "hub_window"  # metadata of the session start that opens a window


def opens_window(event: Event) -> bool:
    return isinstance(event, SessionStarted) and bool((event.metadata or {}).get(MARK))


def session_start(events: list[Event]) -> int:
    """Where the last real session begins (its ``action_session_start``), 0 if none."""
    for index in range(len(events) - 1, 0, -1):
        event = events[index]
        if isinstance(event, SessionStarted) and not opens_window(event):
            before = events[index - 1]
            started = isinstance(before, ActionExecuted)
            return (
                index - 1 if started and before.action_name == ACTION_SESSION_START_NAME else index
            )
    return 0


def _turn_starts(events: list[Event]) -> list[int]:
    """Indexes of the ``action_listen`` before each message of the visitor."""
    return [
        index - 1
        for index in range(1, len(events))
        if isinstance(events[index], UserUttered)
        and isinstance(events[index - 1], ActionExecuted)
        and events[index - 1].action_name == ACTION_LISTEN_NAME
    ]


def cut_point(events: list[Event]) -> int | None:
    """Where a new window would begin, or None while its turns are few (an opening's
    texts are no turns: no ``action_listen`` precedes them)."""
    turns = _turn_starts(events)
    if len(turns) <= TURNS_KEPT + TURNS_SPARE:
        return None
    return turns[-TURNS_KEPT]


def _text_only(event: Event) -> Event:
    if isinstance(event, UserUttered):
        return UserUttered(event.text, timestamp=event.timestamp, input_channel=event.input_channel)
    return BotUttered(event.text, data=event.data, timestamp=event.timestamp)


def opening(events: list[Event], cut: int, slots: Iterable[Slot], sender_id: str) -> list[Event]:
    """What stands for ``events[:cut]``: their last messages' text, then the state at
    ``cut`` after a marked session start. ``slots`` are the domain's, unset."""
    before = DialogueStateTracker.from_events(sender_id, events[:cut], slots)
    texts = [
        _text_only(event)
        for event in events[:cut]
        if isinstance(event, (UserUttered, BotUttered)) and event.text
    ][-TRANSCRIPT_LINES:]
    at = events[cut].timestamp
    state: list[Event] = [SessionStarted(metadata={MARK: True}, timestamp=at)]
    state += [
        SlotSet(slot.name, slot.value, timestamp=at)
        for slot in before.slots.values()
        if slot.value != slot.initial_value
    ]
    if before.active_loop_name:
        state.append(ActiveLoop(before.active_loop_name, timestamp=at))
    if before.is_paused():
        state.append(ConversationPaused(timestamp=at))
    return texts + state


def kept(events: list[Event], slots: Iterable[Slot], sender_id: str):
    """``(first, opening)``: the window to keep is ``opening + events[first:]``; None
    when ``events`` is that window already."""
    start = session_start(events)
    cut = cut_point(events[start:])
    if cut is None:
        return (start, []) if start else None
    return start + cut, opening(events[start:], cut, slots, sender_id)
