"""What a message costs as the hub's data grows: a knowledge base with 2 and 5 times the
partners and topics (generated), and a tracker database holding thousands of other
conversations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from bench import load
from bot.settings import PROJECT_ROOT
from harness.production import PG, one_server, unavailable
from harness.servers import running_assistant

FACTORS = (1, 2, 5)
STORED = (0, 1_000, 10_000)  # other conversations in the tracker database
LEVELS = {1: 2, 10: 2}  # concurrent visitors -> ten-message conversations each


def enlarged(factor: int, target: Path) -> dict:
    """data/knowledge_base.yml with ``factor`` times its organisations and topics, written
    to ``target``; the added ones are named as generated, split between the hubs like
    the real ones."""
    data = yaml.safe_load((PROJECT_ROOT / "data" / "knowledge_base.yml").read_text("utf-8"))
    kinds = [kind["key"] for kind in data["partner_kinds"]]
    hubs = [hub["key"] for hub in data["hubs"]]
    organisations, topics = data["organisations"], data["topics"]
    for n in range((factor - 1) * len(organisations)):
        organisations.append(
            {
                "key": f"generated_partner_{n}",
                "name": f"Generated Partner {n}",
                "kind": kinds[n % len(kinds)],
                "hub": hubs[n % len(hubs)],
                "aliases": [f"generated partner {n}", f"genpartner{n}"],
            }
        )
    for n in range((factor - 1) * len(topics)):
        topics.append(
            {
                "key": f"generated_topic_{n}",
                "name": f"generated topic {n}",
                "hub": hubs[n % len(hubs)],
                "focus": False,
                "synonyms": [f"generated topic {n}", f"gentopic{n}"],
                "de": {"name": f"Generiertes Thema {n}", "synonyms": [f"generiertes thema {n}"]},
            }
        )
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return data


def _figures(url: str) -> dict:
    levels = load.measure(url, 1, LEVELS)
    return {
        str(level["concurrency"]): {
            "p50_ms": level["p50_ms"],
            "p95_ms": level["p95_ms"],
            "messages_per_s": level["messages_per_s"],
            "errors": level["errors"],
        }
        for level in levels
    }


def knowledge_base_size(workdir: Path) -> dict:
    """One assistant per factor, each with its knowledge base in its database and a
    spaCy pipeline built from it (the entity rules grow with the names)."""
    results = {}
    for factor in FACTORS:
        folder = workdir / f"kb-{factor}"
        folder.mkdir(parents=True, exist_ok=True)
        knowledge_base = folder / "knowledge_base.yml"
        facts = enlarged(factor, knowledge_base)
        pipelines = folder / "spacy"
        subprocess.run(
            [sys.executable, "-m", "nlu.pipeline.build", "--knowledge-base", str(knowledge_base)]
            + ["--output", str(pipelines / "en-de")],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        env = {"KNOWLEDGE_BASE": str(knowledge_base), "SPACY_PIPELINE_DIR": str(pipelines)}
        with running_assistant(folder, extra_env=env, knowledge_base=knowledge_base) as assistant:
            results[str(factor)] = {
                "organisations": len(facts["organisations"]),
                "topics": len(facts["topics"]),
                "levels": _figures(assistant.url),
            }
    return results


def stored_conversations(workdir: Path) -> dict:
    """The production layout with 0, 1,000 and 10,000 other conversations of ten turns
    in its tracker database, copied there by PostgreSQL from one real conversation."""
    reason = unavailable()
    if reason:
        return {"skipped": reason}
    results = {}
    with one_server(workdir / "stored", "stored") as assistant:
        database = assistant.env["TRACKER_DB_NAME"]
        for message in load.MESSAGES:
            assistant.send("template", message)
        present = 0
        for count in STORED:
            _copy_conversation(database, "rest:template", present, count)
            present = count
            results[str(count)] = {"levels": _figures(assistant.url)}
    return results


def _copy_conversation(database: str, template: str, first: int, last: int) -> None:
    if last <= first:
        return
    statement = (
        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
        "SELECT 'stored-' || n, type_name, timestamp, intent_name, action_name, data "
        f"FROM events, generate_series({first + 1}, {last}) AS n "
        f"WHERE sender_id = '{template}'; ANALYZE events;"
    )
    subprocess.run(
        ["psql", "-h", PG[0], "-p", str(PG[1]), "-U", "postgres", "-d", database, "-qc", statement],
        check=True,
        capture_output=True,
    )


def run(workdir: Path) -> dict:
    return {
        "cores": os.cpu_count(),
        "knowledge_base": knowledge_base_size(workdir),
        "stored": stored_conversations(workdir),
    }
