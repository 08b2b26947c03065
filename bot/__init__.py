"""The assistant's core: plain Python, importable and testable without Rasa."""
