"""Custom Rasa graph components. Every Rasa process that loads the assistant's
model imports this package, so the measured speed-ups apply there too."""

from nlu import observability, resilience, sender_limits, speedups

speedups.install()
resilience.install()
sender_limits.install()
observability.install()
