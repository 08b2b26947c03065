"""What the Rasa server loads besides Rasa itself: the spaCy pipeline, custom
components and channels. Rasa imports this package first for the channels, before it
serves anything, so the log format applies from there on (bot/logs.py)."""

from bot import logs

logs.configure("rasa")
