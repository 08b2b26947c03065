"""Starts the real assistant's processes (action server, Rasa server, dispatcher; the
production layout on PostgreSQL and Redis) on free ports, and runs the held-out
evaluation against them: shared by the tests, `make eval` and `make bench`."""
