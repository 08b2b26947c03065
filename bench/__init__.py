"""`make bench`: answer quality and speed, side by side with public results and a
stock Rasa assistant. Writes reports/bench.md and reports/bench.json."""
