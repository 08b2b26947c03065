"""Custom Rasa graph components. Every Rasa process that loads the assistant's
model imports this package, so the speed-ups, the answers when the action server is
down, the per-sender limits and the metrics apply there too."""

from nlu import observability, resilience, sender_limits, speedups

speedups.install()
resilience.install()
sender_limits.install()
observability.install()
