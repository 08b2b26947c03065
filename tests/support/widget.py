"""The widget's side of socket.io, without a browser: what it sends and hears."""

from __future__ import annotations

import asyncio

import aiohttp
import socketio


class Widget:
    """The widget's side of socket.io, from a source address of the test's choosing."""

    def __init__(self, url: str, session: aiohttp.ClientSession):
        self.url, self.answers = url, []
        self.client = socketio.AsyncClient(http_session=session)
        self.client.on("bot_uttered", lambda message: self.answers.append(message.get("text")))

    async def connect(self) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", confirmed.set_result)
        await self.client.connect(self.url, transports=["polling"])
        await self.client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed, 10)

    async def is_accepted(self) -> bool:
        """Connects, or hears the server refuse: its ``connect_error`` arrives at once, but
        the client would then wait out a long poll (30 s) before raising, so it is not
        waited for."""
        refused = asyncio.get_running_loop().create_future()
        self.client.on("connect_error", lambda data: refused.done() or refused.set_result(data))
        connecting = asyncio.create_task(self.client.connect(self.url, transports=["polling"]))
        await asyncio.wait([connecting, refused], return_when=asyncio.FIRST_COMPLETED)
        if refused.done():
            connecting.cancel()
            return False
        connecting.result()
        return True

    async def says(self, text: str) -> str:
        before = len(self.answers)
        await self.client.emit("user_uttered", {"message": text})
        for _ in range(100):
            await asyncio.sleep(0.1)
            if len(self.answers) > before:
                await asyncio.sleep(0.3)
                break
        return " ".join(self.answers[before:])

    async def close(self) -> None:
        await self.client.eio.disconnect(abort=True)
