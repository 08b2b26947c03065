"""Starts the assistant's processes together (``make run``, ``make run-prod``) on
honcho's process manager: one of them ending stops the others and says which one it
was, with the end of its log; a port already taken is refused before anything starts
(a second ``make run`` had printed "ready" because the first one's servers answered).

Each process writes its whole log to ``var/log/<name>.log`` (the manager's own lines,
which process started with which pid and how each ended, to ``launcher.log``); the
terminal shows the launcher's own lines and every process's errors, prefixed by its
name.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from bot import frontdoor, settings

ROOT = settings.PROJECT_ROOT
BIN = ROOT / ".venv" / "bin"
ANNOUNCER = "ready"
MANAGER = "launcher"
READY_WITHIN_SECONDS = 300  # two Rasa servers load their models on two cores
SHOWN = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback|Error:")
STOPPED = re.compile(r"^(?P<name>\S+) stopped \(rc=(?P<rc>-?\d+)\)")


@dataclass(frozen=True)
class Service:
    name: str  # honcho's and the log file's
    title: str  # what the operator calls it
    command: list[str]
    host: str
    port: int
    health: str  # answers 200 once the process serves


@dataclass
class Plan:
    services: list[Service]
    public: dict[str, str] = field(default_factory=dict)  # what the ready message names
    env: dict[str, str] = field(default_factory=dict)  # for every process


def _env_port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def plan(production: bool) -> Plan:
    """The processes of the default layout, or the production one: two Rasa servers
    behind nginx, Rasa's HTTP API behind RASA_AUTH_TOKEN."""
    current = settings.get()
    rasa_host = os.environ.get("RASA_HOST", "127.0.0.1")
    rasa_ports = [_env_port("RASA_PORT", 5005)]
    if production:
        rasa_ports.append(_env_port("RASA_PORT_2", rasa_ports[0] + 1))
    action_port = _env_port("ACTION_PORT", 5055)
    dispatcher_port = current.dispatcher_port or 5056
    front = f"http://localhost:{current.front_door_port}"
    public = front if production else f"http://localhost:{rasa_ports[0]}"
    web = front if production else f"http://localhost:{current.web_port}"
    local_actions = f"http://127.0.0.1:{action_port}/webhook" if current.action_server else ""
    env = {
        "DISPATCHER_PORT": str(dispatcher_port),
        # empty: each Rasa server runs the actions itself (endpoints.yml)
        "ACTION_ENDPOINT_URL": os.environ.get("ACTION_ENDPOINT_URL", local_actions),
        "RASA_PUBLIC_URL": os.environ.get("RASA_PUBLIC_URL", public),
        "CORS_ORIGINS": os.environ.get(
            "CORS_ORIGINS", ",".join(dict.fromkeys([web, f"http://localhost:{current.web_port}"]))
        ),
        "RASA_SERVERS": ",".join(f"127.0.0.1:{port}" for port in rasa_ports),
    }
    python = str(BIN / "python")
    action_server = Service(
        "actions",
        "action server",
        [python, "-m", "actions.server", "--actions", "actions", "--port", str(action_port)],
        current.action_server_host,
        action_port,
        f"http://127.0.0.1:{action_port}/health",
    )
    services = [
        *([action_server] if current.action_server else []),
        Service(
            "dispatcher",
            "handoff dispatcher",
            [python, "-m", "bot", "dispatch"],
            "127.0.0.1",
            dispatcher_port,
            f"http://127.0.0.1:{dispatcher_port}/healthz",
        ),
    ]
    api = ["--enable-api", "--auth-token", os.environ["RASA_AUTH_TOKEN"]] if production else []
    cors = env["CORS_ORIGINS"].split(",")
    for port in rasa_ports:
        services.append(
            Service(
                "rasa" if port == rasa_ports[0] else f"rasa-{port}",
                f"Rasa server on port {port}",
                [str(BIN / "rasa"), "run", "--model", "models/hub.tar.gz"]
                + ["--interface", rasa_host, "--port", str(port)]
                + ["--endpoints", "endpoints.prod.yml" if production else "endpoints.yml"]
                + ["--credentials", "credentials.yml", "--cors", *cors, *api],
                rasa_host,
                port,
                f"http://127.0.0.1:{port}/",
            )
        )
    services.append(
        Service(
            "web",
            "web app",
            [python, "-m", "bot.web.app"],
            current.web_host,
            current.web_port,
            f"http://127.0.0.1:{current.web_port}/healthz",
        )
    )
    if production:
        services.append(
            Service(
                "frontdoor",
                "front door (nginx)",
                [python, "-m", "bot", "frontdoor"],
                current.front_door_host,
                current.front_door_port,
                f"http://127.0.0.1:{current.front_door_port}{frontdoor.HEALTH_PATH}",
            )
        )
    return Plan(services, {"chat": web, "rest": env["RASA_PUBLIC_URL"]}, env)


def port_taken(host: str, port: int) -> bool:
    """Whether a server could not listen there now (as the servers bind: address reuse
    on, so only a listener counts, not connections closing)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def taken_ports(services: list[Service]) -> list[str]:
    return [
        f"port {s.port} ({s.title}) is already in use"
        for s in services
        if port_taken(s.host or "0.0.0.0", s.port)
    ]


class Logbook(Printer):
    """Every line into its process's log file; to the terminal the launcher's lines,
    errors, and, when a process ends on its own, which one and the end of its log."""

    def __init__(self, services: list[Service], logs: Path, output=sys.stdout):
        super().__init__(output)
        self.titles = {s.name: s.title for s in services}
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.files = {
            name: (logs / f"{name}.log").open("w", encoding="utf-8")
            for name in [*self.titles, MANAGER]
        }
        self.stopping = False
        self.first_to_stop: str | None = None

    def write(self, message) -> None:
        text = (
            message.data.decode("utf-8", "replace")
            if isinstance(message.data, bytes)
            else message.data
        )
        if message.name in self.files:
            self.files[message.name].write(text)
            self.files[message.name].flush()
            if SHOWN.search(text) and not (self.stopping or self.first_to_stop):
                super().write(message)  # errors while stopping are the stop's
        elif message.name == ANNOUNCER:
            print(text, end="", file=self.output, flush=True)
        else:
            self.files[MANAGER].write(text)
            self.files[MANAGER].flush()
            self._system(text)

    def _system(self, text: str) -> None:
        if text.endswith("received\n"):  # Ctrl-C or a TERM for the launcher
            self.stopping = True
            print("\nStopping the assistant ...", file=self.output, flush=True)
            return
        stopped = STOPPED.match(text)
        if not stopped or self.stopping or self.first_to_stop:
            return  # the rest stopping because of the first: said once, below
        name, code = stopped["name"], stopped["rc"]
        self.first_to_stop = name
        if name == ANNOUNCER:
            return  # it says why itself
        log = self.logs / f"{name}.log"
        self.files[name].flush()
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        print(
            f"\nThe {self.titles[name]} stopped (exit code {code}); stopping the others."
            f"\nIts log ({log}) ends with:",
            *("  " + line for line in tail),
            sep="\n",
            file=self.output,
            flush=True,
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def announce(spec: dict) -> int:
    """The announcer process: wait until every service answers, say where to chat, then
    stay (the manager stops everything when one process ends)."""
    started = time.monotonic()
    waiting = {s["health"]: s["title"] for s in spec["services"]}
    while waiting:
        if time.monotonic() - started > READY_WITHIN_SECONDS:
            names = ", ".join(waiting.values())
            print(f"Not answering after {READY_WITHIN_SECONDS} s: {names}; see var/log/.")
            return 1
        waiting = {url: title for url, title in waiting.items() if not _answers(url)}
        time.sleep(0.25)
    took = time.monotonic() - started
    print(spec["message"].replace("{took}", f"{took:.1f} s"), flush=True)
    while True:  # until the manager's TERM
        signal.pause()


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def ready_message(launch: Plan, production: bool, logs: Path) -> str:
    current = settings.get()
    rest_token = os.environ.get("REST_TOKEN")
    authorization = f"\n{' ' * 21}-H 'Authorization: Bearer {rest_token}' \\" if rest_token else ""
    if not os.environ.get("OPS_TOKEN"):
        ops = "refused to all: set OPS_TOKEN to read them"
    elif os.environ.get("OPS_TOKEN_MADE"):
        ops = f"with 'Authorization: Bearer $OPS_TOKEN' (made for this run: {os.environ['OPS_TOKEN']})"
    else:
        ops = "with 'Authorization: Bearer $OPS_TOKEN'"
    mail = (
        f"SMTP {current.smtp.hostname}"
        if current.smtp
        else "written to var/outbox/*.eml (no SMTP_HOST set)"
    )
    rasa = next(s for s in launch.services if s.name == "rasa").port
    dispatcher = next(s for s in launch.services if s.name == "dispatcher").port
    log_files = ", ".join(_shown(logs / f"{s.name}.log") for s in launch.services)
    door = (
        f"\n  Front door:      nginx at {launch.public['chat']} (var/nginx/nginx.conf)"
        if production
        else ""
    )
    chat, rest = launch.public["chat"], launch.public["rest"]
    return f"""
The Dresden/Leipzig hub assistant is ready (started in {{took}}).
  Chat in a browser: {chat}/  (the demo page with the chat widget)
  Chat over REST:  curl -s {rest}/webhooks/rest/webhook \\
                     -H 'Content-Type: application/json' \\{authorization}
                     -d '{{"sender": "me", "message": "Who is the contact for Dresden?"}}'
  In a terminal:   make shell
  Handoff e-mails: {mail}
  Logs:            {log_files}{door}
  Console:         {chat}/console/  (add an operator first: .venv/bin/python -m bot operators add NAME)
  Operators:       readiness: localhost:{rasa}/webhooks/ops/readyz (each Rasa server),
                     localhost:{dispatcher}/readyz
                   Prometheus: localhost:{rasa}/webhooks/ops/metrics, localhost:{dispatcher}/metrics
                     {ops}
Press Ctrl-C to stop.
"""


def run(production: bool, logs: Path) -> int:
    launch = plan(production)
    taken = taken_ports(launch.services)
    if taken:
        print(
            "Not started: " + "; ".join(taken) + ". Is the assistant running already?",
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, **launch.env}
    logbook = Logbook(launch.services, logs)
    manager = Manager(logbook)
    for service in launch.services:
        manager.add_process(service.name, shlex.join(service.command), env=env, cwd=str(ROOT))
    spec = {
        "services": [asdict(s) for s in launch.services],
        "message": ready_message(launch, production, logs),
    }
    announcer = [str(BIN / "python"), "-m", "bot.launcher", "--announce", json.dumps(spec)]
    manager.add_process(ANNOUNCER, shlex.join(announcer), env=env, cwd=str(ROOT))
    manager.loop()
    return 0 if logbook.stopping else 1


def shell_command() -> list[str]:
    """``rasa shell`` on the default layout's endpoints, its server on ``RASA_PORT``."""
    port = str(_env_port("RASA_PORT", 5005))
    model = ["--model", "models/hub.tar.gz", "--endpoints", "endpoints.yml"]
    return [str(BIN / "rasa"), "shell", *model, "--port", port]


def shell(logs: Path) -> int:
    """``make shell``: the dispatcher (and with ``ACTION_SERVER=on`` the action server)
    in the background, the conversation in this terminal."""
    launch = plan(production=False)
    background = [s for s in launch.services if s.name in ("actions", "dispatcher")]
    taken = taken_ports(background)
    if taken:
        print("Not started: " + "; ".join(taken) + ".", file=sys.stderr)
        return 1
    env = {**os.environ, **launch.env}
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            s.command,
            env=env,
            cwd=ROOT,
            stdout=(logs / f"{s.name}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for s in background
    ]
    try:
        return subprocess.call(shell_command(), env=env, cwd=ROOT)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prod", action="store_true", help="the production layout")
    parser.add_argument("--shell", action="store_true", help="chat in this terminal")
    parser.add_argument("--logs", type=Path, default=ROOT / "var" / "log", help="log directory")
    parser.add_argument("--announce", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.announce:
        return announce(json.loads(args.announce))
    try:
        settings.get()
    except settings.SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    return shell(args.logs) if args.shell else run(args.prod, args.logs)


if __name__ == "__main__":
    sys.exit(main())
