"""Builds the assistant's spaCy pipeline from the knowledge base and saves it to disk.

One pipeline for English and German: blank English tokeniser (it splits German just
as well), a lookup lemmatiser whose table joins spaCy's English and German tables
(lower-cased; English wins where both know a word, German words typed without
umlauts are found too), and an entity ruler whose patterns are the hubs, topics,
organisations, programmes, trails and people of the knowledge base with all their
names and synonyms in both languages. Patterns match on lemmas, so "Smart Cities"
and "smart city" are one topic, and so are "Sensoren", "sensor" and "Sensorik".
Rasa's ``SpacyNLP`` loads the result by path; nothing is downloaded at run time (the
lookup table is serialised with the pipeline). One model serves both languages; the
docs/languages.md gives the measurements behind that choice.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path

import spacy
import spacy_lookups_data
from spacy.language import Language
from spacy.lookups import Lookups

from bot import settings
from bot.knowledge import document
from bot.knowledge.facts import LANGUAGES, SECTIONS, Facts

LOOKUP_DATA = Path(spacy_lookups_data.__file__).parent / "data"
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
UMLAUTS_DROPPED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


def without_umlauts(word: str) -> set[str]:
    """The ways people type a German word on a keyboard without umlauts."""
    return {word.translate(UMLAUTS), word.translate(UMLAUTS_DROPPED)} - {word}


# entity label -> Facts section whose keys are the entity values
ENTITY_SECTIONS = {section.entity: section.name for section in SECTIONS if section.entity}
# The key of the pipeline's meta.json naming the knowledge-base revision it was built
# from. spaCy keeps meta.json in the loaded pipeline (``nlp.meta``), so a running Rasa
# server can tell which revision its entity rules come from.
REVISION_KEY = "kb_revision"


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
        for item_key, names in _all_names(facts, section).items():
            result += [{"label": label, "pattern": name, "id": item_key} for name in names]
    return result


def hyphenated(name: str) -> set[str]:
    """ "smart-city", as a name of several words is written in a German compound
    ("Smart-City-Pilotprojekt")."""
    return {name.replace(" ", "-")} - {name}


def _all_names(facts: Facts, section: str) -> dict[str, list[str]]:
    """Every name of every item in every language, also as typed without umlauts and
    hyphenated."""
    names: dict[str, list[str]] = {}
    for language in LANGUAGES:
        for item in getattr(facts.in_language(language), section):
            for name in _names(item):
                for written in [name, *sorted(hyphenated(name))]:
                    names.setdefault(item.key, []).extend(
                        [written, *sorted(without_umlauts(written))]
                    )
    return {key: list(dict.fromkeys(found)) for key, found in names.items()}


def lemma_table(languages: tuple[str, ...] = LANGUAGES) -> dict[str, str]:
    """spaCy's lemma lookup tables merged, lower-cased; the first language wins."""
    table: dict[str, str] = {}
    for language in reversed(languages):
        with gzip.open(LOOKUP_DATA / f"{language}_lemma_lookup.json.gz", "rt") as file:
            entries = json.load(file)
        for word, lemma in entries.items():
            word, lemma = word.lower(), lemma.lower()
            table[word] = lemma
            for typed in without_umlauts(word):
                table[typed] = lemma
    return table


def build(facts: Facts) -> Language:
    nlp = spacy.blank("en")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", lemma_table())
    lemmatizer.initialize(lookups=lookups)
    ruler = nlp.add_pipe(
        "entity_ruler", config={"phrase_matcher_attr": "LEMMA", "overwrite_ents": True}
    )
    ruler.add_patterns(patterns(facts))
    return nlp


def save(nlp: Language, target: Path, revision: str) -> None:
    """Write atomically: a half-written pipeline must never be loaded by Rasa."""
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    nlp.meta[REVISION_KEY] = revision
    nlp.to_disk(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def pipeline_revision(meta: dict | None) -> str | None:
    """The knowledge-base revision a pipeline's meta (``nlp.meta``, meta.json) names."""
    return (meta or {}).get(REVISION_KEY) or None


def read_pipeline_meta(directory: Path) -> dict | None:
    """meta.json of the pipeline in ``directory``; None if there is none to read."""
    try:
        return json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def entity_rules_problem(built: str | None, database: str | None) -> str | None:
    """What an operator should know about entity rules built from revision ``built``
    when the database holds revision ``database``; None when they are the same.

    Any difference counts, as in the Makefile (every edit of the file rebuilds the
    pipeline): the rules are cheap to rebuild, and guessing which edits leave names
    alone would be a second definition of "changed"."""
    if built and built == database:
        return None
    if not built:
        return (
            "unknown: the spaCy pipeline names no knowledge-base revision "
            "(built before revisions were recorded; rebuild: `make spacy`, restart the Rasa server)"
        )
    if not database:
        return f"unknown: built from revision {built}, the database holds no knowledge base"
    return (
        f"stale: built from revision {built}, database holds {database} "
        "(rebuild: `make spacy`, then restart the Rasa server)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge-base", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    facts = document.read(args.knowledge_base)
    target = args.output or settings.get().spacy_pipeline_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    save(build(facts), target, facts.revision)
    print(
        f"spaCy pipeline ({'+'.join(LANGUAGES)}) with {len(patterns(facts))} patterns -> {target}"
    )


if __name__ == "__main__":
    main()
