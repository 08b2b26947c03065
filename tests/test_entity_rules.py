"""Stale entity rules are noticed: the spaCy pipeline records the knowledge-base revision
it was built from, and the Rasa server's readiness answer says when the database holds
another one (nlu/pipeline/build.py, nlu/channels/operations.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import spacy

from bot import db
from bot.knowledge import store
from harness.servers import MODEL, free_port
from nlu.components import spacy_model
from nlu.pipeline import build


def test_rules_built_from_the_revision_in_the_database_are_current():
    assert build.entity_rules_problem("abc", "abc") is None


def test_rules_built_from_another_revision_are_stale_naming_both():
    assert build.entity_rules_problem("abc", "def").startswith(
        "stale: built from revision abc, database holds def"
    )


def test_rules_without_a_revision_or_a_database_without_one_are_unknown():
    assert build.entity_rules_problem(None, "def").startswith("unknown: the spaCy pipeline")
    assert build.entity_rules_problem("abc", None) == (
        "unknown: built from revision abc, the database holds no knowledge base"
    )
    assert build.entity_rules_problem(None, None).startswith("unknown:")


def test_the_build_writes_the_revision_into_the_pipeline_and_spacy_keeps_it(tmp_path):
    target = tmp_path / "en-de"
    build.save(spacy.blank("en"), target, "0123456789abcdef")
    assert build.pipeline_revision(build.read_pipeline_meta(target)) == "0123456789abcdef"
    assert build.pipeline_revision(spacy.load(target).meta) == "0123456789abcdef"
    assert build.read_pipeline_meta(tmp_path / "missing") is None
    assert build.pipeline_revision(None) is None


class _TrackerStore:
    async def retrieve(self, _sender):
        return None


@pytest.fixture(autouse=True)
def no_pipeline_loaded(monkeypatch):
    monkeypatch.setattr(spacy_model, "_loaded", [])


def agent_with_pipeline(nlp=None) -> SimpleNamespace:
    """What the readiness check reads of a Rasa agent (a loaded model, reachable stores),
    with ``nlp`` as the pipeline the model loaded."""
    if nlp is not None:
        spacy_model.remember_loaded(nlp.meta)
    return SimpleNamespace(is_ready=lambda: True, tracker_store=_TrackerStore(), lock_store=None)


@pytest.fixture
def database(tmp_path, monkeypatch):
    """The database the readiness check reads (DATABASE_URL), still empty."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return db.session_factory(url)


def built_from(facts):
    """A pipeline as `make spacy` leaves it for ``facts`` (its rules do not matter here)."""
    nlp = spacy.blank("en")
    nlp.meta[build.REVISION_KEY] = facts.revision
    return nlp


def readiness(agent) -> tuple[int, dict]:
    from nlu.channels.operations import readiness

    return asyncio.run(readiness(agent))


def test_a_server_whose_rules_match_the_database_answers_just_ready(database, kb_copy):
    facts = store.load_file(kb_copy, database)
    assert readiness(agent_with_pipeline(built_from(facts))) == (
        200,
        {"status": "ready"},
    )


def test_after_a_reload_the_server_stays_ready_and_says_its_rules_are_stale(database, kb_copy):
    built = store.load_file(kb_copy, database)
    agent = agent_with_pipeline(built_from(built))
    text = kb_copy.read_text(encoding="utf-8")
    kb_copy.write_text(text.replace("aliases: [arvato]", "aliases: [arvato, arvato se]"), "utf-8")
    reloaded = store.load_file(kb_copy, database)
    status, body = readiness(agent)
    assert status == 200 and body["status"] == "ready"
    assert body["entity_rules"].startswith(
        f"stale: built from revision {built.revision}, database holds {reloaded.revision}"
    )


def test_an_unreadable_database_makes_the_rules_unknown_not_the_server_unready(database):
    status, body = readiness(agent_with_pipeline(spacy.blank("en")))  # no tables at all
    assert status == 200
    assert body["entity_rules"].startswith("unknown: the knowledge base in the database")


def test_before_a_pipeline_is_loaded_the_one_in_spacy_pipeline_dir_counts(
    database, kb_copy, tmp_path, monkeypatch
):
    monkeypatch.setenv("SPACY_PIPELINE_DIR", str(tmp_path / "spacy"))
    facts = store.load_file(kb_copy, database)
    (tmp_path / "spacy").mkdir()
    build.save(spacy.blank("en"), tmp_path / "spacy" / "en-de", "not-" + facts.revision)
    agent = agent_with_pipeline()  # no model loaded in this process yet
    assert readiness(agent)[1]["entity_rules"].startswith(
        f"stale: built from revision not-{facts.revision}"
    )


def test_the_readyz_endpoint_answers_with_the_entity_rules(database, kb_copy):
    """The endpoint itself, served by Sanic as in the Rasa server (no model needed)."""
    import aiohttp
    from sanic import Sanic

    from nlu.channels.operations import OperationsInput

    built = store.load_file(kb_copy, database)
    text = kb_copy.read_text(encoding="utf-8")
    kb_copy.write_text(text.replace("aliases: [arvato]", "aliases: [arvato, arvato se]"), "utf-8")
    store.load_file(kb_copy, database)

    async def check():
        app = Sanic(f"ops_test_{free_port()}")
        app.blueprint(OperationsInput().blueprint(None), url_prefix="/webhooks/ops")
        app.ctx.agent = agent_with_pipeline(built_from(built))
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        try:
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/webhooks/ops/readyz"
                async with session.get(url) as answer:
                    return answer.status, await answer.json()
        finally:
            server.close()
            await server.wait_closed()

    status, body = asyncio.run(check())
    assert status == 200 and body["entity_rules"].startswith(
        f"stale: built from revision {built.revision}"
    )


@pytest.mark.model
def test_the_revision_is_read_from_the_pipeline_the_trained_model_loaded(database, kb_copy):
    """The real model's graph (Rasa 3.6), loaded in this process without a server."""
    if not MODEL.exists():
        pytest.skip(f"{MODEL} is missing: run `make train` first")
    from rasa.core.agent import Agent

    import nlu.components  # noqa: F401  (what `rasa run` imports for the model)
    from bot import settings

    agent = Agent.load(str(MODEL))
    meta = spacy_model.loaded_meta()
    assert meta is not None and "entity_ruler" in meta["pipeline"]
    on_disk = build.read_pipeline_meta(settings.get().spacy_pipeline_dir)
    assert build.pipeline_revision(meta) == build.pipeline_revision(on_disk)
    store.load_file(kb_copy, database)
    expected = build.entity_rules_problem(build.pipeline_revision(meta), store.database_revision())
    status, body = readiness(agent)
    assert status == 200 and body.get("entity_rules") == expected
