"""Rasa's socket.io channel, with two fixes for the web chat widget:

- Connections are accepted only from configured web origins. The stock channel
  disables the origin check of its socket.io server, so any web page could open a
  websocket to the assistant; here the allowed origins come from ``CORS_ORIGINS``
  (the same list the REST API's CORS uses).
- With ``session_persistence`` the stock channel calls ``enter_room`` without
  awaiting it, which the python-socketio 5 that Rasa 3.6 installs made a coroutine:
  the visitor's socket never joins its session's room and never gets an answer.
"""

from __future__ import annotations

import inspect
import uuid

from rasa.core.channels.socketio import SocketIOInput

from bot import settings


class OriginCheckedSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        sio.eio.cors_allowed_origins = list(settings.get().cors_origins)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid, data) -> None:
            data = data or {}
            session_id = data.get("session_id") or uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid)

        return blueprint
