"""The Rasa server's own parts: the tracker store and event broker the endpoints files
name, the Prometheus metrics, and every patch of Rasa internals in one module
(``patches.py``)."""
