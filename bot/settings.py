"""Every environment variable the core reads, in one place.

Defaults are for a newcomer's laptop: SQLite under ``var/`` and placeholder
addresses under example.org, never real-looking fiction.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    default = f"sqlite:///{PROJECT_ROOT / 'var' / 'hub.db'}"
    return os.environ.get("DATABASE_URL", default)


def knowledge_base_path() -> Path:
    return Path(os.environ.get("KNOWLEDGE_BASE", PROJECT_ROOT / "data" / "knowledge_base.yml"))


def spacy_pipeline_dir() -> Path:
    base = Path(os.environ.get("SPACY_PIPELINE_DIR", PROJECT_ROOT / "var" / "spacy"))
    return base / "en-de"


def contact_email_override(contact_key: str) -> str | None:
    """``CONTACT_EMAIL_ERIC_WEBER=...`` replaces the placeholder address of that contact."""
    return os.environ.get(f"CONTACT_EMAIL_{contact_key.upper()}") or None


def website_url_override() -> str | None:
    return os.environ.get("HUB_WEBSITE_URL") or None


def knowledge_refresh_seconds() -> float:
    """How soon a running action server notices a reloaded knowledge base."""
    return float(os.environ.get("KNOWLEDGE_REFRESH_SECONDS", "2"))


# --- enquiries and handoff ----------------------------------------------------------


def smtp() -> dict | None:
    """SMTP settings, or None: then messages are written as .eml files (outbox_dir)."""
    host = os.environ.get("SMTP_HOST")
    if not host:
        return None
    security = os.environ.get("SMTP_SECURITY", "starttls").lower()
    if security not in ("none", "starttls", "tls"):
        raise ValueError(f"SMTP_SECURITY must be none, starttls or tls, not {security!r}")
    default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
    return {
        "hostname": host,
        "port": int(os.environ.get("SMTP_PORT", default_port)),
        "username": os.environ.get("SMTP_USERNAME") or None,
        "password": os.environ.get("SMTP_PASSWORD") or None,
        "use_tls": security == "tls",
        "start_tls": security == "starttls",
    }


def contact_mail_language() -> str:
    """The language of the e-mails to contact persons (the hubs work in German)."""
    return os.environ.get("CONTACT_MAIL_LANGUAGE", "de")


def mail_from() -> str:
    return os.environ.get("MAIL_FROM", "Dresden/Leipzig hub assistant <assistant@hub.example.org>")


def outbox_dir() -> Path:
    return Path(os.environ.get("OUTBOX_DIR", PROJECT_ROOT / "var" / "outbox"))


def handoff_give_up_hours() -> float:
    """How long the dispatcher keeps retrying a message before marking it failed."""
    return float(os.environ.get("HANDOFF_GIVE_UP_HOURS", "48"))


def privacy_notice() -> dict[str, str]:
    return {
        "url": os.environ.get("PRIVACY_NOTICE_URL", "https://hub.example.org/privacy"),
        "version": os.environ.get("PRIVACY_NOTICE_VERSION", "2026-11"),
    }


def enquiry_retention_days() -> int:
    return int(os.environ.get("ENQUIRY_RETENTION_DAYS", "180"))


ENQUIRY_MAX_CHARS = 5000  # longer enquiries are cut here and the visitor is told


# --- web ------------------------------------------------------------------------------


def rasa_public_url() -> str:
    """Where browsers reach the Rasa server (the widget's data-server)."""
    return os.environ.get(
        "RASA_PUBLIC_URL", f"http://localhost:{os.environ.get('RASA_PORT', '5005')}"
    )


def cors_origins() -> list[str]:
    """Web origins allowed to talk to the Rasa server (REST and socket.io)."""
    value = os.environ.get("CORS_ORIGINS", "http://localhost:8080")
    return [origin.strip() for origin in value.split(",") if origin.strip()]


# --- production ------------------------------------------------------------------------


def rate_limit() -> dict:
    """Per sender, on every public channel: a burst, then so many messages a minute."""
    return {
        "burst": int(os.environ.get("RATE_LIMIT_BURST") or 10),
        "per_minute": float(os.environ.get("RATE_LIMIT_PER_MINUTE") or 30),
    }


def redis() -> dict | None:
    """The Redis the Rasa servers share (``make run-prod``, endpoints.prod.yml), or None:
    then each process keeps its state to itself (``make run``)."""
    host = os.environ.get("REDIS_HOST", "").strip()
    if not host:
        return None
    return {
        "host": host,
        "port": int(os.environ.get("REDIS_PORT") or 6379),
        "db": int(os.environ.get("REDIS_DB") or 0),
        "prefix": os.environ.get("REDIS_KEY_PREFIX") or "hub",
    }


# --- messengers ------------------------------------------------------------------------

MESSENGER_MAX_BODY_BYTES = 64 * 1024  # a webhook update is a few kB; refuse more


def telegram() -> dict[str, str] | None:
    """The Telegram channel's settings, or None (not enabled) without token and secret."""
    token = os.environ.get("TELEGRAM_ACCESS_TOKEN", "").strip()
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if not token or not secret:
        return None
    return {
        "access_token": token,
        "webhook_secret": secret,
        "bot_name": os.environ.get("TELEGRAM_BOT_NAME", ""),
        "webhook_url": os.environ.get("TELEGRAM_WEBHOOK_URL", ""),
        "api_base_url": os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org"),
    }


def facebook() -> dict[str, str] | None:
    """The Facebook Messenger channel's settings, or None (not enabled) unless the verify
    token, the app secret and the page access token are all set."""
    values = {
        "verify_token": os.environ.get("FACEBOOK_VERIFY_TOKEN", "").strip(),
        "app_secret": os.environ.get("FACEBOOK_APP_SECRET", "").strip(),
        "page_access_token": os.environ.get("FACEBOOK_PAGE_ACCESS_TOKEN", "").strip(),
    }
    if not all(values.values()):
        return None
    return values | {
        "api_base_url": os.environ.get("FACEBOOK_API_BASE_URL", "https://graph.facebook.com/v19.0")
    }


# --- operations --------------------------------------------------------------------------


def log_format() -> str:
    """``json`` in production (one object per line, for a log collector), else ``text``."""
    return os.environ.get("LOG_FORMAT", "text").lower()


def ops_token() -> str | None:
    """The bearer token of the operator endpoints (metrics); unset, they refuse everyone."""
    return os.environ.get("OPS_TOKEN", "").strip() or None


def dispatcher_port() -> int | None:
    """Where the dispatcher serves health and metrics; unset, it serves nothing."""
    port = os.environ.get("DISPATCHER_PORT", "").strip()
    return int(port) if port else None


def event_broker() -> dict | None:
    """RabbitMQ to publish every conversation event to, or None (events stay local)."""
    url = os.environ.get("EVENT_BROKER_URL", "").strip()
    if not url:
        return None
    return {"url": url, "queue": os.environ.get("EVENT_BROKER_QUEUE", "hub-events")}
