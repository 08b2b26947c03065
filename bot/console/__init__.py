"""The operator console (``/console/`` in the web app): accounts, sessions, the audit
log, and what visitors asked that the assistant could not answer."""
