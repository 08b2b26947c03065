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
from bot.knowledge.facts import ORGANISATION_KINDS, Facts

# entity label -> Facts section whose keys are the entity values
ENTITY_SECTIONS = {
    "hub": "hubs",
    "topic": "topics",
    "organisation": "organisations",
    "programme": "programmes",
    "trail": "trails",
    "person": "contacts",
}

# Words for the kinds of partner; the values are the knowledge base's kind codes.
ORGANISATION_KIND_WORDS = {
    "academic": [
        "academic",
        "academia",
        "university",
        "universities",
        "college",
        "colleges",
        "academic partner",
        "academic partners",
        "higher education",
    ],
    "research_institute": [
        "research institute",
        "research institutes",
        "institute",
        "institutes",
        "fraunhofer",
        "fraunhofer institute",
        "fraunhofer institutes",
        "research institution",
        "research institutions",
        "research partners",
    ],
    "business": [
        "business",
        "businesses",
        "company",
        "companies",
        "industry",
        "industrial",
        "corporate",
        "corporates",
        "firm",
        "firms",
        "business partner",
        "business partners",
        "industry partners",
        "enterprise",
        "enterprises",
    ],
    "public": [
        "public",
        "government",
        "politics",
        "political",
        "public sector",
        "public authorities",
        "public bodies",
        "municipal",
        "state",
    ],
}
assert set(ORGANISATION_KIND_WORDS) == set(ORGANISATION_KINDS)


def _names(item) -> list[str]:
    words = [item.name, *getattr(item, "synonyms", ()), *getattr(item, "aliases", ())]
    return list(dict.fromkeys(w.lower() for w in words if w.strip()))


def patterns(facts: Facts) -> list[dict]:
    """Entity-ruler phrase patterns; ``id`` is the canonical key Rasa gets as value."""
    result = []
    for label, section in ENTITY_SECTIONS.items():
        for item in getattr(facts, section):
            result += [{"label": label, "pattern": name, "id": item.key} for name in _names(item)]
    for kind, words in ORGANISATION_KIND_WORDS.items():
        result += [{"label": "org_kind", "pattern": w, "id": kind} for w in words]
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
