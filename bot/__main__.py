"""Operator commands: ``python -m bot kb ...``, ``enquiries ...``, ``dispatch``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from pathlib import Path

from bot import db, logs, settings
from bot.enquiries import store as enquiry_store
from bot.knowledge import store
from bot.knowledge.document import KnowledgeBaseError


def _shown(path: Path) -> str:
    """A path relative to the working directory where it is inside it (``make kb``
    then says data/knowledge_base.yml, as the operator knows the file)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _kb_load(args) -> int:
    try:
        facts = store.load_file(args.file)
    except KnowledgeBaseError as error:
        print("The knowledge base was NOT loaded; the database is unchanged.", file=sys.stderr)
        for problem in error.problems:
            print(f"  {_shown(error.path)}: {problem}", file=sys.stderr)
        return 2
    print(
        f"Knowledge base loaded (revision {facts.revision}): {len(facts.hubs)} hubs, "
        f"{len(facts.topics)} topics, {len(facts.organisations)} organisations, "
        f"{len(facts.programmes)} programmes, {len(facts.contacts)} contacts."
    )
    return 0


def _db_create(_args) -> int:
    """The database of DATABASE_URL with every table (``make run-prod`` calls this)."""
    from bot import db
    from bot.enquiries import models as _enquiries  # noqa: F401  (registers the tables)
    from bot.knowledge import models as _knowledge  # noqa: F401

    print(f"Database {db.ensure_database()}: {settings.get().database_url.split('@')[-1]}")
    return 0


def _db_revision(args) -> int:
    """A new migration from the difference between the models and DATABASE_URL."""
    from alembic import command

    from bot import db

    engine = db.engine()
    db.migrate(engine)
    with engine.begin() as connection:
        command.revision(db.alembic_config(connection), message=args.message, autogenerate=True)
    return 0


def _kb_show(_args) -> int:
    facts = store.KnowledgeBase(db.session_factory()).facts()
    for hub in facts.hubs:
        contact = facts.contact_for_hub(hub.key)
        print(f"{hub.name} ({hub.city}) -> {contact.name}, {contact.phone}, <{contact.email}>")
        print(f"  focus:    {', '.join(t.name for t in facts.focus_of(hub.key))}")
        print(f"  partners: {', '.join(o.name for o in facts.partners(hub.key))}")
    return 0


def _enquiries_list(_args) -> int:
    rows = enquiry_store.enquiries()
    if not rows:
        print("No enquiries.")
    for e in rows:
        print(
            f"{e.reference}  {e.created_at:%Y-%m-%d %H:%M}  {enquiry_store.status_of(e):<12} "
            f"{e.contact_name:<22} {e.visitor_name} <{e.visitor_email}>  {e.topic}"
        )
    return 0


def _one(reference: str):
    found = enquiry_store.enquiries(reference=reference)
    if not found:
        print(f"No enquiry {reference}.", file=sys.stderr)
    return found[0] if found else None


def _enquiries_export(args) -> int:
    enquiry = _one(args.reference)
    if enquiry is None:
        return 1
    print(json.dumps(enquiry_store.export(enquiry), indent=2, ensure_ascii=False))
    return 0


def _enquiries_resend(args) -> int:
    if _one(args.reference) is None:
        return 1
    queued = enquiry_store.resend(args.reference)
    print(f"{queued} failed e-mail(s) of {args.reference} queued again.")
    for mail in _one(args.reference).outbox:
        if mail.status == "failed":
            print(f"  the {mail.kind} e-mail stays failed: {mail.last_error}")
    return 0


def _enquiries_purge(args) -> int:
    removed = enquiry_store.purge(args.days)
    print(f"Removed {removed} enquiries older than {args.days} days, with their transcripts.")
    return 0


def _dispatch(args) -> int:
    from bot.handoff.dispatcher import Dispatcher

    logs.start("dispatcher")
    dispatcher = Dispatcher()
    smtp = settings.get().smtp
    where = smtp.hostname if smtp else settings.get().outbox_dir
    logging.info("dispatcher started, delivering to %s", where)
    if args.once:
        print(f"{asyncio.run(dispatcher.run_once())} e-mail(s) sent.")
        return 0
    try:
        asyncio.run(dispatcher.serve(settings.get().dispatcher_port))
    except KeyboardInterrupt:
        pass
    return 0


def _frontdoor(args) -> int:
    """nginx before the Rasa servers and the web app, from deploy/nginx.conf."""
    from bot import frontdoor

    door = frontdoor.door_from_settings(args.prefix)
    if args.print:
        print(frontdoor.render(door), end="")
        return 0
    try:
        frontdoor.serve(door)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
    return 1


def _channels(_args) -> int:
    """Which messengers are enabled, and where their webhooks are."""
    base = settings.get().rasa_public_url.rstrip("/")
    for name, path, enabled, needs in (
        (
            "Telegram",
            "telegram",
            settings.get().telegram,
            "TELEGRAM_ACCESS_TOKEN and TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            "Facebook Messenger",
            "facebook",
            settings.get().facebook,
            "FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET and FACEBOOK_PAGE_ACCESS_TOKEN",
        ),
        (
            "WhatsApp",
            "whatsapp",
            settings.get().whatsapp,
            "WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN and "
            "WHATSAPP_PHONE_NUMBER_ID",
        ),
    ):
        if enabled:
            print(f"{name}: enabled, webhook {base}/webhooks/{path}/webhook")
        else:
            print(f"{name}: not enabled (set {needs})")
    return 0


def _operators_add(args) -> int:
    """Asks for the password twice on the terminal; it is never an argument (shell
    history, process list)."""
    from bot.console import accounts

    password = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("The same again: ") != password:
        print("The two passwords differ; nothing was changed.", file=sys.stderr)
        return 1
    try:
        accounts.add(db.session_factory(), args.name, password)
    except accounts.AccountError as error:
        print(f"Not added: {error}.", file=sys.stderr)
        return 1
    print(
        f"Operator {args.name} added: sign in at http://localhost:{settings.get().web_port}/console/"
    )
    return 0


def _operators_list(_args) -> int:
    from bot.console import accounts

    names = accounts.names(db.session_factory())
    print(
        "\n".join(names)
        if names
        else "No operators: add one with `python -m bot operators add NAME`."
    )
    return 0


def _operators_remove(args) -> int:
    from bot.console import accounts

    if not accounts.remove(db.session_factory(), args.name):
        print(f"No operator {args.name}.", file=sys.stderr)
        return 1
    print(f"Operator {args.name} removed, with the sessions they had open.")
    return 0


def _telegram_set_webhook(_args) -> int:
    """Tell Telegram where to deliver updates, with the secret it must send back."""
    from bot.messengers.telegram import ALLOWED_UPDATES, BotApi

    config = settings.get().telegram
    if not config or not config.webhook_url:
        print("Set TELEGRAM_ACCESS_TOKEN, TELEGRAM_WEBHOOK_SECRET and TELEGRAM_WEBHOOK_URL first.")
        return 2
    body = {
        "url": config.webhook_url,
        "secret_token": config.webhook_secret,
        "allowed_updates": list(ALLOWED_UPDATES),
    }
    result = asyncio.run(
        BotApi(config.access_token, config.api_base_url).call_once("setWebhook", body)
    )
    print(result.get("description", result))
    return 0


def _settings_check(_args) -> int:
    """Every setting is read at start-up anyway; this says it before starting anything."""
    current = settings.get()
    smtp = current.smtp
    print(f"Settings are valid. Database: {current.database_url.split('@')[-1]}")
    print(f"E-mail: {f'SMTP {smtp.hostname}:{smtp.port}' if smtp else current.outbox_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        settings.get()
    except settings.SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings", help="check every setting of the environment").set_defaults(
        run=_settings_check
    )
    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(
        dest="kb", required=True
    )
    load = kb.add_parser(
        "load", help="validate data/knowledge_base.yml and load it into the database"
    )
    load.add_argument("file", nargs="?", type=Path, default=None)
    load.set_defaults(run=_kb_load)
    kb.add_parser("show", help="print what the database holds").set_defaults(run=_kb_show)
    database = commands.add_parser("db", help="the database").add_subparsers(
        dest="db", required=True
    )
    database.add_parser(
        "create", help="create the database of DATABASE_URL and its tables if missing"
    ).set_defaults(run=_db_create)
    revision = database.add_parser(
        "revision", help="write a migration for what the models changed (bot/migrations)"
    )
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(run=_db_revision)

    enquiries = commands.add_parser("enquiries", help="enquiries handed over by the assistant")
    actions = enquiries.add_subparsers(dest="enquiries", required=True)
    actions.add_parser("list", help="every enquiry with its status").set_defaults(
        run=_enquiries_list
    )
    for name, run, text in (
        ("export", _enquiries_export, "everything stored about one enquiry, as JSON"),
        ("resend", _enquiries_resend, "queue the failed e-mails of one enquiry again"),
    ):
        command = actions.add_parser(name, help=text)
        command.add_argument("reference", help="e.g. HUB-2026-000123")
        command.set_defaults(run=run)
    purge = actions.add_parser("purge", help="remove enquiries older than the retention period")
    purge.add_argument("--days", type=int, default=settings.get().enquiry_retention_days)
    purge.set_defaults(run=_enquiries_purge)

    dispatch = commands.add_parser("dispatch", help="send queued e-mails (runs until stopped)")
    dispatch.add_argument("--once", action="store_true", help="one round, then exit")
    dispatch.set_defaults(run=_dispatch)

    door = commands.add_parser(
        "frontdoor", help="nginx before the Rasa servers (FRONT_DOOR_PORT, RASA_SERVERS)"
    )
    door.add_argument("--print", action="store_true", help="show its config, start nothing")
    door.add_argument("--prefix", type=Path, default=None, help="its directory (var/nginx)")
    door.set_defaults(run=_frontdoor)

    commands.add_parser("channels", help="which messengers are enabled").set_defaults(run=_channels)
    telegram = commands.add_parser("telegram", help="Telegram set-up").add_subparsers(
        dest="telegram", required=True
    )
    telegram.add_parser(
        "set-webhook", help="register TELEGRAM_WEBHOOK_URL with the secret token"
    ).set_defaults(run=_telegram_set_webhook)
    operators = commands.add_parser(
        "operators", help="who may sign in to the console"
    ).add_subparsers(dest="operators", required=True)
    for name, run, text in (
        ("add", _operators_add, "add an operator; asks for the password"),
        ("remove", _operators_remove, "remove an operator and end their sessions"),
    ):
        command = operators.add_parser(name, help=text)
        command.add_argument("name", help="e.g. anna.schmidt (a-z 0-9 . _ -)")
        command.set_defaults(run=run)
    operators.add_parser("list", help="every operator").set_defaults(run=_operators_list)
    args = parser.parse_args(argv)
    if args.command in (
        "enquiries",
        "operators",
    ):  # an operator's first look may precede every start
        db.create_schema(db.session_factory())
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
