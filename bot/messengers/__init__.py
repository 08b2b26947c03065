"""The messengers the assistant is reachable on, as plain Python (no Rasa)."""
