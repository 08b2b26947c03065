"""Every setting the assistant's processes read, in one frozen object.

The environment is read and checked once, when a process starts (:func:`get`); a bad
value stops the start with a message that names the variable, instead of failing in
the middle of a conversation. Defaults are for a newcomer's laptop: SQLite under
``var/`` and placeholder addresses under example.org, never real-looking fiction.
docs/configuration.md lists every variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.enquiries.addresses import Address, checked_address

PROJECT_ROOT = Path(__file__).resolve().parent.parent

MESSAGE_MAX_CHARS = 5000  # the Rasa server reads this much of a message and says so
ENQUIRY_MAX_CHARS = MESSAGE_MAX_CHARS  # longer enquiries are cut here and the visitor is told
# Every server refuses a larger request at once (413): a message, a webhook update with
# its metadata, is a few kB.
REQUEST_MAX_BYTES = 64 * 1024
LANGUAGES = ("en", "de")


class SettingsError(ValueError):
    """A variable holds a value the assistant cannot use; the message names it."""


@dataclass(frozen=True)
class SmtpTimeouts:
    """Seconds to wait at each stage of sending one e-mail; the defaults are RFC 5321's
    (section 4.5.3.2). A server may take minutes to answer the end of DATA while it
    stores the message: a client that gives up sooner sends it again."""

    greeting: float = 300.0  # connecting (and TLS) until the server's 220
    mail: float = 300.0  # MAIL FROM; also EHLO, STARTTLS and login, together
    rcpt: float = 300.0  # RCPT TO
    data_start: float = 120.0  # DATA until the server's 354
    data_block: float = 180.0  # sending the message (added to the wait for its reply)
    data_end: float = 600.0  # the end of the message until the server's 250

    def conversation(self) -> float:
        """The longest one e-mail can take: every stage's timeout, added up (``mail``
        twice: once for EHLO, STARTTLS and login, once for MAIL FROM)."""
        return (
            self.greeting
            + 2 * self.mail
            + self.rcpt
            + self.data_start
            + self.data_block
            + self.data_end
        )


@dataclass(frozen=True)
class Smtp:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    timeouts: SmtpTimeouts = SmtpTimeouts()

    def client_options(self) -> dict:
        """The keyword arguments of aiosmtplib's client (the timeouts are per stage)."""
        options = asdict(self)
        del options["timeouts"]
        return options


@dataclass(frozen=True)
class RateLimit:
    """Per sender, on every public channel: a burst, then so many messages a minute."""

    burst: int = 10
    per_minute: float = 30.0


@dataclass(frozen=True)
class Redis:
    host: str
    port: int = 6379
    db: int = 0
    prefix: str = "hub"


@dataclass(frozen=True)
class Telegram:
    access_token: str
    webhook_secret: str
    bot_name: str = ""
    webhook_url: str = ""
    api_base_url: str = "https://api.telegram.org"


@dataclass(frozen=True)
class Facebook:
    verify_token: str
    app_secret: str
    page_access_token: str
    api_base_url: str = "https://graph.facebook.com/v19.0"


@dataclass(frozen=True)
class WhatsApp:
    access_token: str
    app_secret: str
    verify_token: str
    phone_number_id: str
    api_base_url: str = "https://graph.facebook.com/v21.0"


@dataclass(frozen=True)
class EventBroker:
    url: str
    queue: str = "hub-events"


@dataclass(frozen=True)
class Settings:
    # knowledge and data
    database_url: str
    knowledge_base_path: Path
    spacy_pipeline_dir: Path
    knowledge_refresh_seconds: float  # how soon a running action server sees a reload
    contact_emails: Mapping[str, str]  # contact key -> address, replacing placeholders
    website_url: str | None
    # enquiries and handoff
    smtp: Smtp | None  # None: messages are written as .eml files to outbox_dir
    outbox_dir: Path
    mail_from: str
    contact_mail_language: str  # the hubs work in German
    mail_timezone: ZoneInfo  # the times the e-mails show; the database keeps UTC
    privacy_contact_email: str  # where a visitor asks for erasure by e-mail (IDNA domain)
    handoff_give_up_hours: float
    enquiry_retention_days: int
    conversation_retention_days: int  # conversations idle longer leave the tracker store
    privacy_notice_url: str
    privacy_notice_version: str
    # web and channels
    rasa_public_url: str  # where browsers reach the Rasa server (the widget's data-server)
    cors_origins: tuple[str, ...]  # web origins allowed on REST and socket.io
    web_host: str
    web_port: int
    telegram: Telegram | None  # None: not enabled (404)
    facebook: Facebook | None
    whatsapp: WhatsApp | None
    # who may call what (bot/conversations.py, actions/server.py, nlu/channels/rest.py)
    session_secret: str  # signs the widget's session ids; shared by all Rasa servers
    action_server: (
        bool  # False: each Rasa server runs the actions (nlu/server/in_process_actions.py)
    )
    action_server_token: str | None  # the Rasa servers' bearer token at the action server
    action_server_host: str
    rest_token: str | None  # None: the REST channel is open (development, loopback)
    # production
    rate_limit: RateLimit
    client_rate_limit: RateLimit  # per client address, REST and socket.io (bot/ratelimit.py)
    trusted_proxies: tuple[str, ...]  # networks whose X-Forwarded-For is believed
    redis: Redis | None  # shared state of several Rasa servers; None: each its own
    front_door_host: str  # nginx (bot/frontdoor.py)
    front_door_port: int
    rasa_servers: tuple[str, ...]  # host:port of each Rasa server behind the front door
    event_broker: EventBroker | None
    log_format: str  # "json" in production (one object per line), else "text"
    ops_token: str | None  # bearer token of the operator endpoints; None refuses all
    console_sign_ins_per_minute: int  # per client address and per name (bot/web/console.py)
    dispatcher_port: int | None  # where the dispatcher serves health and metrics
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def contact_email(self, contact_key: str) -> str | None:
        return self.contact_emails.get(contact_key)


class _Reader:
    """Typed reads of one environment; every error names its variable."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str, default: str = "") -> str:
        return (self.environ.get(name) or "").strip() or default

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def number(self, name: str, default, kind=int, minimum=0):
        value = self.text(name)
        if not value:
            return default
        try:
            number = kind(value)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{name} must be {noun}, not {value!r}") from None
        if number < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, not {value!r}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def url(self, name: str, default: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
        value = self.text(name, default)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise SettingsError(
                f"{name} must be an absolute {' or '.join(schemes)} URL, not {value!r}"
            )
        return value

    def optional_url(self, name: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
        return self.url(name, "", schemes) if self.text(name) else None

    def address(self, name: str, default: str) -> str:
        """One e-mail address, checked as a visitor's is (bot/enquiries/addresses.py)."""
        value = self.text(name, default)
        address = checked_address(value)
        if not isinstance(address, Address):
            raise SettingsError(
                f"{name} must be one e-mail address such as {default}, not {value!r}"
            )
        return address.stored

    def timezone(self, name: str, default: str) -> ZoneInfo:
        value = self.text(name, default)
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # without the system's zone files, zoneinfo needs the tzdata package
            missing = "" if available_timezones() else " (no time-zone database: install tzdata)"
            raise SettingsError(
                f"{name} must be an IANA time zone such as Europe/Berlin, not {value!r}{missing}"
            ) from None

    def path(self, name: str, default: Path) -> Path:
        return Path(self.text(name) or default)

    def items(self, name: str, default: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.text(name, default).split(",") if item.strip())


def _smtp(read: _Reader) -> Smtp | None:
    host = read.text("SMTP_HOST")
    if not host:
        return None
    security = read.choice("SMTP_SECURITY", "starttls", ("none", "starttls", "tls"))
    default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
    return Smtp(
        hostname=host,
        port=read.number("SMTP_PORT", default_port, minimum=1),
        username=read.optional("SMTP_USERNAME"),
        password=read.optional("SMTP_PASSWORD"),
        use_tls=security == "tls",
        start_tls=security == "starttls",
        timeouts=SmtpTimeouts(
            **{
                stage: read.number(f"SMTP_TIMEOUT_{stage.upper()}", default, float, minimum=1)
                for stage, default in asdict(SmtpTimeouts()).items()
            }
        ),
    )


def _telegram(read: _Reader) -> Telegram | None:
    token, secret = read.text("TELEGRAM_ACCESS_TOKEN"), read.text("TELEGRAM_WEBHOOK_SECRET")
    if not token or not secret:
        return None
    return Telegram(
        access_token=token,
        webhook_secret=secret,
        bot_name=read.text("TELEGRAM_BOT_NAME"),
        webhook_url=read.text("TELEGRAM_WEBHOOK_URL"),
        api_base_url=read.url("TELEGRAM_API_BASE_URL", Telegram.api_base_url),
    )


def _facebook(read: _Reader) -> Facebook | None:
    """Enabled only with the verify token, the app secret and the page access token."""
    values = {
        "verify_token": read.text("FACEBOOK_VERIFY_TOKEN"),
        "app_secret": read.text("FACEBOOK_APP_SECRET"),
        "page_access_token": read.text("FACEBOOK_PAGE_ACCESS_TOKEN"),
    }
    if not all(values.values()):
        return None
    return Facebook(**values, api_base_url=read.url("FACEBOOK_API_BASE_URL", Facebook.api_base_url))


def _whatsapp(read: _Reader) -> WhatsApp | None:
    """Enabled only with the access token, the app secret, the verify token and the
    business phone number's id."""
    values = {
        "access_token": read.text("WHATSAPP_ACCESS_TOKEN"),
        "app_secret": read.text("WHATSAPP_APP_SECRET"),
        "verify_token": read.text("WHATSAPP_VERIFY_TOKEN"),
        "phone_number_id": read.text("WHATSAPP_PHONE_NUMBER_ID"),
    }
    if not all(values.values()):
        return None
    return WhatsApp(**values, api_base_url=read.url("WHATSAPP_API_BASE_URL", WhatsApp.api_base_url))


def _trusted_proxies(read: _Reader) -> tuple[str, ...]:
    """Who may say which client it forwards: by default this machine, where the
    front door (nginx) runs. Anybody else's ``X-Forwarded-For`` is ignored."""
    entries = read.items("TRUSTED_PROXIES", "127.0.0.1,::1")
    try:
        return tuple(str(ipaddress.ip_network(entry, strict=False)) for entry in entries)
    except ValueError:
        raise SettingsError(
            "TRUSTED_PROXIES must be addresses or networks (a.b.c.d/n) separated by commas, "
            f"not {read.text('TRUSTED_PROXIES')!r}"
        ) from None


def _rasa_servers(read: _Reader, rasa_port: int) -> tuple[str, ...]:
    servers = read.items("RASA_SERVERS", f"127.0.0.1:{rasa_port}")
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(
                f"RASA_SERVERS must be host:port entries separated by commas, not {server!r}"
            )
    return servers


def _redis(read: _Reader) -> Redis | None:
    host = read.text("REDIS_HOST")
    if not host:
        return None
    return Redis(
        host=host,
        port=read.number("REDIS_PORT", 6379, minimum=1),
        db=read.number("REDIS_DB", 0),
        prefix=read.text("REDIS_KEY_PREFIX", "hub"),
    )


def _contact_emails(environ: Mapping[str, str]) -> dict[str, str]:
    """``CONTACT_EMAIL_ERIC_WEBER=...`` replaces the placeholder address of ``eric_weber``."""
    prefix = "CONTACT_EMAIL_"
    return {
        name[len(prefix) :].lower(): value.strip()
        for name, value in environ.items()
        if name.startswith(prefix) and value.strip()
    }


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; :class:`SettingsError` names the first bad one."""
    environ = dict(os.environ if environ is None else environ)
    read = _Reader(environ)
    var = PROJECT_ROOT / "var"
    rasa_port = read.number("RASA_PORT", 5005, minimum=1)
    event_broker_url = read.optional_url("EVENT_BROKER_URL", ("amqp", "amqps"))
    return Settings(
        database_url=read.text("DATABASE_URL", f"sqlite:///{var / 'hub.db'}"),
        knowledge_base_path=read.path(
            "KNOWLEDGE_BASE", PROJECT_ROOT / "data" / "knowledge_base.yml"
        ),
        spacy_pipeline_dir=read.path("SPACY_PIPELINE_DIR", var / "spacy") / "en-de",
        knowledge_refresh_seconds=read.number("KNOWLEDGE_REFRESH_SECONDS", 2.0, float),
        contact_emails=_contact_emails(environ),
        website_url=read.optional_url("HUB_WEBSITE_URL"),
        smtp=_smtp(read),
        outbox_dir=read.path("OUTBOX_DIR", var / "outbox"),
        mail_from=read.text(
            "MAIL_FROM", "Dresden/Leipzig hub assistant <assistant@hub.example.org>"
        ),
        contact_mail_language=read.choice("CONTACT_MAIL_LANGUAGE", "de", LANGUAGES),
        mail_timezone=read.timezone("MAIL_TIMEZONE", "Europe/Berlin"),
        privacy_contact_email=read.address("PRIVACY_CONTACT_EMAIL", "privacy@hub.example.org"),
        handoff_give_up_hours=read.number("HANDOFF_GIVE_UP_HOURS", 48.0, float),
        enquiry_retention_days=read.number("ENQUIRY_RETENTION_DAYS", 180, minimum=1),
        conversation_retention_days=read.number("CONVERSATION_RETENTION_DAYS", 30, minimum=1),
        privacy_notice_url=read.url("PRIVACY_NOTICE_URL", "https://hub.example.org/privacy"),
        privacy_notice_version=read.text("PRIVACY_NOTICE_VERSION", "2026-11"),
        rasa_public_url=read.url("RASA_PUBLIC_URL", f"http://localhost:{rasa_port}"),
        cors_origins=read.items("CORS_ORIGINS", "http://localhost:8080"),
        web_host=read.text("WEB_HOST", "127.0.0.1"),
        web_port=read.number("WEB_PORT", 8080, minimum=1),
        telegram=_telegram(read),
        facebook=_facebook(read),
        whatsapp=_whatsapp(read),
        session_secret=read.text("SESSION_SECRET") or secrets.token_hex(32),
        action_server=read.choice("ACTION_SERVER", "off", ("off", "on")) == "on",
        action_server_token=read.optional("ACTION_SERVER_TOKEN"),
        action_server_host=read.text("ACTION_SERVER_HOST", "127.0.0.1"),
        rest_token=read.optional("REST_TOKEN"),
        rate_limit=RateLimit(
            burst=read.number("RATE_LIMIT_BURST", 10, minimum=1),
            per_minute=read.number("RATE_LIMIT_PER_MINUTE", 30.0, float, minimum=1),
        ),
        # an office of 30 behind one NAT chats well below 240 a minute, and opening the
        # widget together fits in 60; a script sending 50 a second is stopped after 1 s
        client_rate_limit=RateLimit(
            burst=read.number("RATE_LIMIT_CLIENT_BURST", 60, minimum=1),
            per_minute=read.number("RATE_LIMIT_CLIENT_PER_MINUTE", 240.0, float, minimum=1),
        ),
        trusted_proxies=_trusted_proxies(read),
        redis=_redis(read),
        front_door_host=read.text("FRONT_DOOR_HOST", "127.0.0.1"),
        front_door_port=read.number("FRONT_DOOR_PORT", 8000, minimum=1),
        rasa_servers=_rasa_servers(read, rasa_port),
        event_broker=EventBroker(event_broker_url, read.text("EVENT_BROKER_QUEUE", "hub-events"))
        if event_broker_url
        else None,
        log_format=read.choice("LOG_FORMAT", "text", ("text", "json")),
        ops_token=read.optional("OPS_TOKEN"),
        console_sign_ins_per_minute=read.number("CONSOLE_SIGN_INS_PER_MINUTE", 5, minimum=1),
        dispatcher_port=read.number("DISPATCHER_PORT", None, minimum=1),
        environ=environ,
    )


@lru_cache(maxsize=1)
def get() -> Settings:
    """This process's settings, read from the environment the first time."""
    return load()


def reset() -> None:
    """Forget the settings read, so the next :func:`get` reads the environment again
    (for tests that change it)."""
    get.cache_clear()
