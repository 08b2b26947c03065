"""One request must never stop a Rasa server: whatever a client sends, the server
refuses what is too large at once and keeps answering everybody else (a 10 MB REST
message once made a server unresponsive for over half an hour)."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from bot import settings
from harness.servers import Visitor
from tests.support.responses import says

pytestmark = pytest.mark.e2e

TEN_MB = 10 * 1024 * 1024


def _raw_request(url: str, head: bytes, body_chunks, timeout: float = 10) -> bytes:
    """Sends ``head`` and then body chunks until the server answers or closes; returns
    what it answered. A server that reads everything first answers only at the end."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(timeout)
        try:
            while b"\r\n\r\n" not in answer:
                received = sock.recv(65536)
                if not received:
                    break
                answer += received
        except (ConnectionResetError, socket.timeout):
            pass
        return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def _ten_mb_message(url: str, headers: dict, chunked: bool) -> bytes:
    body = json.dumps({"sender": "flood", "message": "a" * TEN_MB}).encode()
    path = urlsplit(url).path
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        chunks = (
            b"%x\r\n%s\r\n" % (65536, body[i : i + 65536]) for i in range(0, len(body), 65536)
        )
    else:
        lines.append(f"Content-Length: {len(body)}")
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return _raw_request(url, head, chunks)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_ten_megabyte_message_is_refused_at_once_and_the_next_visitor_answered(
    assistant, chunked
):
    started = time.monotonic()
    answer = _ten_mb_message(
        f"{assistant.url}/webhooks/rest/webhook", assistant.rest_headers(), chunked
    )
    refused_after = time.monotonic() - started
    assert _status(answer) == 413, answer[:200]
    assert refused_after < 5, f"refused only after {refused_after:.1f} s"
    started = time.monotonic()
    assert "Weber" in Visitor(assistant).says("Who is the contact for Leipzig?")
    assert time.monotonic() - started < 5


def test_every_route_of_the_rasa_server_refuses_a_body_over_the_limit(assistant):
    too_large = b'{"x": "' + b"a" * settings.REQUEST_MAX_BYTES + b'"}'
    for path in ("/webhooks/telegram/webhook", "/conversations/anyone/messages", "/model/parse"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(too_large)}\r\n\r\n"
        ).encode()
        answer = _raw_request(assistant.url, head, [too_large])
        assert _status(answer) == 413, (path, answer[:200])


@pytest.mark.parametrize(
    "question, language",
    [
        ("Who is the contact for Leipzig? ", "en"),
        ("Wer ist der Ansprechpartner für Leipzig? ", "de"),
    ],
)
def test_a_long_message_is_read_up_to_the_limit_and_the_visitor_told_in_their_language(
    assistant, question, language
):
    long_message = question * (settings.MESSAGE_MAX_CHARS // len(question) + 40)
    assert len(long_message) > settings.MESSAGE_MAX_CHARS
    visitor = Visitor(assistant)
    reply = visitor.says(long_message)
    assert "Weber" in reply
    assert says(reply, "utter_message_cut", language), reply
    assert "5,000" in reply if language == "en" else "5.000" in reply
    read = [e["text"] for e in assistant.tracker(visitor.sender)["events"] if e["event"] == "user"]
    assert read == [long_message[: settings.MESSAGE_MAX_CHARS]]


def test_a_message_within_the_limit_is_read_whole_and_not_remarked_on(assistant):
    visitor = Visitor(assistant)
    message = "Who is the contact for Leipzig? " * 10
    reply = visitor.says(message)
    assert "Weber" in reply and not says(reply, "utter_message_cut", "en")
