"""A graph component whose training yields one JSON document, kept in the model."""

from __future__ import annotations

import json
from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class Learnt(GraphComponent):
    FILE = "learnt.json"

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        learnt: Any = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.learnt = learnt

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Learnt:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Learnt:
        with model_storage.read_from(resource) as directory:
            document = json.loads((directory / cls.FILE).read_text())
        return cls(config, model_storage, resource, cls.from_document(document))

    @classmethod
    def from_document(cls, document: Any) -> Any:
        """What was learnt, from the document :meth:`store` wrote."""
        return document

    def store(self, document: Any) -> Resource:
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.FILE).write_text(json.dumps(document))
        return self._resource
