"""Rasa SDK actions: thin adapters from a conversation to the core in ``bot``. The
action server's one patch of the SDK is in nlu/server/patches.py."""

from nlu.server import patches

patches.install_in_action_server()
