"""Custom Rasa graph components. Every Rasa process that loads the assistant's
model imports this package, so the measured speed-ups apply there too."""

from nlu import observability, resilience, speedups

speedups.install()
resilience.install()
observability.install()
