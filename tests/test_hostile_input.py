"""Hostile input to the channels: whatever JSON or bytes a client sends, with the right
secret or signature too, the parsers give a result or refuse it, and the channels
answer 2xx or 4xx, never 500 or a hang.

Most tests here are property-based (Hypothesis) and plain Python, calling the readers
and the channels' own handlers without a server (``make check``); the ``e2e`` ones post
the malformed webhooks found in issue 15 to the real Rasa server."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import urllib.request
from itertools import count
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sanic.response import HTTPResponse

from bot import settings as bot_settings
from bot.messengers import facebook, telegram
from bot.messengers.updates import UnknownUpdate
from harness.servers import post, running_assistant
from nlu.channels import rest, webhook
from nlu.channels.facebook import FacebookInput
from nlu.channels.telegram import TelegramInput
from tests.support.messengers import meta_signature, telegram_update, wait_until

TELEGRAM_SECRET = "telegram-secret-0123456789"
FACEBOOK_SECRET = "meta-app-secret"
WEBER_PHONE = "+49 (0)341 355 785 70"
DEEP_ARRAY = b'{"update_id": 1, "message": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"

# Fast enough for `make check`; no example database to keep.
FAST = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what a hostile client can send ----------------------------------------------------

REAL_KEYS = (
    "update_id",
    "message",
    "edited_message",
    "callback_query",
    "chat",
    "from",
    "id",
    "text",
    "data",
    "language_code",
    "object",
    "entry",
    "messaging",
    "sender",
    "recipient",
    "postback",
    "quick_reply",
    "payload",
    "title",
    "mid",
    "timestamp",
    "is_echo",
    "metadata",
)
REAL_TEXTS = ("page", "/start", "/language de", "/affirm", "hello", "")
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.floats()
    | st.text()
    | st.sampled_from(REAL_TEXTS)
)
keys = st.sampled_from(REAL_KEYS) | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=20,
)
# What json.dumps writes and json.loads reads back as it was (no NaN, no Infinity).
plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=20,
)


def _paths(value: Any, path: tuple = ()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*path, index))


def _at(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


def _replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


def mutations(*documents: dict) -> st.SearchStrategy:
    """Real updates with one or two parts, anywhere, replaced by any JSON value: the
    shapes a reader meets when a sender with the secret gets a field wrong."""
    odd = st.sampled_from(["x", "", 0, 1, -1, True, False, None, [], [1], ["x"], {}, 1.5])

    def mutate(document: Any) -> st.SearchStrategy:
        paths = list(_paths(document))
        containers = [p for p in paths if isinstance(_at(document, p), (dict, list))]
        paths += containers * 3  # where a reader steps in, and a wrong type hurts most
        change = st.tuples(st.sampled_from(paths), odd | json_values)
        return change.map(lambda c: _replaced(document, *c))

    once = st.sampled_from(documents).flatmap(mutate)
    return once | once.flatmap(mutate)


TELEGRAM_UPDATES = (
    json.loads(telegram_update(1, 42, "Who is the contact for Dresden?")),
    json.loads(telegram_update(2, 42, "/language de")),
    json.loads(telegram_update(3, 42, None, sticker={"file_id": "x"})),
    {"update_id": 4, "edited_message": {"chat": {"id": 42}, "from": {"id": 1}, "text": "hi"}},
    {
        "update_id": 5,
        "callback_query": {
            "id": "cb1",
            "from": {"id": 42, "language_code": "de"},
            "message": {"message_id": 3, "chat": {"id": 42}},
            "data": "/affirm",
        },
    },
)
MESSENGER_CALLS = (
    {
        "object": "page",
        "entry": [
            {
                "id": "PAGE",
                "time": 1,
                "messaging": [
                    {
                        "sender": {"id": "u1"},
                        "recipient": {"id": "PAGE"},
                        "timestamp": 1,
                        "message": {"mid": "m1", "text": "hello"},
                    },
                    {
                        "sender": {"id": "u1"},
                        "timestamp": 2,
                        "message": {"mid": "m2", "quick_reply": {"payload": "/affirm"}},
                    },
                    {"sender": {"id": "u2"}, "timestamp": 3, "postback": {"payload": "/greet"}},
                    {"sender": {"id": "u2"}, "delivery": {"mids": ["m1"]}},
                ],
            }
        ],
    },
)
REST_MESSAGES = (
    {"sender": "visitor-1", "message": "hello", "metadata": {"language": "de"}},
    {"sender": "visitor-2", "message": "Who is the contact for Leipzig?"},
)
# Mostly real updates with a part replaced: what reaches the readers' branches.
telegram_updates = st.one_of(
    mutations(*TELEGRAM_UPDATES),
    mutations(*TELEGRAM_UPDATES),
    st.builds(lambda d, u: {**d, "update_id": u}, st.dictionaries(keys, json_values), scalars),
    json_values,
)
messenger_calls = st.one_of(
    mutations(*MESSENGER_CALLS),
    mutations(*MESSENGER_CALLS),
    st.builds(lambda d: {**d, "object": "page"}, st.dictionaries(keys, json_values)),
    json_values,
)
rest_messages = mutations(*REST_MESSAGES) | st.dictionaries(keys, json_values) | json_values
jsonish_text = st.text(alphabet='[]{}",:\\ 0-e\tu', max_size=300)


def encoded(values: st.SearchStrategy) -> st.SearchStrategy:
    """Bodies as a client may send them: JSON of those values (ASCII-escaped or not)."""
    return st.tuples(values, st.booleans()).map(
        lambda v: json.dumps(v[0], ensure_ascii=v[1]).encode("utf-8", "surrogatepass")
    )


bodies = encoded(json_values) | st.binary(max_size=500) | jsonish_text.map(str.encode)


def depth(value: Any) -> int:
    """How deep arrays and objects nest (``[]`` is 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    return deepest


def is_refusal(answer: Any, *statuses: int) -> bool:
    return isinstance(answer, HTTPResponse) and answer.status in (statuses or (400, 413))


# --- the readers: total over any JSON value ---------------------------------------------


@FAST
@given(telegram_updates)
def test_a_telegram_update_is_read_or_refused_never_an_error(update):
    try:
        incoming = telegram.read_update(update)
    except UnknownUpdate:
        return
    assert type(incoming.update_id) is int and type(incoming.chat_id) is int
    assert isinstance(incoming.text, str)
    assert incoming.language is None or isinstance(incoming.language, str)
    assert incoming.callback_query_id is None or isinstance(incoming.callback_query_id, str)


@FAST
@given(messenger_calls)
def test_a_messenger_call_is_read_or_refused_never_an_error(payload):
    try:
        events = facebook.read_events(payload)
    except UnknownUpdate:
        return
    for incoming in events:
        assert isinstance(incoming.message_id, str) and 0 < len(incoming.message_id) <= 220
        assert isinstance(incoming.sender_id, str) and 0 < len(incoming.sender_id) <= 200
        assert isinstance(incoming.text, str)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"chat": "x", "text": "hi"}},
        {"update_id": 1, "message": {"chat": {"id": 1}, "from": "x", "text": "hi"}},
        json.loads(b'{"update_id": 1, "message": ' + b"[" * 500 + b"]" * 500 + b"}"),
    ],
    ids=["string-chat", "string-from", "nested-array"],
)
def test_the_telegram_updates_of_the_issue_are_refused(update):
    with pytest.raises(UnknownUpdate):
        telegram.read_update(update)


@pytest.mark.parametrize(
    "entry",
    [[1], [{"messaging": ["x"]}], [{"messaging": [{"sender": "x", "message": {"text": "hi"}}]}]],
    ids=["entry-1", "messaging-x", "sender-x"],
)
def test_the_messenger_calls_of_the_issue_are_refused(entry):
    with pytest.raises(UnknownUpdate):
        facebook.read_events({"object": "page", "entry": entry})


# --- the one JSON reader every channel uses ----------------------------------------------


def read(body: bytes, max_bytes: int = bot_settings.REQUEST_MAX_BYTES) -> Any:
    return webhook.json_body(SimpleNamespace(body=body), max_bytes)


@FAST
@given(bodies)
@example(DEEP_ARRAY)
@example(b'{"text": "\\ud800"}')
@example(b'{"n": NaN}')
@example(b'{"n": 1e400}')
@example(b'{"n": ' + b"9" * 5000 + b"}")
@example(b"\xef\xbb\xbf{}")
@example(b'"' + b"\\" * 9999)
def test_any_body_is_json_or_a_client_error(body):
    value = read(body)
    if is_refusal(value):
        return
    assert not isinstance(value, HTTPResponse)
    assert depth(value) <= webhook.MAX_JSON_DEPTH
    json.dumps(value, allow_nan=False).encode("utf-8")  # storable and sendable as it is


@FAST
@given(plain_json, st.booleans())
def test_json_within_the_limits_is_read_as_it_was_sent(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    if len(body) > bot_settings.REQUEST_MAX_BYTES:
        assert is_refusal(read(body), 413)
    elif depth(value) > webhook.MAX_JSON_DEPTH:
        assert is_refusal(read(body), 400)
    else:
        assert read(body) == value


@FAST
@given(jsonish_text)
def test_the_depth_is_counted_as_the_parser_nests(text):
    """Brackets inside strings, escaped quotes and unclosed strings do not fool the
    count: what the parser reads is refused exactly when it nests too deep."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        assert is_refusal(read(text.encode()), 400)
        return
    assert is_refusal(read(text.encode()), 400) == (depth(value) > webhook.MAX_JSON_DEPTH)


bracket_texts = st.text(alphabet='[]{}"\\ab', max_size=8)
bracketed_json = st.recursive(
    st.none() | st.integers() | bracket_texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(bracket_texts, children, max_size=3)
    ),
    max_leaves=20,
)


@FAST
@given(st.integers(min_value=0, max_value=40), bracketed_json, st.booleans())
def test_valid_json_is_refused_exactly_when_it_nests_too_deep(levels, value, in_objects):
    """Strings full of brackets, quotes and backslashes, in arrays or objects."""
    for _ in range(levels):
        value = {"[": value} if in_objects else [value]
    answer = read(json.dumps(value).encode())
    if depth(value) > webhook.MAX_JSON_DEPTH:
        assert is_refusal(answer, 400)
    else:
        assert answer == value


@pytest.mark.parametrize("levels", [1, 31, 32, 33, 1_000, 30_000])
def test_nesting_is_refused_beyond_the_limit_and_quickly(levels):
    body = b"[" * levels + b"]" * levels
    started = time.monotonic()
    answer = read(body, max_bytes=len(body))
    assert time.monotonic() - started < 0.5
    assert is_refusal(answer, 400) == (levels > webhook.MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    "body",
    [
        b'"' + b'\\"' * 30_000,  # every quote escaped: a careless string pattern rescans
        b'["' + b"[" * 60_000 + b'"]',
        b'{"a": "' + b'\\\\"' * 20_000 + b"}",
    ],
    ids=["escaped-quotes", "brackets-in-a-string", "escaped-backslashes"],
)
def test_a_body_made_to_slow_the_reader_is_read_quickly(body):
    started = time.monotonic()
    read(body, max_bytes=len(body))
    assert time.monotonic() - started < 0.5


def test_over_the_cap_is_413_before_anything_is_parsed():
    body = b"[" * (bot_settings.REQUEST_MAX_BYTES + 1)
    assert is_refusal(read(body), 413)


# --- the REST channel: the check and Rasa's own handler, no server --------------------------


def rest_call(body: bytes) -> SimpleNamespace:
    """What the REST channel's code reads of a Sanic request."""
    return SimpleNamespace(
        body=body,
        method="POST",
        headers={},
        args={},
        ip="127.0.0.1",
        remote_addr="",
        parsed_json=None,
        json=None,
        ctx=SimpleNamespace(),
    )


@pytest.mark.parametrize(
    "body",
    [b'{"sender": "a", "message": "a\ttab"}', b'{"sender": "a", "message": "a\nline"}'],
    ids=["tab", "newline"],
)
def test_a_raw_control_character_in_a_string_is_refused_as_json_says(body):
    """RFC 8259 wants them escaped, and parsers that differ here read different
    messages (issue 15: a raw TAB the old balancer did not count, Rasa's parser read)."""
    assert is_refusal(rest.message_body(rest_call(body)), 400)
    escaped = body.replace(b"\t", b"\\t").replace(b"\n", b"\\n")
    assert not is_refusal(rest.message_body(rest_call(escaped)))


class RecordingDialogue:
    def __init__(self) -> None:
        self.messages = []

    async def __call__(self, message) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "ok")


@FAST
@given(encoded(rest_messages) | bodies)
@example(b'{"sender": null, "message": "hi"}')
@example(b"[1, 2, 3]")
@example(b'{"sender": "a", "message": 5}')
@example(b'{"sender": "a", "message": "hi", "metadata": [1]}')
@example(b'{"sender": "a", "message": "a\ttab"}')
def test_the_rest_check_passes_a_readable_message_or_refuses_it(body):
    checked = rest.message_body(rest_call(body))
    if is_refusal(checked):
        return
    assert isinstance(checked["sender"], str) and 0 < len(checked["sender"]) <= 200
    assert isinstance(checked["message"], str)
    assert checked.get("metadata") is None or isinstance(checked["metadata"], dict)


@pytest.fixture
def rest_channel(monkeypatch):
    """The REST channel's middleware and Rasa's handler behind it, as the server calls them."""
    monkeypatch.delenv("REST_TOKEN", raising=False)
    bot_settings.reset()
    dialogue = RecordingDialogue()
    blueprint = rest.NamespacedRestInput().blueprint(dialogue)
    [middleware] = [
        m.middleware
        for m in blueprint._future_middleware
        if m.middleware.__name__ == "refuse_unauthorised_or_unreadable"
    ]
    [receive] = [r.handler for r in blueprint._future_routes if r.uri == "/webhook"]

    async def call(body: bytes) -> HTTPResponse:
        request = rest_call(body)
        refused = await middleware(request)
        if refused is not None:
            return refused
        request.json = request.parsed_json  # Sanic's Request.json reads parsed_json
        return await receive(request)

    return SimpleNamespace(call=lambda body: asyncio.run(call(body)), dialogue=dialogue)


@FAST
@given(body=encoded(rest_messages) | bodies)
@example(body=b'{"sender": null, "message": "hi"}')
def test_the_rest_channel_answers_any_body_with_2xx_or_4xx(rest_channel, body):
    before = len(rest_channel.dialogue.messages)
    answer = rest_channel.call(body)
    assert answer.status in (200, 400, 413)
    if answer.status == 200:
        [message] = rest_channel.dialogue.messages[before:]
        assert message.sender_id.startswith("rest:") and message.sender_id != "rest:None"
        assert json.loads(answer.body) == [{"recipient_id": message.sender_id, "text": "ok"}]
    else:
        assert rest_channel.dialogue.messages[before:] == []


# --- the messenger channels' handlers, no server --------------------------------------------


def handler_of(channel, handled: list):
    async def handle(incoming, on_new_message) -> None:
        handled.append(incoming)

    channel._handle = handle
    blueprint = channel.blueprint(lambda message: None)
    [receive] = [
        r.handler for r in blueprint._future_routes if r.uri == "/webhook" and "POST" in r.methods
    ]
    return receive


@FAST
@given(body=encoded(telegram_updates) | bodies)
@example(body=DEEP_ARRAY)
def test_the_telegram_channel_answers_any_signed_body_with_2xx_or_4xx(body):
    handled: list = []
    channel = TelegramInput(bot_settings.Telegram("1:TOKEN", TELEGRAM_SECRET))
    request = SimpleNamespace(
        body=body, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )
    answer = asyncio.run(handler_of(channel, handled)(request))
    assert answer.status in (200, 400, 413)
    assert len(handled) == (answer.status == 200)


@FAST
@given(body=encoded(messenger_calls) | bodies)
def test_the_messenger_channel_answers_any_signed_body_with_2xx_or_4xx(body):
    handled: list = []
    channel = FacebookInput(bot_settings.Facebook("verify", FACEBOOK_SECRET, "PAGE-TOKEN"))
    headers = {"X-Hub-Signature-256": meta_signature(FACEBOOK_SECRET, body)}
    answer = asyncio.run(handler_of(channel, handled)(SimpleNamespace(body=body, headers=headers)))
    assert answer.status in (200, 400, 413)
    assert not handled or answer.status == 200


# --- the real Rasa server -------------------------------------------------------------------

ids = count(int(time.time()) * 1000 + 500_000)


@pytest.fixture(scope="module")
def hostile_assistant(tmp_path_factory, platforms):
    env = platforms.env(TELEGRAM_SECRET, FACEBOOK_SECRET)
    with running_assistant(tmp_path_factory.mktemp("hostile"), extra_env=env) as running:
        yield running


def to_telegram(assistant, body: bytes) -> int:
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    return post(f"{assistant.url}/webhooks/telegram/webhook", body, headers)[0]


def to_messenger(assistant, body: bytes) -> int:
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(FACEBOOK_SECRET, body),
    }
    return post(f"{assistant.url}/webhooks/facebook/webhook", body, headers)[0]


def to_rest(assistant, body: bytes) -> int:
    return post(f"{assistant.url}/webhooks/rest/webhook", body, assistant.rest_headers())[0]


def telegram_malformed(chat_id: int) -> list[bytes]:
    message = json.loads(telegram_update(next(ids), chat_id, "Who is the contact for Dresden?"))
    string_chat = copy.deepcopy(message)
    string_chat["message"]["chat"] = "x"
    string_from = copy.deepcopy(message)
    string_from["message"]["from"] = "x"
    return [json.dumps(string_chat).encode(), json.dumps(string_from).encode(), DEEP_ARRAY]


@pytest.mark.e2e
def test_malformed_telegram_updates_with_the_secret_get_400_and_the_chat_goes_on(
    hostile_assistant, platforms
):
    chat_id = next(ids)
    for body in telegram_malformed(chat_id):
        assert to_telegram(hostile_assistant, body) == 400
    assert platforms.telegram_texts(chat_id) == []
    update = telegram_update(next(ids), chat_id, "Who is the contact for Dresden?")
    assert to_telegram(hostile_assistant, update) == 200
    assert "Dr Sebastian Lindner" in " ".join(platforms.telegram_texts(chat_id))


def messenger_call(*messaging) -> bytes:
    return json.dumps({"object": "page", "entry": [{"messaging": list(messaging)}]}).encode()


@pytest.mark.e2e
def test_malformed_messenger_calls_with_a_valid_signature_get_400_and_the_page_goes_on(
    hostile_assistant, platforms
):
    sender = f"psid-{next(ids)}"
    malformed = [
        json.dumps({"object": "page", "entry": [1]}).encode(),
        messenger_call("x"),
        messenger_call({"sender": "x", "timestamp": 1, "message": {"mid": "m", "text": "hi"}}),
        b'{"object": "page", "entry": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    ]
    for body in malformed:
        assert to_messenger(hostile_assistant, body) == 400
    event = {"sender": {"id": sender}, "timestamp": 1, "message": {"mid": f"m_{next(ids)}"}}
    event["message"]["text"] = "Who is the contact for Dresden?"
    assert to_messenger(hostile_assistant, messenger_call(event)) == 200
    assert wait_until(lambda: platforms.facebook_texts(sender))
    assert "Dr Sebastian Lindner" in " ".join(platforms.facebook_texts(sender))


def user_events(assistant, conversation: str) -> list[dict]:
    """What the Rasa server holds of a conversation, by its stored id."""
    token = f"?token={assistant.auth_token}" if assistant.auth_token else ""
    url = f"{assistant.url}/conversations/{conversation}/tracker{token}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return [e for e in json.loads(answer.read()).get("events") or [] if e["event"] == "user"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "body, status",
    [
        (b"[1, 2, 3]", 400),
        (b'{"sender": null, "message": "hello"}', 400),
        (b'{"message": "hello"}', 400),
        (b'{"sender": "s", "message": 5}', 400),
        (b'{"sender": "s", "message": "hello", "metadata": [1]}', 400),
        (b'{"sender": "s", "message": "hello", "metadata": "de"}', 400),
        (b'{"sender": "s", "message": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", 400),
        (b'{"sender": "s", "message": "' + b"x" * 70_000 + b'"}', 413),
    ],
    ids=[
        "list",
        "null-sender",
        "no-sender",
        "number-message",
        "list-metadata",
        "text-metadata",
        "nested",
        "oversized",
    ],
)
def test_malformed_rest_bodies_get_a_client_error_and_reach_no_conversation(
    hostile_assistant, body, status
):
    assert to_rest(hostile_assistant, body) == status
    assert user_events(hostile_assistant, "default") == []
    assert user_events(hostile_assistant, "rest:None") == []
    answer = hostile_assistant.send(f"visitor-{next(ids)}", "Who is the contact for Leipzig?")
    assert WEBER_PHONE in " ".join(r.get("text", "") for r in answer)
