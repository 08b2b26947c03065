"""Rasa SDK actions: thin adapters from a conversation to the core in ``bot``."""

from actions import observability

observability.install()
