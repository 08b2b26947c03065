"""Hands enquiries to contact persons by e-mail: rendering, outbox, dispatcher."""
