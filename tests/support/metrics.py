"""Reading a process's Prometheus metrics as an operator does: over HTTP, with the token."""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def samples(url: str, token: str) -> dict[tuple[str, frozenset], float]:
    status, text = get(url, token)
    assert status == 200, text
    return parse(text)


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """The samples of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def label_values(metrics: dict, name: str, label: str) -> set[str]:
    """Every value ``label`` takes in the samples of ``name``: each one a series kept."""
    return {
        dict(labels)[label]
        for sample, labels in metrics
        if sample == name and label in dict(labels)
    }


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def total(metrics: dict, name: str) -> float:
    return sum(v for (sample, _labels), v in metrics.items() if sample == name)
