"""The spaCy pipeline the assistant builds for itself (``python -m nlu.pipeline.build``)
and the readers its NLU components use: language, spelling and German compounds.
Plain Python and spaCy; nothing here imports Rasa."""
