"""Every patch of Rasa internals (nlu/server/patches.py): installed where it must be,
once, only on the version it was written for, and behaving as Rasa does where it
should: the cached action-response validation like Rasa's own, undelivered requests
to the action server sent again."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from harness.servers import free_port
from nlu.server import patches

patches.install_in_rasa_server()

VALID = {
    "events": [{"event": "slot", "name": "hub", "value": "leipzig", "timestamp": None}],
    "responses": [{"response": "utter_contact_line", "contact_name": "Dr Eric Weber"}],
}
INVALID = {"events": [{"event": "slot", "name": "hub"}], "responses": "not a list"}


def test_every_rasa_server_patch_is_active_once_the_components_load():
    import nlu.components  # noqa: F401  (what `rasa run` imports for our model)

    assert [p.name for p in patches.RASA_PATCHES if not p.active()] == []


def test_installing_twice_wraps_once():
    from rasa.core.agent import Agent

    handle_message = Agent.handle_message
    patches.install_in_rasa_server()
    assert Agent.handle_message is handle_message
    assert not hasattr(handle_message.__wrapped__, patches.MARK)


def test_the_action_server_patch_is_active_in_the_action_server():
    import actions  # noqa: F401  (what `rasa run actions` imports)

    assert patches.CONVERSATION_ID_IN_ACTION_LOGS.active()


@pytest.mark.parametrize("patch", patches.RASA_PATCHES + patches.ACTION_SERVER_PATCHES)
def test_a_patch_refuses_another_version_naming_itself(patch):
    other = "3.7.0" if patch.package == "rasa" else "3.7.1"
    with pytest.raises(patches.UnsupportedVersion, match=patch.name):
        patch.install(version=other)


def test_the_installed_versions_are_the_ones_the_patches_were_written_for():
    import rasa
    import rasa_sdk

    assert rasa.__version__ == patches.RASA_VERSION
    assert rasa_sdk.__version__.startswith(patches.RASA_SDK_VERSION)


def test_every_patch_says_why():
    for patch in patches.RASA_PATCHES + patches.ACTION_SERVER_PATCHES:
        assert len(patch.why) > 80, patch.name


# --- cached_action_response_validator, cached_event_classes ---------------------------


def test_valid_action_responses_pass_both_validations():
    assert patches.validate_action_response(VALID) is True
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_an_invalid_action_response_is_still_refused():
    patches.install_in_rasa_server()
    with pytest.raises(ValidationError):
        patches.validate_action_response(INVALID)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)


def test_the_rasa_server_loads_the_patch_with_the_custom_components():
    import nlu.components  # noqa: F401  (what `rasa run` imports for our model)

    assert patches.CACHED_ACTION_RESPONSE_VALIDATOR.active()


def test_events_still_deserialise_to_their_classes_and_unknown_ones_fail():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    patches.install_in_rasa_server()
    assert patches.CACHED_EVENT_CLASSES.active()
    for _ in range(2):  # first resolved, then from the cache
        slot = Event.from_parameters({"event": "slot", "name": "hub", "value": "leipzig"})
        assert isinstance(slot, SlotSet) and slot.value == "leipzig"
        user = {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}
        assert isinstance(Event.from_parameters(user), UserUttered)
        assert isinstance(Event.from_parameters({"event": "action", "name": "x"}), ActionExecuted)
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet


# --- retry_undelivered_action_requests ---------------------------------------------------


async def _serve_later(port: int, delay: float, webhook=None) -> web.AppRunner:
    """An action server's stand-in on ``port`` after ``delay`` s, answering no events."""
    await asyncio.sleep(delay)
    app = web.Application()
    app.router.add_post("/webhook", webhook or (lambda _: web.json_response({"events": []})))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_a_refused_connection_is_retried_until_the_server_listens():
    async def scenario():
        port = free_port()
        starting = asyncio.create_task(_serve_later(port, 0.06))
        answer = await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(json={})
        await (await starting).cleanup()
        return answer

    assert asyncio.run(scenario()) == {"events": []}


def test_a_server_that_never_listens_still_fails_after_the_retries():
    endpoint = EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")
    with pytest.raises(aiohttp.ClientOSError):
        asyncio.run(endpoint.request(json={}))


# --- reused_action_server_connections ------------------------------------------------------


def _calls(endpoint: EndpointConfig, port: int, count: int) -> list:
    async def scenario():
        peers: list = []

        async def webhook(request):
            peers.append(request.transport.get_extra_info("peername"))
            return web.json_response({"events": []})

        runner = await _serve_later(port, 0, webhook)
        try:
            for _ in range(count):
                assert await endpoint.request(json={}) == {"events": []}
        finally:
            await runner.cleanup()
        return peers

    return asyncio.run(scenario())


def test_action_calls_go_over_one_kept_connection():
    port = free_port()
    peers = _calls(EndpointConfig(f"http://127.0.0.1:{port}/webhook"), port, 3)
    assert len(peers) == 3 and len(set(peers)) == 1


def test_an_endpoint_used_from_a_new_event_loop_opens_a_new_session():
    port = free_port()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    first, second = _calls(endpoint, port, 1), _calls(endpoint, port, 1)
    assert first != second  # a connection of the first loop is not reused
