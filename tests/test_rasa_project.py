"""The Rasa project as Rasa sees it: valid data, and conversations that go as designed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from harness.servers import MODEL

RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RASA, *args], cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=600
    )


def test_training_data_and_domain_are_valid():
    result = rasa("data", "validate", "--domain", "domain")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.model
def test_conversation_stories_predict_every_intent_entity_and_action(tmp_path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(MODEL),
        "--stories",
        "tests/test_conversations.yml",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details + result.stderr[-2000:]


def test_make_eval_finds_its_held_out_sets_in_both_languages():
    from harness import heldout

    languages = {heldout.language_of_set(path): path for path in heldout.HELDOUT_SETS}
    assert set(languages) == {"en", "de"}
    assert all(len(heldout.load_items(path)) > 50 for path in heldout.HELDOUT_SETS)
