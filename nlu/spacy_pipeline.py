"""Builds the assistant's spaCy pipeline from the knowledge base and saves it to disk.

Blank language + lookup lemmatiser + an entity ruler whose patterns are the hubs,
topics, organisations, programmes, trails and people of the knowledge base with all
their synonyms. Patterns match on lemmas of lower-cased text, so "Smart Cities" and
"smart city" are one topic. Rasa's ``SpacyNLP`` loads the result by path; nothing is
downloaded at run time (the lookup tables are serialised with the pipeline).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import spacy
from spacy.language import Language

from bot import settings
from bot.knowledge import document
from bot.knowledge.facts import Facts

# entity label -> Facts section whose keys are the entity values
ENTITY_SECTIONS = {
    "hub": "hubs",
    "topic": "topics",
    "organisation": "organisations",
    "programme": "programmes",
    "trail": "trails",
    "person": "contacts",
    "org_kind": "partner_kinds",
}


def _names(item) -> list[str]:
    words = [
        getattr(item, "name", ""),
        *getattr(item, "synonyms", ()),
        *getattr(item, "aliases", ()),
    ]
    return list(dict.fromkeys(w.lower() for w in words if w.strip()))


def patterns(facts: Facts) -> list[dict]:
    """Entity-ruler phrase patterns; ``id`` is the canonical key Rasa gets as value."""
    result = []
    for label, section in ENTITY_SECTIONS.items():
        for item in getattr(facts, section):
            result += [{"label": label, "pattern": name, "id": item.key} for name in _names(item)]
    return result


def build(facts: Facts, language: str = "en") -> Language:
    nlp = spacy.blank(language)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data into the pipeline
    ruler = nlp.add_pipe(
        "entity_ruler", config={"phrase_matcher_attr": "LEMMA", "overwrite_ents": True}
    )
    ruler.add_patterns(patterns(facts))
    return nlp


def save(nlp: Language, target: Path, revision: str) -> None:
    """Write atomically: a half-written pipeline must never be loaded by Rasa."""
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    nlp.to_disk(staging)
    (staging / "kb_revision.json").write_text(json.dumps({"revision": revision}))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--knowledge-base", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    facts = document.read(args.knowledge_base)
    target = args.output or settings.spacy_pipeline_dir(args.language)
    target.parent.mkdir(parents=True, exist_ok=True)
    save(build(facts, args.language), target, facts.revision)
    print(f"spaCy pipeline ({args.language}) with {len(patterns(facts))} patterns -> {target}")


if __name__ == "__main__":
    main()
