"""Enquiries a visitor asked to hand over: the record, its consent, its outbox."""
