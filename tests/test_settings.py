"""Settings are read once, checked at start-up, and a bad value stops the start with
a message naming the variable."""

from __future__ import annotations

import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest

from bot import settings
from bot.__main__ import main
from bot.settings import PROJECT_ROOT, SettingsError, load


def test_a_newcomers_laptop_needs_no_variable():
    current = load({})
    assert current.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'hub.db'}"
    assert current.spacy_pipeline_dir == PROJECT_ROOT / "var" / "spacy" / "en-de"
    assert current.smtp is None and current.telegram is None and current.redis is None
    assert current.mail_from.endswith("@hub.example.org>")
    assert current.privacy_notice_url.startswith("https://hub.example.org/")
    assert current.rate_limit == settings.RateLimit(burst=10, per_minute=30.0)
    assert current.rasa_public_url == "http://localhost:5005"
    assert current.mail_timezone == ZoneInfo("Europe/Berlin")
    assert current.privacy_contact_email == "privacy@hub.example.org"


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RATE_LIMIT_BURST": "ten"}, "RATE_LIMIT_BURST must be a whole number, not 'ten'"),
        ({"RATE_LIMIT_BURST": "0"}, "RATE_LIMIT_BURST must be at least 1"),
        ({"KNOWLEDGE_REFRESH_SECONDS": "soon"}, "KNOWLEDGE_REFRESH_SECONDS must be a number"),
        ({"SMTP_HOST": "mail", "SMTP_SECURITY": "ssl"}, "SMTP_SECURITY must be one of none"),
        ({"SMTP_HOST": "mail", "SMTP_PORT": "x"}, "SMTP_PORT must be a whole number"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json"),
        ({"CONTACT_MAIL_LANGUAGE": "fr"}, "CONTACT_MAIL_LANGUAGE must be one of en, de"),
        ({"HUB_WEBSITE_URL": "hub.example.org"}, "HUB_WEBSITE_URL must be an absolute"),
        ({"EVENT_BROKER_URL": "http://x"}, "EVENT_BROKER_URL must be an absolute amqp"),
        ({"REDIS_HOST": "r", "REDIS_PORT": "-1"}, "REDIS_PORT must be at least 1"),
        (
            {"MAIL_TIMEZONE": "Europe/Dresden"},
            "MAIL_TIMEZONE must be an IANA time zone such as Europe/Berlin, not 'Europe/Dresden'",
        ),
        ({"MAIL_TIMEZONE": "/etc/passwd"}, "MAIL_TIMEZONE must be an IANA time zone"),
        ({"MAIL_TIMEZONE": "zone.tab"}, "MAIL_TIMEZONE must be an IANA time zone"),
        ({"PRIVACY_CONTACT_EMAIL": "privacy(at)hub"}, "PRIVACY_CONTACT_EMAIL must be one e-mail"),
        ({"PRIVACY_CONTACT_EMAIL": "a@b.org, c@d.org"}, "PRIVACY_CONTACT_EMAIL must be one e-mail"),
        ({"PRIVACY_CONTACT_EMAIL": "privacy@laptop.local"}, "PRIVACY_CONTACT_EMAIL must be one"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        load(environ)


def test_each_group_is_read_into_its_own_value():
    current = load(
        {
            "SMTP_HOST": "mail.example.org",
            "SMTP_SECURITY": "tls",
            "TELEGRAM_ACCESS_TOKEN": "123:abc",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret-token",
            "FACEBOOK_VERIFY_TOKEN": "v",  # one of three: not enabled
            "REDIS_HOST": "127.0.0.1",
            "CORS_ORIGINS": "https://a.example.org, https://b.example.org,",
            "CONTACT_EMAIL_ERIC_WEBER": "eric@example.org",
        }
    )
    assert current.smtp.client_options() == {
        "hostname": "mail.example.org",
        "port": 465,
        "username": None,
        "password": None,
        "use_tls": True,
        "start_tls": False,
    }
    assert current.telegram.access_token == "123:abc"
    assert current.facebook is None
    assert current.redis == settings.Redis(host="127.0.0.1")
    assert current.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert current.contact_email("eric_weber") == "eric@example.org"
    assert current.contact_email("sebastian_lindner") is None


def test_whatsapp_is_enabled_only_with_all_four_of_its_variables():
    four = {
        "WHATSAPP_ACCESS_TOKEN": "EAAG",
        "WHATSAPP_APP_SECRET": "secret",
        "WHATSAPP_VERIFY_TOKEN": "verify",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    }
    enabled = load(four).whatsapp
    assert enabled.phone_number_id == "106540352242922"
    assert enabled.api_base_url.startswith("https://graph.facebook.com/v")
    for missing in four:
        assert load({k: v for k, v in four.items() if k != missing}).whatsapp is None
    with pytest.raises(settings.SettingsError, match="WHATSAPP_API_BASE_URL"):
        load({**four, "WHATSAPP_API_BASE_URL": "graph.facebook.com"})


def test_the_mail_time_zone_and_the_privacy_address_are_read_as_given():
    current = load(
        {"MAIL_TIMEZONE": "America/New_York", "PRIVACY_CONTACT_EMAIL": " <datenschutz@müller.de>"}
    )
    assert current.mail_timezone == ZoneInfo("America/New_York")
    assert current.privacy_contact_email == "datenschutz@xn--mller-kva.de"  # sent in IDNA


def test_a_machine_without_time_zone_files_is_told_to_install_tzdata(monkeypatch):
    monkeypatch.setattr(settings, "ZoneInfo", lambda key: ZoneInfo("Mars/Olympus_Mons"))
    monkeypatch.setattr(settings, "available_timezones", set)
    with pytest.raises(SettingsError, match="not 'Europe/Berlin' .no time-zone database: install"):
        load({})


def test_the_settings_are_read_once_per_process(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_BURST", "3")
    first = settings.get()
    monkeypatch.setenv("RATE_LIMIT_BURST", "4")
    assert settings.get() is first and first.rate_limit.burst == 3
    settings.reset()
    assert settings.get().rate_limit.burst == 4


def test_the_operator_command_stops_on_a_bad_value(monkeypatch, capsys):
    monkeypatch.setenv("DISPATCHER_PORT", "http")
    assert main(["settings"]) == 2
    assert "Configuration error: DISPATCHER_PORT must be a whole number" in capsys.readouterr().err


def test_the_rasa_server_stops_at_start_up_on_a_bad_value():
    """What `rasa run` imports first for the model: a bad variable is named there."""
    run = subprocess.run(
        [sys.executable, "-c", "import nlu.components"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "RATE_LIMIT_BURST": "x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "RATE_LIMIT_BURST must be a whole number, not 'x'" in run.stderr
