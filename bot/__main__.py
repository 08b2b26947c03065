"""Operator commands: ``python -m bot kb load|show``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import db
from bot.knowledge import store
from bot.knowledge.document import KnowledgeBaseError


def _kb_load(args) -> int:
    try:
        facts = store.load_file(args.file)
    except KnowledgeBaseError as error:
        print("The knowledge base was NOT loaded; the database is unchanged.", file=sys.stderr)
        for problem in error.problems:
            print(f"  {error.path}: {problem}", file=sys.stderr)
        return 2
    print(
        f"Knowledge base loaded (revision {facts.revision}): {len(facts.hubs)} hubs, "
        f"{len(facts.topics)} topics, {len(facts.organisations)} organisations, "
        f"{len(facts.programmes)} programmes, {len(facts.contacts)} contacts."
    )
    return 0


def _kb_show(_args) -> int:
    facts = store.KnowledgeBase(db.session_factory()).facts()
    for hub in facts.hubs:
        contact = facts.contact_for_hub(hub.key)
        print(f"{hub.name} ({hub.city}) -> {contact.name}, {contact.phone}, <{contact.email}>")
        print(f"  focus:    {', '.join(t.name for t in facts.focus_of(hub.key))}")
        print(f"  partners: {', '.join(o.name for o in facts.partners(hub.key))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(
        dest="kb", required=True
    )
    load = kb.add_parser(
        "load", help="validate data/knowledge_base.yml and load it into the database"
    )
    load.add_argument("file", nargs="?", type=Path, default=None)
    load.set_defaults(run=_kb_load)
    kb.add_parser("show", help="print what the database holds").set_defaults(run=_kb_show)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
