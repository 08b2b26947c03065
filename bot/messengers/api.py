"""A platform's HTTP API as the messengers call it: JSON posted over one aiohttp session,
made on the event loop that uses it, so no call blocks the Rasa server."""

from __future__ import annotations

import json

import aiohttp


class JsonApi:
    timeout = aiohttp.ClientTimeout(total=15)

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: dict, **request) -> tuple[int, dict]:
        """The status and the JSON answer of one POST (``request``: headers, params)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"Content-Type": "application/json", **request.pop("headers", {})}
        async with self._session.post(
            url, data=json.dumps(body), headers=headers, **request
        ) as response:
            return response.status, await response.json(content_type=None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
