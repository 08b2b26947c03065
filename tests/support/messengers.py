"""A local stand-in for Telegram's Bot API, Meta's Send API and WhatsApp's Cloud API: it
speaks their HTTP protocol (paths, JSON bodies, answers) and records what the assistant
sends, so the messenger tests run offline against the real Rasa server."""

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

WHATSAPP_TOKEN = "EAAG-TEST-TOKEN"
WHATSAPP_NUMBER_ID = "106540352242922"


class MessengerPlatforms:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.telegram_sent: dict[int, list[dict]] = defaultdict(list)  # chat id -> bodies
        self.telegram_calls: list[tuple[str, dict]] = []
        self.facebook_sent: dict[str, list[dict]] = defaultdict(list)  # recipient -> bodies
        self.whatsapp_sent: dict[str, list[dict]] = defaultdict(list)  # wa_id -> bodies
        self.whatsapp_answered_at: list[float] = []  # when each send was answered
        self.whatsapp_delay = 0.0  # seconds the Cloud API takes to answer a send
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

    async def _whatsapp(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {WHATSAPP_TOKEN}":
            error = {
                "message": "Invalid OAuth access token.",
                "type": "OAuthException",
                "code": 190,
            }
            return web.json_response({"error": error}, status=401)
        if request.match_info["phone_number_id"] != WHATSAPP_NUMBER_ID:
            return web.json_response({"error": {"message": "Unknown path", "code": 100}}, 400)
        body = await request.json()
        await asyncio.sleep(self.whatsapp_delay)
        with self._lock:
            self.whatsapp_sent[body["to"]].append(body)
            self.whatsapp_answered_at.append(time.monotonic())
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": f"wamid.sent{len(self.whatsapp_answered_at)}"}],
            }
        )

    def start(self) -> None:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._ready.wait(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._telegram)
        app.router.add_post("/v19.0/me/messages", self._facebook)
        app.router.add_post("/v21.0/{phone_number_id}/messages", self._whatsapp)
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

    def whatsapp_texts(self, wa_id: str) -> list[str]:
        """The text of each message sent to ``wa_id``: a text's body, an interactive
        message's body."""
        with self._lock:
            sent = list(self.whatsapp_sent[wa_id])
        return [
            body["text"]["body"] if body["type"] == "text" else body["interactive"]["body"]["text"]
            for body in sent
            if body["type"] in ("text", "interactive")
        ]

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
            "WHATSAPP_ACCESS_TOKEN": WHATSAPP_TOKEN,
            "WHATSAPP_APP_SECRET": facebook_secret,  # one Meta app for both
            "WHATSAPP_VERIFY_TOKEN": "whatsapp-verify-me",
            "WHATSAPP_PHONE_NUMBER_ID": WHATSAPP_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": f"{self.url}/v21.0",
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


def whatsapp_call(*messages: dict, statuses: list | None = None, number_id: str = "") -> bytes:
    """A Cloud API webhook call as Meta sends it: one entry, one ``messages`` change."""
    value: dict = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "4915123456789",
            "phone_number_id": number_id or WHATSAPP_NUMBER_ID,
        },
    }
    if messages:
        senders = {m["from"] for m in messages}
        value["contacts"] = [{"profile": {"name": "Anna"}, "wa_id": s} for s in senders]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    entry = {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def whatsapp_message(sender: str, kind: str = "text", **content) -> dict:
    """One message of a call; ``kind`` and its object as the Cloud API names them."""
    message = {
        "from": sender,
        "id": f"wamid.HBgL{time.time_ns()}",
        "timestamp": str(int(time.time())),
        "type": kind,
    }
    message[kind] = content
    return message
