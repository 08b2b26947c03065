"""The Rasa server's input channels, named in credentials.yml: the widget's socket.io,
Telegram, Facebook Messenger and the operators' endpoints. Each is a thin adapter over
plain Python in ``bot/``. Rasa imports these before it serves anything, so the log
format applies from here on (bot/logs.py)."""

from bot import logs

logs.configure("rasa")
