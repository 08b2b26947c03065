"""What the Rasa server loads besides Rasa itself: the spaCy pipeline and custom components."""
