"""The project's web app: demo page with the chat widget, the widget asset, health."""
