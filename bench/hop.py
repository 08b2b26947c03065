"""Custom actions called over HTTP on the action server (one kept connection per Rasa
server) or run inside the Rasa server (``actions_module``, as Rasa Pro does): answer
times and throughput of section 4's conversations, both layouts running, each level
measured on one and at once on the other, so that the machine's other work weighs on
both alike."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from bench import load
from harness.servers import running_assistant

LEVELS = {1: 3, 10: 3}  # concurrent visitors -> conversations each
MODES = {"http": False, "in_process": True}  # name -> actions_in_process


def run(workdir: Path, runs: int = 3) -> dict:
    with ExitStack() as stack:
        urls = {
            mode: stack.enter_context(
                running_assistant(workdir / mode, actions_in_process=in_process)
            ).url
            for mode, in_process in MODES.items()
        }
        levels = {mode: [] for mode in MODES}
        for concurrency, conversations in LEVELS.items():
            for mode, url in urls.items():
                levels[mode] += load.measure(url, runs, {concurrency: conversations})
    return {"cores": os.cpu_count(), "runs": runs, **levels}
