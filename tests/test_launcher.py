"""``make run``'s launcher (bot/launcher.py) with its real processes: a port already
taken is refused before anything starts, naming it; one process dying stops the others,
naming it and showing the end of its log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from bot.launcher import port_taken
from bot.settings import PROJECT_ROOT
from harness.servers import free_port

PORTS = ("RASA_PORT", "ACTION_PORT", "DISPATCHER_PORT", "WEB_PORT")


@pytest.fixture
def environment(tmp_path):
    env = {
        **os.environ,
        **{name: str(free_port()) for name in PORTS},
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SESSION_SECRET": "launcher-test",
        "ACTION_SERVER_TOKEN": "launcher-test",
    }
    env.pop("REDIS_HOST", None)
    return env


def launch(env, tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.launcher", "--logs", str(tmp_path / "log")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_a_port_in_use_is_refused_at_start_naming_it(environment, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(environment["WEB_PORT"])))
        taken.listen()
        launcher = launch(environment, tmp_path)
        output, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 1
    assert f"port {environment['WEB_PORT']} (web app) is already in use" in output
    assert not (tmp_path / "log").exists()  # nothing started, no log overwritten
    assert not port_taken("127.0.0.1", int(environment["ACTION_PORT"]))


@pytest.mark.e2e
def test_one_process_dying_stops_the_others_and_says_which(environment, tmp_path):
    loaded = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "load"], env=environment, cwd=PROJECT_ROOT
    )
    assert loaded.returncode == 0
    launcher = launch(environment, tmp_path)
    try:
        lines = []
        deadline = time.monotonic() + 300
        while not any("is ready" in line for line in lines) and time.monotonic() < deadline:
            line = launcher.stdout.readline()
            assert line, "the launcher ended before it was ready: " + "".join(lines)
            lines.append(line)
        manager_log = (tmp_path / "log" / "launcher.log").read_text()
        dispatcher = int(re.search(r"dispatcher started \(pid=(\d+)\)", manager_log)[1])
        os.killpg(dispatcher, signal.SIGKILL)
        output, _ = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode == 1
    assert "The handoff dispatcher stopped (exit code -9); stopping the others." in output
    assert "dispatcher.log) ends with:" in output and "dispatcher started" in output
    for name in PORTS:  # every other process is gone with it
        assert not port_taken("127.0.0.1", int(environment[name])), name


@pytest.mark.parametrize("production", [False, True])
def test_the_rasa_servers_run_the_actions_unless_an_action_server_is_asked_for(
    monkeypatch, production
):
    from bot import launcher, settings

    monkeypatch.setenv("RASA_AUTH_TOKEN", "launcher-test")
    monkeypatch.delenv("ACTION_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("ACTION_PORT", "5999")
    for asked, url in (("off", ""), ("on", "http://127.0.0.1:5999/webhook")):
        monkeypatch.setenv("ACTION_SERVER", asked)
        settings.reset()
        plan = launcher.plan(production)
        assert plan.env["ACTION_ENDPOINT_URL"] == url
        assert ("actions" in [s.name for s in plan.services]) is (asked == "on")
    settings.reset()


def test_make_shell_serves_on_rasa_port(monkeypatch):
    from bot import launcher

    monkeypatch.setenv("RASA_PORT", "5999")
    command = launcher.shell_command()
    assert command[command.index("--port") + 1] == "5999"
