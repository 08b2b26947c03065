"""What the Rasa server loads besides Rasa itself:

- ``nlu/components/``: the graph components named in config.yml;
- ``nlu/pipeline/``: the spaCy pipeline's build and the language, spelling and compound
  readers the components use (plain Python and spaCy, no Rasa);
- ``nlu/channels/``: the input channels named in credentials.yml;
- ``nlu/server/``: the tracker store and event broker named in the endpoints files, and
  every patch of Rasa internals (``nlu/server/patches.py``).
"""
