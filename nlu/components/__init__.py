"""The graph components config.yml names. Every Rasa process that loads the model
imports this package, so that is where the Rasa server's patches are installed
(all of them in nlu/server/patches.py)."""

from nlu.server import patches

patches.install_in_rasa_server()
