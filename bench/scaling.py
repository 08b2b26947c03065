"""Throughput of the production layout (``make run-prod``: PostgreSQL tracker store, Redis
lock store, Rasa behind nginx, the front door) with one Rasa server, then with two: whether a
second instance adds capacity on this machine."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from bench import load
from harness.production import front_door, one_server, unavailable

# concurrent visitors -> conversations each (bench/load.py); 1 visitor says little about
# scaling and the budget for this section is a few minutes, servers' start included
LEVELS = {10: 4, 50: 1}


def run(workdir: Path, runs: int = 2) -> dict:
    """One Rasa server behind a front door, two behind another; each level measured on one
    layout, then at once on the other, so that the machine's other work (its load changes
    by the minute) weighs on both alike."""
    reason = unavailable()
    if reason:
        return {"skipped": reason, "cores": os.cpu_count()}
    workdir.mkdir(parents=True, exist_ok=True)
    levels = []
    with one_server(workdir, "bench", auth_token=uuid.uuid4().hex) as first:
        print("  starting a second Rasa server ...", flush=True)
        second = first.another_instance()
        with (
            front_door([first.url], workdir / "door-1" / "nginx.log") as one,
            front_door([first.url, second.url], workdir / "door-2" / "nginx.log") as two,
        ):
            for concurrency, conversations in LEVELS.items():
                for count, url in ((1, one), (2, two)):
                    [level] = load.measure(url, runs, {concurrency: conversations})
                    levels.append({"instances": count, **level})
    levels.sort(key=lambda level: (level["instances"], level["concurrency"]))
    return {"cores": os.cpu_count(), "runs": runs, "levels": levels}
