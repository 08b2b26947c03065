"""Every change the assistant makes to the code of Rasa and the Rasa SDK, in one module.

Where Rasa offers a hook (a channel, a tracker store, an event broker, a graph
component) the project uses a subclass of its own instead; these are the places where
it offers none. Each patch is named, says why it exists, and replaces one attribute,
once: installing twice changes nothing. Each was written against one version of the
code it replaces and refuses to install on another (:class:`UnsupportedVersion`,
naming the patch), so an upgrade of Rasa fails at start-up, not in a conversation.

- The Rasa server installs :data:`RASA_PATCHES` when it loads the model
  (``nlu/components/__init__.py``, which every process that loads the model imports).
- The action server installs :data:`ACTION_SERVER_PATCHES` (``actions/__init__.py``).

Rasa is imported inside each patch, so importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

log = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
RASA_SDK_VERSION = "3.6."  # any 3.6 release: the executor's interface is unchanged
MARK = "__hub_patch__"

UNDELIVERED_ATTEMPTS = 3
FIRST_WAIT_SECONDS = 0.05
SLOW_DOWN_RESPONSE = "utter_slow_down"
MESSAGE_CUT_RESPONSE = "utter_message_cut"
ACTION_SERVER_DOWN_RESPONSES = ("utter_action_server_down", "utter_contacts_both")


class UnsupportedVersion(RuntimeError):
    """A patch meets a version of Rasa it was not written for."""


@dataclass(frozen=True)
class Patch:
    name: str
    package: str  # "rasa" or "rasa_sdk": whose version the patch was written for
    target: Callable[[], tuple[Any, str]]  # (owner, attribute), imported when needed
    replacement: Callable[[Callable], Callable]  # the original -> what replaces it
    why: str

    def supported(self, version: str) -> bool:
        expected = RASA_VERSION if self.package == "rasa" else RASA_SDK_VERSION
        return version == expected or (expected.endswith(".") and version.startswith(expected))

    def install(self, version: str | None = None) -> None:
        version = version or _version_of(self.package)
        if not self.supported(version):
            raise UnsupportedVersion(
                f"patch {self.name!r} was written for {self.package} "
                f"{RASA_VERSION if self.package == 'rasa' else RASA_SDK_VERSION + 'x'}, "
                f"not {version}: check nlu/server/patches.py against the new code"
            )
        owner, attribute = self.target()
        if self.active():
            return
        raw = owner.__dict__[attribute]
        original = raw.__func__ if isinstance(raw, staticmethod) else getattr(owner, attribute)
        replaced = self.replacement(original)
        setattr(replaced, MARK, self.name)
        replaced.__wrapped__ = original
        setattr(
            owner, attribute, staticmethod(replaced) if isinstance(raw, staticmethod) else replaced
        )

    def active(self) -> bool:
        owner, attribute = self.target()
        return getattr(getattr(owner, attribute), MARK, None) == self.name


def _version_of(package: str) -> str:
    if package == "rasa":
        import rasa

        return rasa.__version__
    import rasa_sdk

    return rasa_sdk.__version__


# --- Rasa server: speed (profiled with py-spy under `make bench` load) -----------------


def _remote_action():
    from rasa.core.actions.action import RemoteAction

    return RemoteAction


@lru_cache(maxsize=1)
def _action_response_validator():
    from jsonschema import validators

    schema = _remote_action().action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate would each time
    return validator_class(schema)


def validate_action_response(result) -> bool:
    """What Rasa's ``jsonschema.validate`` does, with the validator built once."""
    from jsonschema import exceptions

    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        raise error
    return True


def _cached_validation(original):
    from jsonschema import exceptions

    def _validate_action_result(self, result):
        try:
            return validate_action_response(result)
        except exceptions.ValidationError:
            return original(self, result)  # Rasa's own error message and logging

    return _validate_action_result


def _cached_resolution(original):
    resolved: dict[str, type] = {}

    def resolve_by_type(type_name, default=None):
        if type_name in resolved:
            return resolved[type_name]
        found = original(type_name, default)
        if found is not None and getattr(found, "type_name", None) == type_name:
            resolved[type_name] = found
        return found

    return resolve_by_type


def _event_class():
    from rasa.shared.core.events import Event

    return Event


CACHED_ACTION_RESPONSE_VALIDATOR = Patch(
    "cached_action_response_validator",
    "rasa",
    lambda: (_remote_action(), "_validate_action_result"),
    _cached_validation,
    "Rasa validates every action-server response with jsonschema.validate, which "
    "re-checks the large constant schema against the meta-schema each time: 47 % of "
    "the server's CPU. Same validation and errors, the validator built once.",
)
CACHED_EVENT_CLASSES = Patch(
    "cached_event_classes",
    "rasa",
    lambda: (_event_class(), "resolve_by_type"),
    _cached_resolution,
    "Reading a conversation resolves each event's class by scanning every subclass of "
    "Event: 10 % of the CPU. Resolved classes are kept; unknown names fail as before.",
)


# --- Rasa server: the action server unreachable ----------------------------------------


def _retrying(original):
    import aiohttp

    async def request(self, *args, **kwargs):
        for attempt in range(UNDELIVERED_ATTEMPTS):
            try:
                return await original(self, *args, **kwargs)
            except aiohttp.ClientOSError as error:  # refused, or reset while writing
                if attempt == UNDELIVERED_ATTEMPTS - 1:
                    raise
                log.warning("request to %s not delivered (%s); sending it again", self.url, error)
                await asyncio.sleep(FIRST_WAIT_SECONDS * 2**attempt)

    return request


@lru_cache(maxsize=1)
def _facts_from_file():
    from bot.knowledge import document

    return document.read()


def _answering_when_down(original):
    import aiohttp
    from rasa.core.actions.action import ActionSessionStart, create_bot_utterance
    from rasa.shared.exceptions import RasaException

    from nlu.server.metrics import ACTION_SERVER_DOWN

    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except RasaException as error:
            if not isinstance(error.__context__, aiohttp.ClientConnectionError):
                raise
            if self.name() == ActionSessionStart().name():  # Rasa's own start, no apology
                return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
            ACTION_SERVER_DOWN.inc()
            facts = _facts_from_file().in_language(tracker.get_slot("language"))
            values = {"utter_contacts_both": facts.contacts_by_hub()}
            events = []
            for response in ACTION_SERVER_DOWN_RESPONSES:
                message = await nlg.generate(
                    response, tracker, output_channel.name(), **values.get(response, {})
                )
                if message:
                    events.append(create_bot_utterance(message))
            return events

    return run


def _endpoint_config():
    from rasa.utils.endpoints import EndpointConfig

    return EndpointConfig


RETRY_UNDELIVERED_ACTION_REQUESTS = Patch(
    "retry_undelivered_action_requests",
    "rasa",
    lambda: (_endpoint_config(), "request"),
    _retrying,
    "Under load the action server's listen backlog overflows and connections are reset "
    "before the request is written; the visitor got no answer. A request that was not "
    "delivered (refused, reset while writing) cannot have run, so it is sent again, up "
    "to three times; one dropped after sending (ServerDisconnectedError) is not.",
)
ANSWER_WHEN_ACTION_SERVER_DOWN = Patch(
    "answer_when_action_server_down",
    "rasa",
    lambda: (_remote_action(), "run"),
    _answering_when_down,
    "With the action server unreachable Rasa logs an error and the visitor gets "
    "nothing. The answer becomes an apology and both contact persons, in the "
    "conversation's language, from data/knowledge_base.yml read by the Rasa server "
    "itself (the database may be what is down); a session still starts as Rasa starts it.",
)


# --- Rasa server: the hop to the actions -----------------------------------------------

KEPT_ALIVE_SECONDS = 4.0  # under the action server's own keep-alive (Sanic's, 5 s)


class _KeptOpen:
    """``async with`` over a client session that stays open for the next request."""

    def __init__(self, session) -> None:
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc_info) -> None:
        return None


def _kept_sessions(original):
    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    def session(self):
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_hub_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = self.basic_auth
            made = aiohttp.ClientSession(  # what Rasa's session() sets, and a kept connector
                headers=self.headers,
                auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEPT_ALIVE_SECONDS),
            )
            kept = self.__dict__["_hub_session"] = (loop, made)
        return _KeptOpen(kept[1])

    return session


def _in_process_when_configured(original):
    from nlu.server import in_process_actions

    def __init__(self, name, action_endpoint):
        package = in_process_actions.configured(action_endpoint)
        if package:
            action_endpoint = in_process_actions.endpoint_for(package)
        original(self, name, action_endpoint)

    return __init__


REUSED_ACTION_SERVER_CONNECTIONS = Patch(
    "reused_action_server_connections",
    "rasa",
    lambda: (_endpoint_config(), "session"),
    _kept_sessions,
    "Rasa opens a new HTTP session, and so a new connection, for every action call (7 % "
    "of the server's CPU). Each endpoint keeps one session per event loop; its idle "
    "connections close before the action server would close them.",
)
ACTIONS_IN_PROCESS = Patch(
    "actions_in_process",
    "rasa",
    lambda: (_remote_action(), "__init__"),
    _in_process_when_configured,
    "Rasa Pro runs custom actions in the server's own process (``actions_module`` in the "
    "endpoints file); Rasa 3.6 only calls an action server. With that setting every "
    "custom action (forms' validations and slot mappings too) runs through the SDK's "
    "executor here (nlu/server/in_process_actions.py).",
)


# --- Rasa server: every message ---------------------------------------------------------


async def _tell(owner, message, response: str, **values) -> None:
    """Send ``response`` to the message's sender outside the dialogue, in the
    conversation's language (a new or just-erased conversation has none yet);
    ``owner`` is the Agent or the MessageProcessor, which both hold the tracker store,
    the domain and the NLG. Values may be callables of the tracker."""
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = await owner.tracker_store.retrieve(message.sender_id)
    if tracker is None:
        tracker = DialogueStateTracker(message.sender_id, owner.domain.slots)
    filled = {k: v(tracker) if callable(v) else v for k, v in values.items()}
    reply = await owner.nlg.generate(response, tracker, message.output_channel.name(), **filled)
    if reply:
        await message.output_channel.send_response(message.sender_id, reply)


def _handling_messages(original):
    from bot import logs, settings, shared_limits
    from bot.ratelimit import SenderLimits
    from nlu.channels import clients
    from nlu.server.metrics import ANSWER_SECONDS, RATE_LIMITED, channel_label

    limit = settings.get().rate_limit
    limits = shared_limits.buckets(
        "sender", limit, SenderLimits(burst=limit.burst, per_minute=limit.per_minute)
    )

    async def slow_down(agent, message, wait: float) -> None:
        RATE_LIMITED.labels(channel_label(message.input_channel)).inc()
        log.warning("over the rate limit for %.0f s more; message not read", wait)
        await _tell(agent, message, SLOW_DOWN_RESPONSE)

    async def handle_message(self, message):
        token = logs.conversation_id.set(message.sender_id)
        started = time.perf_counter()
        try:
            # a socket's client over its address's limit (nlu/channels/clients.py), or
            # the sender over theirs: either way asked to slow down, the message unread
            wait = clients.over_limit_for() or await limits.allow(message.sender_id)
            if wait:
                clients.slowed_down(wait)
                return await slow_down(self, message, wait)
            return await original(self, message)
        finally:
            ANSWER_SECONDS.labels(channel_label(message.input_channel)).observe(
                time.perf_counter() - started
            )
            logs.conversation_id.reset(token)

    return handle_message


def _agent():
    from rasa.core.agent import Agent

    return Agent


SENDER_LIMITS_AND_ANSWER_TIMES = Patch(
    "sender_limits_and_answer_times",
    "rasa",
    lambda: (_agent(), "handle_message"),
    _handling_messages,
    "Every channel's message passes Agent.handle_message, and nothing before it knows "
    "the sender on every channel: here a sender over RATE_LIMIT_BURST / "
    "RATE_LIMIT_PER_MINUTE is asked, in their language, to slow down and the message "
    "is not read, as is one from a socket whose client address is over its limit; "
    "the answer time is measured (lock wait included, as the visitor "
    "waits for it) and the conversation id goes on every log line.",
)


def _cutting_long_messages(original):
    from bot import settings
    from bot.numbers import number_text

    async def handle_message(self, message):
        if len(message.text or "") <= settings.MESSAGE_MAX_CHARS:
            return await original(self, message)
        message.text = message.text[: settings.MESSAGE_MAX_CHARS]
        answers = await original(self, message)
        await _tell(
            self,
            message,
            MESSAGE_CUT_RESPONSE,
            limit=lambda tracker: number_text(
                settings.MESSAGE_MAX_CHARS, tracker.get_slot("language")
            ),
        )
        return answers

    return handle_message


def _message_processor():
    from rasa.core.processor import MessageProcessor

    return MessageProcessor


CUT_LONG_MESSAGES = Patch(
    "cut_long_messages",
    "rasa",
    lambda: (_message_processor(), "handle_message"),
    _cutting_long_messages,
    "Every channel's message reaches MessageProcessor.handle_message, inside the "
    "conversation's lock: a message longer than MESSAGE_MAX_CHARS is read only that far "
    "(the pipeline's time grows with the text, and it runs on the event loop), and the "
    "visitor is told so after the answers, in the conversation's language as the "
    "message itself set it.",
)


# --- action server ------------------------------------------------------------------------


def _naming_the_conversation(original):
    from bot import logs

    async def run(self, action_call):
        token = logs.conversation_id.set(action_call.get("sender_id"))
        try:
            return await original(self, action_call)
        finally:
            logs.conversation_id.reset(token)

    return run


def _action_executor():
    from rasa_sdk.executor import ActionExecutor

    return ActionExecutor


CONVERSATION_ID_IN_ACTION_LOGS = Patch(
    "conversation_id_in_action_logs",
    "rasa_sdk",
    lambda: (_action_executor(), "run"),
    _naming_the_conversation,
    "The SDK's server builds its executor itself, with no hook around an action's run: "
    "this names the conversation on every log line an action writes.",
)


RASA_PATCHES = (
    CACHED_ACTION_RESPONSE_VALIDATOR,
    CACHED_EVENT_CLASSES,
    RETRY_UNDELIVERED_ACTION_REQUESTS,
    ANSWER_WHEN_ACTION_SERVER_DOWN,
    REUSED_ACTION_SERVER_CONNECTIONS,
    ACTIONS_IN_PROCESS,
    SENDER_LIMITS_AND_ANSWER_TIMES,
    CUT_LONG_MESSAGES,
)
ACTION_SERVER_PATCHES = (CONVERSATION_ID_IN_ACTION_LOGS,)


def install_in_rasa_server() -> None:
    """Every Rasa-server patch, once; then the project's log format (bot/logs.py)."""
    from bot import logs

    for patch in RASA_PATCHES:
        patch.install()
    logs.configure("rasa")


def install_in_action_server() -> None:
    from bot import logs

    for patch in ACTION_SERVER_PATCHES:
        patch.install()
    logs.configure("actions")
