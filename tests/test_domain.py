"""The domain (domain/*.yml): every response speaks both languages alike, and the
tests' reading of the directory is what Rasa reads."""

from __future__ import annotations

import re

import pytest

from tests.support import domain

GERMAN = [{"type": "slot", "name": "language", "value": "de"}]
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
RESPONSES = domain.merged()["responses"]


def _placeholders(variant: dict) -> set[str]:
    texts = [variant.get("text") or ""]
    for button in variant.get("buttons") or []:
        texts += [button.get("title") or "", button.get("payload") or ""]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_has_an_english_and_a_german_variant_that_say_the_same(name):
    """A visitor who switches language gets the same answer with the same facts and
    choices; a variant missing in one language would answer in the other."""
    variants = RESPONSES[name]
    english = [v for v in variants if not v.get("condition")]
    german = [v for v in variants if v.get("condition") == GERMAN]
    assert len(english) == 1 and len(german) == 1 and len(variants) == 2, variants
    (en,), (de,) = english, german
    assert en.get("text", "").strip() and de.get("text", "").strip()
    assert _placeholders(en) == _placeholders(de)
    en_buttons, de_buttons = en.get("buttons") or [], de.get("buttons") or []
    assert len(en_buttons) == len(de_buttons)
    assert [b["payload"] for b in en_buttons] == [b["payload"] for b in de_buttons]


def test_the_hub_buttons_come_from_the_knowledge_base_not_the_domain():
    """The hubs' titles are facts (data/knowledge_base.yml); the actions add them."""
    payloads = [b["payload"] for vs in RESPONSES.values() for v in vs for b in v.get("buttons", [])]
    assert not [p for p in payloads if '"hub"' in p]


def test_each_name_is_defined_in_one_file_only():
    """Rasa would only warn about a response or slot given twice and keep one of them."""
    seen: dict[tuple[str, str], str] = {}
    for path, part in domain.files().items():
        for section in ("responses", "slots", "forms", "actions", "intents", "entities"):
            for name in part.get(section) or []:
                name = name if isinstance(name, str) else next(iter(name))
                assert (section, name) not in seen, f"{name} in {seen[(section, name)]}, {path}"
                seen[(section, name)] = path.name


def test_rasa_reads_the_directory_as_the_tests_do():
    """The aliases (``*de``) resolve and the files merge as tests/support/domain.py says."""
    from rasa.shared.core.domain import Domain

    rasa = Domain.load(str(domain.DOMAIN_DIR))
    ours = domain.merged()
    assert rasa.responses == ours["responses"]
    assert set(rasa.user_actions) - set(rasa.responses) == set(ours["actions"])
    assert set(rasa.form_names) == set(ours["forms"])
    assert {slot.name for slot in rasa.slots} >= set(ours["slots"])
    assert set(rasa.intents) >= {
        i if isinstance(i, str) else next(iter(i)) for i in ours["intents"]
    }
    english = rasa.responses["utter_goodbye"][0]
    assert not english.get("condition")
    assert rasa.responses["utter_goodbye"][1]["condition"] == GERMAN
    assert rasa.session_config.session_expiration_time == 60
