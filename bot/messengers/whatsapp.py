"""WhatsApp (Meta's Cloud API) as the assistant meets it, without Rasa: what a webhook
call holds, and what the assistant sends back within WhatsApp's limits. Calls are
signed as Messenger's are (:func:`bot.messengers.facebook.signature_is_valid`). The Rasa
channel that serves the webhook is ``nlu/channels/whatsapp.py``.

WhatsApp lets a business answer a person for 24 hours after their last message (the
customer-service window); anything later needs a paid, pre-approved template. The
assistant only ever answers, so it stays inside the window; the handoff's
acknowledgement goes by e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.messengers.api import JsonApi
from bot.messengers.updates import NON_TEXT, UnknownUpdate

BUTTONS_LIMIT = 3  # reply buttons in one interactive message
BUTTON_TITLE_LIMIT = 20
ROWS_LIMIT = 10  # rows of a list message
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200  # a reply button's id may have 256; a payload must fit both
LIST_BUTTON_LIMIT = 20
INTERACTIVE_BODY_LIMIT = 1024
TEXT_LIMIT = 4096
ID_CHARS = 200  # a wa_id is a phone number; a wamid about 60 characters
IGNORED = {"reaction", "system", "request_welcome"}  # no answer due: a 👍, a number change


@dataclass(frozen=True)
class Incoming:
    message_id: str  # the wamid a redelivery repeats
    sender_id: str  # the visitor's WhatsApp id (their number)
    text: str


def read_messages(payload: object, phone_number_id: str) -> list[Incoming]:
    """The visitor messages to ``phone_number_id`` in one webhook call, in order; raises
    :class:`UnknownUpdate` for what is not a WhatsApp Business Account call. Total: any
    JSON value gives one or the other. Status callbacks (sent, delivered, read),
    reactions, other fields and other numbers of the same account are left out."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise UnknownUpdate("not a WhatsApp Business Account call")
    found = []
    for entry in _objects(payload.get("entry"), "entry"):
        for change in _objects(entry.get("changes"), "changes"):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict) or metadata.get("phone_number_id") != phone_number_id:
                continue  # another number of the same business account
            for message in _objects(value.get("messages"), "messages"):
                if incoming := _read_message(message):
                    found.append(incoming)
    return found


def _objects(value: object, name: str) -> list[dict]:
    if value is None:
        return []  # a call with only statuses has no messages
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UnknownUpdate(f"{name!r} is not a list of objects")
    return value


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= ID_CHARS else None


def _part(message: dict, name: str) -> dict:
    part = message.get(name)
    return part if isinstance(part, dict) else {}


def _read_message(message: dict) -> Incoming | None:
    sender, message_id = _id(message.get("from")), _id(message.get("id"))
    if sender is None or message_id is None:
        raise UnknownUpdate("a message without a sender or an id")
    kind = message.get("type")
    if kind in IGNORED:
        return None
    if kind == "text":
        text = _part(message, "text").get("body")
    elif kind == "interactive":  # a reply button or a list row the visitor chose
        interactive = _part(message, "interactive")
        text = _part(interactive, str(interactive.get("type"))).get("id")
    elif kind == "button":  # a template's quick reply
        text = _part(message, "button").get("payload")
    else:  # image, audio (voice notes), video, document, sticker, location, contacts, ...
        text = NON_TEXT
    return Incoming(message_id, sender, text if isinstance(text, str) and text else NON_TEXT)


# --- what the assistant sends ------------------------------------------------------------


def _shortened(title: str, limit: int) -> str:
    """A choice's name within ``limit``: the part before a colon ("Dresden: smart
    systems, basic research" is "Dresden"), else whole words and an ellipsis."""
    if len(title) <= limit:
        return title
    head = title.split(":", 1)[0].strip()
    if 0 < len(head) <= limit:
        return head
    cut = title[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return (cut or title[: limit - 1]) + "…"


def _base(to: str, kind: str, content: dict) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def text_bodies(to: str, text: str) -> list[dict]:
    """Text messages, split at paragraphs (or hard) to fit WhatsApp's 4,096 characters."""
    chunks, rest = [], text.strip()
    while len(rest) > TEXT_LIMIT:
        cut = rest.rfind("\n", 0, TEXT_LIMIT)
        cut = cut if cut > 0 else TEXT_LIMIT
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return [_base(to, "text", {"body": chunk, "preview_url": False}) for chunk in chunks if chunk]


def _split_body(text: str) -> tuple[str, str]:
    """(what goes ahead as text, the interactive message's body): the body holds at most
    1,024 characters, so a longer text goes ahead but for its last line."""
    text = text.strip() or "…"
    if len(text) <= INTERACTIVE_BODY_LIMIT:
        return "", text
    ahead, _, last = text.rpartition("\n")
    if ahead and 0 < len(last) <= INTERACTIVE_BODY_LIMIT:
        return ahead, last
    return text, "…"


def reply_bodies(to: str, text: str, buttons: list[dict], list_button: str) -> list[dict]:
    """The messages for a text with choices: up to three become reply buttons (names
    shortened to 20 characters, the full ones listed in the text when shortened); more
    become a list message (up to ten rows, the full name as the row's description),
    opened by ``list_button``. A choice whose payload WhatsApp cannot carry is left out."""
    choices = [b for b in buttons if 0 < len(str(b.get("payload", ""))) <= ROW_ID_LIMIT]
    if not choices:
        return text_bodies(to, text)
    if len(choices) <= BUTTONS_LIMIT:
        titles = [_shortened(str(b["title"]), BUTTON_TITLE_LIMIT) for b in choices]
        if titles != [b["title"] for b in choices]:
            text = text.rstrip() + "\n\n" + "\n".join(f"• {b['title']}" for b in choices)
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": b["payload"], "title": title}}
                for b, title in zip(choices, titles, strict=True)
            ]
        }
        kind = "button"
    else:
        rows = []
        for b in choices[:ROWS_LIMIT]:
            title = str(b["title"])
            row = {"id": b["payload"], "title": _shortened(title, ROW_TITLE_LIMIT)}
            if row["title"] != title:
                row["description"] = _shortened(title, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        action = {"button": list_button[:LIST_BUTTON_LIMIT], "sections": [{"rows": rows}]}
        kind = "list"
    ahead, body = _split_body(text)
    interactive = {"type": kind, "body": {"text": body}, "action": action}
    return [*(text_bodies(to, ahead) if ahead else []), _base(to, "interactive", interactive)]


def image_body(to: str, url: str) -> dict:
    return _base(to, "image", {"link": url})


class CloudApi(JsonApi):
    """The Cloud API's messages endpoint of one business phone number."""

    def __init__(self, access_token: str, phone_number_id: str, base_url: str):
        super().__init__()
        self._authorization = {"Authorization": f"Bearer {access_token}"}
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"

    async def send(self, body: dict) -> dict:
        status, result = await self.post(self._url, body, headers=self._authorization)
        if status != 200:
            raise RuntimeError(f"WhatsApp send failed: {status} {result}")
        return result
