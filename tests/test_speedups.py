"""The cached action-response validation behaves exactly like Rasa's own."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from nlu import speedups

VALID = {
    "events": [{"event": "slot", "name": "hub", "value": "leipzig", "timestamp": None}],
    "responses": [{"response": "utter_contact_line", "contact_name": "Dr Eric Weber"}],
}
INVALID = {"events": [{"event": "slot", "name": "hub"}], "responses": "not a list"}


def test_valid_action_responses_pass_both_validations():
    assert speedups.validate_action_response(VALID) is True
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_an_invalid_action_response_is_still_refused():
    speedups.install()
    with pytest.raises(ValidationError):
        speedups.validate_action_response(INVALID)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)


def test_the_rasa_server_loads_the_patch_with_the_custom_components():
    import nlu.components  # noqa: F401  (what `rasa run` imports for our model)

    assert getattr(RemoteAction._validate_action_result, "cached_validator", False)


def test_events_still_deserialise_to_their_classes_and_unknown_ones_fail():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    speedups.install()
    assert getattr(Event.resolve_by_type, "cached", False)
    for _ in range(2):  # first resolved, then from the cache
        slot = Event.from_parameters({"event": "slot", "name": "hub", "value": "leipzig"})
        assert isinstance(slot, SlotSet) and slot.value == "leipzig"
        user = {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}
        assert isinstance(Event.from_parameters(user), UserUttered)
        assert isinstance(Event.from_parameters({"event": "action", "name": "x"}), ActionExecuted)
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
