"""The messengers the assistant is reachable on, as plain Python (no Rasa): reading
updates, checking signatures, building replies. Their Rasa channels, thin adapters over
these modules, are in ``nlu/channels/``."""
