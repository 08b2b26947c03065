"""aiohttp app at http://localhost:8080/: the demo page in the hub's style with the
chat widget, in English or German (``?lang=de``), the widget asset (versioned,
cacheable, gzip), health endpoints, and the operator console (``/console/``,
bot/web/console.py). The demo page is served with a strict
Content-Security-Policy: scripts and styles only with the request's nonce, as on a site
that embeds the widget under a nonce-based policy."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import secrets
from dataclasses import dataclass
from pathlib import Path
from string import Template

import aiohttp
import yaml
from aiohttp import web
from sqlalchemy import text

from bot import db, logs, settings
from bot.web.console import Console

HERE = Path(__file__).resolve().parent
SOCKET_IO_CLIENT = settings.PROJECT_ROOT / "node_modules/socket.io-client/dist/socket.io.min.js"
TITLES = {"en": "Dresden/Leipzig digital hub", "de": "Digital Hub Dresden/Leipzig"}
PAGES = HERE / "pages"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def build_assets() -> tuple[str, dict[str, Asset]]:
    """The widget bundle (socket.io client + widget) and its stylesheet, and their version."""
    if not SOCKET_IO_CLIENT.exists():
        raise FileNotFoundError(f"{SOCKET_IO_CLIENT} is missing: run `npm ci` (make does)")
    script = SOCKET_IO_CLIENT.read_bytes() + b"\n" + (HERE / "widget/hub-widget.js").read_bytes()
    style = (HERE / "widget/hub-widget.css").read_bytes()
    version = hashlib.sha256(script + style).hexdigest()[:12]
    assets = {
        "hub-widget.js": Asset(script, gzip.compress(script, 9), "application/javascript"),
        "hub-widget.css": Asset(style, gzip.compress(style, 9), "text/css"),
    }
    return version, assets


def content_security_policy(rasa_url: str, nonce: str) -> str:
    websocket = rasa_url.replace("http://", "ws://").replace("https://", "wss://")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self' data:",
            f"connect-src 'self' {rasa_url} {websocket}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def create_app(rasa_url: str | None = None) -> web.Application:
    rasa_url = (rasa_url or settings.get().rasa_public_url).rstrip("/")
    version, assets = build_assets()
    page = Template((PAGES / "index.html").read_text(encoding="utf-8"))
    words = yaml.safe_load((PAGES / "text.yml").read_text(encoding="utf-8"))
    privacy_url = settings.get().privacy_notice_url

    async def index(request: web.Request) -> web.Response:
        lang = request.query.get("lang", "en")
        lang = lang if lang in TITLES else "en"
        nonce = secrets.token_urlsafe(18)
        body = page.substitute(
            {key: html.escape(value) for key, value in words[lang].items()},
            lang=lang,
            nonce=nonce,
            widget_title=html.escape(TITLES[lang]),
            rasa_url=html.escape(rasa_url),
            privacy_url=html.escape(privacy_url),
            demo_css=str(request.app.router["static"].url_for(filename="demo.css")),
            widget_url=f"/widget/{version}/hub-widget.js",
            embed_url=html.escape(f"{request.scheme}://{request.host}/widget/hub-widget.js"),
        )
        return web.Response(
            text=body,
            content_type="text/html",
            headers={
                "Content-Security-Policy": content_security_policy(rasa_url, nonce),
                "Cache-Control": "no-store",  # the nonce is new on every request
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
            },
        )

    def asset(name: str, immutable: bool):
        async def handler(request: web.Request) -> web.Response:
            item = assets[name]
            headers = {
                "ETag": item.etag,
                "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Access-Control-Allow-Origin": "*",  # embeddable on any site
            }
            if request.headers.get("If-None-Match") == item.etag:
                return web.Response(status=304, headers=headers)
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
                body = item.gzipped
            else:
                body = item.body
            headers["Vary"] = "Accept-Encoding"
            return web.Response(body=body, content_type=item.content_type, headers=headers)

        return handler

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "widget_version": version})

    async def ready(request: web.Request) -> web.Response:
        checks = {}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
                async with session.get(f"{rasa_url}/") as response:
                    checks["rasa"] = "ok" if response.status == 200 else f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            checks["rasa"] = f"unreachable ({type(error).__name__})"
        try:
            await asyncio.get_running_loop().run_in_executor(None, _database_answers)
            checks["database"] = "ok"
        except Exception as error:  # any failure means not ready; say which
            checks["database"] = f"unavailable ({type(error).__name__})"
        status = 200 if all(v == "ok" for v in checks.values()) else 503
        return web.json_response(checks, status=status)

    app = web.Application()
    console = Console()
    console.add_routes(app)
    app.on_startup.append(lambda _app: _in_thread(db.create_schema, console.factory))
    app.router.add_get("/", index)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/favicon.ico", lambda request: web.Response(status=204))
    app.router.add_static("/static/", HERE / "static", append_version=True, name="static")
    for name in assets:
        app.router.add_get(f"/widget/{name}", asset(name, immutable=False))
        app.router.add_get(f"/widget/{version}/{name}", asset(name, immutable=True))
    app["widget_version"], app["widget_assets"] = version, assets
    return app


async def _in_thread(function, *args) -> None:
    await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _database_answers() -> None:
    with db.engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def main() -> None:
    current = settings.get()
    port = current.web_port
    logs.start("web")
    web.run_app(
        create_app(),
        host=current.web_host,
        port=port,
        print=lambda *_: print(f"Web app on http://localhost:{port}/", flush=True),
    )


if __name__ == "__main__":
    main()
