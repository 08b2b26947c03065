"""Rasa's ``SpacyNLP``, loading the pipeline the project builds for itself
(``python -m nlu.pipeline.build``) from ``SPACY_PIPELINE_DIR`` instead of a path written
into config.yml. The path is looked up when the model is loaded, so a deployment can
keep the pipeline elsewhere than where it was trained. The class keeps Rasa's name:
Rasa's recipe finds the spaCy provider of the tokenizer and featurizers by it."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils import spacy_utils

from bot import settings


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MODEL_LOADER, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    @classmethod
    def create(cls, config: Dict[Text, Any], *args, **kwargs) -> "SpacyNLP":
        model = config.get("model") or str(settings.get().spacy_pipeline_dir)
        created = super().create({**config, "model": model}, *args, **kwargs)
        remember_loaded(created.provide().model.meta)
        return created


_loaded: list[dict] = []  # the last pipeline loaded, or nothing yet


def remember_loaded(meta: dict) -> None:
    _loaded[:] = [dict(meta)]


def loaded_meta() -> dict | None:
    """``meta.json`` of the pipeline this process loaded last, as it was loaded (one
    rebuilt on disk since is not what the server uses), or None before a model loads.
    The readiness check compares its knowledge-base revision with the database's."""
    return _loaded[-1] if _loaded else None
