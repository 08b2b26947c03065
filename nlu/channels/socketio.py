"""Rasa's socket.io channel, made safe for the web chat widget:

- Connections are accepted only from configured web origins. The stock channel
  disables the origin check of its socket.io server, so any web page could open a
  websocket to the assistant; here the allowed origins come from ``CORS_ORIGINS``
  (the same list the REST API's CORS uses).
- Sessions are the server's. The stock channel lets a browser name any session id,
  join that session's room (reading its answers) and send messages as it. Here the
  server issues signed session ids (bot/conversations.py); a browser resumes its own
  after a reload, anything else gets a new one, and a message counts for the session
  its socket was confirmed in, never the ``session_id`` it carries. The conversation
  is stored as ``socketio:<session id>``.
- With ``session_persistence`` the stock channel calls ``enter_room`` without
  awaiting it, which the python-socketio 5 that Rasa 3.6 installs made a coroutine:
  the visitor's socket never joins its session's room and never gets an answer.
- Custom JSON (``json_message``) reaches the widget as ``{"custom": ...}`` in the
  session's room. The stock channel passes its keys to ``emit`` as arguments, which
  sends it to no room (or fails on any key ``emit`` does not take).
- Limits per client address (nlu/channels/clients.py): a connection from an address
  over its limit is refused, and a message from one is not read (the visitor is asked
  to slow down), however many sockets or sessions the client opens.
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

from bot import conversations, settings
from nlu.channels import clients, limits

log = logging.getLogger(__name__)


class SessionOutput(SocketIOOutput):
    """Answers go to the room of the session, named without the channel's prefix."""

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        room = conversations.id_on_channel(self.name(), socket_id)
        await super()._send_message(room, response)

    async def send_custom_json(self, recipient_id: Text, json_message: dict, **kwargs) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class OriginCheckedSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self):
        """For messages the HTTP API sends (``output_channel=latest``): to the session's
        room too, where the stock channel's output would reach nobody."""
        return SessionOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message):
        blueprint = limits.apply_to(super().blueprint(on_new_message))
        sio = self.sio
        sio.eio.cors_allowed_origins = list(settings.get().cors_origins)
        sio.eio.max_http_buffer_size = settings.REQUEST_MAX_BYTES  # websocket frames too
        sessions: dict[str, str] = {}  # socket id -> its confirmed session
        addresses: dict[str, str] = {}  # socket id -> its client's address
        stock_connect = sio.handlers[self.namespace or "/"]["connect"]

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid, environ, auth=None) -> bool:
            address = clients.address_of_socket(environ)
            if await clients.refused(address, self.name()):
                return False
            accepted = await stock_connect(sid, environ, auth)
            if accepted is not False:
                addresses[sid] = address
            return accepted

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid, data) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session = asked if conversations.is_issued_session(asked) else None
            session = session or conversations.new_session()
            sessions[sid] = session
            joined = sio.enter_room(sid, session)
            if inspect.isawaitable(joined):
                await joined
            await sio.emit("session_confirm", session, room=sid)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid) -> None:
            sessions.pop(sid, None)
            addresses.pop(sid, None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid, data) -> None:
            wait = await clients.refused(addresses.get(sid, "unknown"), self.name())
            session = sessions.get(sid)
            if session is None or not isinstance(data, dict):
                log.info("a message before its socket's session_request was ignored")
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = UserMessage(
                str(data.get("message") or ""),
                SessionOutput(sio, self.bot_message_evt),
                conversations.conversation_id(self.name(), session),
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            with clients.over_limit(wait):  # answered with a request to slow down, unread
                await on_new_message(message)

        return blueprint
