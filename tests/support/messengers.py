"""A local stand-in for Telegram's Bot API and Meta's Send API: it speaks their HTTP
protocol (paths, JSON bodies, answers) and records what the assistant sends, so the
messenger tests run offline against the real Rasa server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict

from aiohttp import web

from harness.servers import free_port


class MessengerPlatforms:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.telegram_sent: dict[int, list[dict]] = defaultdict(list)  # chat id -> bodies
        self.telegram_calls: list[tuple[str, dict]] = []
        self.facebook_sent: dict[str, list[dict]] = defaultdict(list)  # recipient -> bodies
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- the platforms' side ---------------------------------------------------------

    async def _telegram(self, request: web.Request) -> web.Response:
        body = await request.json()
        method = request.match_info["method"]
        with self._lock:
            self.telegram_calls.append((method, body))
            if method == "sendMessage":
                self.telegram_sent[body["chat_id"]].append(body)
        result = {"message_id": len(self.telegram_calls), "chat": {"id": body.get("chat_id")}}
        return web.json_response(
            {"ok": True, "result": result if method != "answerCallbackQuery" else True}
        )

    async def _facebook(self, request: web.Request) -> web.Response:
        if not request.query.get("access_token"):
            return web.json_response({"error": {"message": "no token"}}, status=400)
        body = await request.json()
        with self._lock:
            self.facebook_sent[body["recipient"]["id"]].append(body)
        return web.json_response({"recipient_id": body["recipient"]["id"], "message_id": "m"})

    def start(self) -> None:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._ready.wait(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._telegram)
        app.router.add_post("/v19.0/me/messages", self._facebook)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)

    # --- what the tests read ---------------------------------------------------------

    def telegram_texts(self, chat_id: int) -> list[str]:
        with self._lock:
            return [b["text"] for b in self.telegram_sent[chat_id]]

    def facebook_texts(self, recipient: str) -> list[str]:
        with self._lock:
            return [b["message"]["text"] for b in self.facebook_sent[recipient]]

    def env(self, telegram_secret: str, facebook_secret: str) -> dict[str, str]:
        return {
            "TELEGRAM_ACCESS_TOKEN": "123456:TEST-TOKEN",
            "TELEGRAM_BOT_NAME": "hub_test_bot",
            "TELEGRAM_WEBHOOK_SECRET": telegram_secret,
            "TELEGRAM_API_BASE_URL": self.url,
            "FACEBOOK_VERIFY_TOKEN": "verify-me",
            "FACEBOOK_APP_SECRET": facebook_secret,
            "FACEBOOK_PAGE_ACCESS_TOKEN": "PAGE-TOKEN",
            "FACEBOOK_API_BASE_URL": f"{self.url}/v19.0",
        }


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wait_until(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def telegram_update(update_id: int, chat_id: int, text: str | None = None, **extra) -> bytes:
    """A text message update as Telegram sends it (fields as in the Bot API docs)."""
    message = {
        "message_id": update_id,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Anna", "language_code": "en"},
        "chat": {"id": chat_id, "first_name": "Anna", "type": "private"},
        "date": int(time.time()),
        **({"text": text} if text is not None else {}),
        **extra,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()
