"""Starts the real action server and Rasa server as subprocesses, for end-to-end
tests and the held-out evaluation. Each run gets free ports on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bot import conversations, db, settings
from bot.enquiries import store as enquiry_store
from bot.knowledge import store

ROOT = settings.PROJECT_ROOT
MODEL = ROOT / "models" / "hub.tar.gz"


def reachable(host: str, port: int) -> bool:
    """A server listens there (PostgreSQL, Redis) for the tests that need it."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """(status, body) of a POST, also for 4xx/5xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s; see {log}")


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Assistant:
    url: str
    action_url: str
    rasa: subprocess.Popen
    actions: subprocess.Popen | None  # None: the Rasa server runs the actions
    database: str
    rasa_command: list[str]
    env: dict[str, str]
    workdir: Path
    others: list = field(default_factory=list)  # further Rasa servers (another_instance)
    auth_token: str | None = None  # Rasa's HTTP API token, when the server has one

    def another_instance(self, timeout: float = 240) -> Assistant:
        """One more Rasa server with the same model, endpoints and action server."""
        port = free_port()
        command = list(self.rasa_command)
        command[command.index("--port") + 1] = str(port)
        log = self.workdir / f"rasa-{port}.log"
        process = _start(command, log, self.env)
        self.others.append(process)
        _wait_http(f"http://127.0.0.1:{port}/", process, timeout, log)
        return Assistant(
            f"http://127.0.0.1:{port}",
            self.action_url,
            process,
            self.actions,
            self.database,
            command,
            self.env,
            self.workdir,
            auth_token=self.auth_token,
        )

    def stop_rasa(self) -> None:
        _stop(self.rasa)

    def start_rasa(self, timeout: float = 240) -> None:
        """Start the Rasa server again on the same port (after :meth:`stop_rasa`)."""
        log = self.workdir / "rasa-restarted.log"
        self.rasa = _start(self.rasa_command, log, self.env)
        _wait_http(f"{self.url}/", self.rasa, timeout, log)

    def send(
        self, sender: str, text: str, timeout: float = 30, metadata: dict | None = None
    ) -> list[dict]:
        message = {"sender": sender, "message": text}
        if metadata is not None:
            message["metadata"] = metadata
        body = json.dumps(message).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook", data=body, headers=self.rest_headers()
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def rest_headers(self) -> dict[str, str]:
        token = self.env.get("REST_TOKEN")
        authorization = {"Authorization": f"Bearer {token}"} if token else {}
        return {"Content-Type": "application/json", **authorization}

    def tracker(self, sender: str, channel: str = "rest") -> dict:
        """Rasa's HTTP API's view of the conversation of ``sender`` on ``channel``."""
        token = f"?token={self.auth_token}" if self.auth_token else ""
        conversation = conversations.conversation_id(channel, sender)
        url = f"{self.url}/conversations/{conversation}/tracker{token}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.loads(answer.read())


@contextmanager
def running_assistant(
    workdir: Path,
    model: Path = MODEL,
    timeout: float = 240,
    extra_env: dict[str, str] | None = None,
    with_dispatcher: bool = False,
    endpoints_extra: str = "",
    auth_token: str | None = None,
    database: str | None = None,
    knowledge_base: Path | None = None,
    actions_in_process: bool = True,
) -> Iterator[Assistant]:
    """A Rasa server (REST, HTTP API on 127.0.0.1 for trackers), on
    ``database`` (default: one of their own in ``workdir``) with the knowledge base
    (default data/knowledge_base.yml) loaded; optionally the handoff dispatcher too. The
    Rasa server runs the actions itself, as the endpoints files say by default, unless
    ``actions_in_process`` is False: then an action server runs them."""
    if not model.exists():
        raise FileNotFoundError(f"{model} is missing: run `make train` first")
    rasa_port, action_port = free_port(), free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    database = database or f"sqlite:///{workdir / 'hub.db'}"
    store.load_file(knowledge_base, db.session_factory(database))
    endpoints = workdir / "endpoints.yml"
    if "tracker_store:" not in endpoints_extra:  # the default layout's, as endpoints.yml
        endpoints_extra += (
            "\ntracker_store:\n  type: nlu.server.tracker_store.ForgettingInMemoryTrackerStore\n"
        )
    action_endpoint = (
        "action_endpoint:\n  actions_module: actions\n"
        if actions_in_process
        else f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
        "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
    )
    endpoints.write_text(action_endpoint + endpoints_extra, encoding="utf-8")
    env = {
        "RATE_LIMIT_BURST": "200",  # tests type faster than people; tests of the limit set theirs
        "RATE_LIMIT_CLIENT_BURST": "100000",  # and all come from 127.0.0.1
        "RATE_LIMIT_CLIENT_PER_MINUTE": "100000",
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "DATABASE_URL": database,
        "ACTION_SERVER_TOKEN": uuid.uuid4().hex,
        "SESSION_SECRET": uuid.uuid4().hex,
        **(extra_env or {}),
    }
    bin_dir = Path(sys.executable).parent
    actions = (
        None
        if actions_in_process
        else _start(
            [sys.executable, "-m", "actions.server", "--actions", "actions"]
            + ["--port", str(action_port)],
            workdir / "actions.log",
            env,
        )
    )
    rasa_command = [
        str(bin_dir / "rasa"),
        "run",
        "--model",
        str(model),
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(rasa_port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--cors",
        *env.get("CORS_ORIGINS", "http://localhost").split(","),
        *(["--auth-token", auth_token] if auth_token else []),
    ]
    rasa = _start(rasa_command, workdir / "rasa.log", env)
    dispatcher = (
        _start([sys.executable, "-m", "bot", "dispatch"], workdir / "dispatcher.log", env)
        if with_dispatcher
        else None
    )
    assistant = Assistant(
        url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        rasa=rasa,
        actions=actions,
        database=database,
        rasa_command=rasa_command,
        env=env,
        workdir=workdir,
        auth_token=auth_token,
    )
    try:
        if actions is not None:
            _wait_http(f"{assistant.action_url}/health", actions, timeout, workdir / "actions.log")
        _wait_http(f"{assistant.url}/", rasa, timeout, workdir / "rasa.log")
        yield assistant
    finally:
        for process in [assistant.rasa, *assistant.others]:  # a test may have restarted one
            _stop(process)
        if actions is not None:
            _stop(actions)
        if dispatcher:
            _stop(dispatcher)


class Visitor:
    """One conversation over REST, optionally from a page in ``page_language``."""

    def __init__(self, assistant: Assistant, page_language: str | None = None):
        self.assistant, self.sender = assistant, uuid.uuid4().hex
        self.metadata = {"language": page_language} if page_language else None

    def says(self, text: str) -> str:
        replies = self.assistant.send(self.sender, text, metadata=self.metadata)
        return " ".join(r.get("text", "") for r in replies)

    def writes_enquiry_up_to_consent(
        self, hub: str = "leipzig", name: str = "Dana Roth", email: str = "dana@example.com"
    ) -> str:
        """Asks to be put through and fills in the form; returns the consent question."""
        self.says("Please forward my question to Dr Weber")
        self.says(f'/inform{{"hub": "{hub}"}}')
        self.says(name)
        self.says(email)
        self.says("none")
        return self.says("We need office space for five people.")

    def enquiries(self) -> list:
        """What the assistant stored from this conversation."""
        factory = db.session_factory(self.assistant.database)
        conversation = conversations.conversation_id("rest", self.sender)
        return [e for e in enquiry_store.enquiries(factory) if e.conversation_id == conversation]
