"""The operator console at ``/console/``, in German and English, for signed-in operators
only: enquiries (list, one in full, resend, export, erase), the gaps (what the assistant
could not answer, grouped, to be marked as training examples), a routing dry run, an
overview of the weeks, and the audit log.

Without a session every console URL redirects to the sign-in page. Every form carries
a CSRF token (the session's; the sign-in form's in a cookie of its own), sign-in
attempts are limited per address and per name, and every action is written to the
audit log. The database is read in an executor, never on the event loop. Pages allow
scripts and styles only with their nonce, and are never cached.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import secrets
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import aiohttp
import jinja2
import yaml
from aiohttp import web

from bot import db, settings
from bot.console import accounts, audit, gaps, sessions, tallies
from bot.enquiries import store
from bot.handoff.render import channel_name, local_time, turns
from bot.knowledge.store import KnowledgeBase
from bot.ratelimit import SenderLimits, client_address, networks, parse_address

HERE = Path(__file__).resolve().parent / "console"
NODE = settings.PROJECT_ROOT / "node_modules"
ASSETS = {
    "console.css": (HERE / "static/console.css", "text/css"),
    "console.js": (HERE / "static/console.js", "application/javascript"),
    "uPlot.min.css": (NODE / "uplot/dist/uPlot.min.css", "text/css"),
    "uPlot.iife.min.js": (NODE / "uplot/dist/uPlot.iife.min.js", "application/javascript"),
}
COOKIE = "hub_console"
SIGN_IN_COOKIE = "hub_console_sign_in"  # the sign-in form's CSRF token (double submit)
LANGUAGE_COOKIE = "hub_console_lang"
LANGUAGES = ("en", "de")
NOTICES = {"resent": "resent", "erased": "erased", "marked": "marked"}


def _policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


class Console:
    def __init__(self, factory=None):
        self.factory = factory or db.session_factory()
        self.pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
        )
        self.words = yaml.safe_load((HERE / "text.yml").read_text(encoding="utf-8"))
        per_minute = settings.get().console_sign_ins_per_minute  # per address, per name
        self.attempts = SenderLimits(burst=per_minute, per_minute=per_minute)
        self.assets = {name: (path.read_bytes(), kind) for name, (path, kind) in ASSETS.items()}
        self.trusted = networks(settings.get().trusted_proxies)
        self.knowledge = KnowledgeBase(self.factory)

    # --- plumbing -----------------------------------------------------------------------

    async def _db(self, function, *args, **kwargs):
        """``function(factory, ...)`` in a thread: the database never blocks the loop."""
        return await self._in_thread(function, self.factory, *args, **kwargs)

    @staticmethod
    async def _in_thread(function, *args, **kwargs):
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, call)

    def _language(self, request: web.Request) -> str:
        for asked in (request.query.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
            if asked in LANGUAGES:
                return asked
        accepted = request.headers.get("Accept-Language", "")
        return "de" if accepted.lower().startswith("de") else "en"

    def _page(self, request, template: str, status: int = 200, **values) -> web.Response:
        language = self._language(request)
        nonce = secrets.token_urlsafe(18)
        session = request.get("console_session")
        t = self.words[language]
        notice = request.query.get("notice")
        if notice in NOTICES:
            values.setdefault("notice", t[NOTICES[notice]].format(**request.query))
        body = self.pages.get_template(template).render(
            t=t,
            lang=language,
            nonce=nonce,
            operator=session.operator if session else None,
            csrf=values.pop("csrf", None) or (session.csrf_token if session else ""),
            **values,
        )
        response = web.Response(text=body, status=status, content_type="text/html")
        response.headers.update(
            {
                "Content-Security-Policy": _policy(nonce),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            }
        )
        if request.query.get("lang") in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, language, path="/console/", samesite="Strict", httponly=True
            )
        return response

    def guarded(self, handler, write: bool = False):
        """Only for a signed-in operator (else to the sign-in page); a form only with the
        session's CSRF token."""

        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            session = await self._db(sessions.current, request.cookies.get(COOKIE))
            if session is None:
                wanted = quote(request.path_qs, safe="/?=&")
                raise web.HTTPSeeOther(f"/console/signin?next={wanted}")
            request["console_session"] = session
            if write:
                form = await request.post()
                request["form"] = form
                if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf_token):
                    raise web.HTTPForbidden(text="CSRF token missing or wrong")
            return await handler(request)

        return checked

    async def _audit(self, request, action: str, target: str = "") -> None:
        await self._db(audit.write, request["console_session"].operator, action, target)

    def _t(self, request) -> dict:
        return self.words[self._language(request)]

    # --- signing in and out -------------------------------------------------------------

    async def sign_in_form(self, request: web.Request, error: str = "", status: int = 200):
        token = secrets.token_urlsafe(24)
        next_path = request.query.get("next") or (request.get("form") or {}).get("next", "")
        page = self._page(
            request, "signin.html", status, csrf=token, error=error, next=next_path or ""
        )
        page.set_cookie(SIGN_IN_COOKIE, token, path="/console/", samesite="Strict", httponly=True)
        return page

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        request["form"] = form
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        t = self._t(request)
        name, password = str(form.get("name", "")).strip().lower(), str(form.get("password", ""))
        address = client_address(
            request.remote, request.headers.getall("X-Forwarded-For", []), self.trusted
        )
        if self.attempts.allow(f"address:{address}") or self.attempts.allow(f"name:{name}"):
            return await self.sign_in_form(request, t["too_many"], status=429)
        operator = await self._db(accounts.signed_in, name, password)
        if operator is None:
            await self._db(audit.write, name[:64] or "-", "sign-in refused", address)
            return await self.sign_in_form(request, t["wrong_sign_in"], status=401)
        cookie = await self._db(sessions.start, operator)
        await self._db(audit.write, operator.name, "sign-in", address)
        next_path = str(form.get("next", ""))
        target = next_path if next_path.startswith("/console/") else "/console/"
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            COOKIE,
            cookie,
            path="/console/",
            httponly=True,
            samesite="Strict",
            secure=self._over_https(request),
            max_age=int(sessions.LIFETIME.total_seconds()),
        )
        response.del_cookie(SIGN_IN_COOKIE, path="/console/")
        raise response

    def _over_https(self, request: web.Request) -> bool:
        """HTTPS here, or at a trusted proxy that says so (the front door, TLS before it)."""
        if request.secure:
            return True
        peer = parse_address(request.remote)
        trusted = peer is not None and any(peer in network for network in self.trusted)
        return trusted and request.headers.get("X-Forwarded-Proto", "").lower() == "https"

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        await self._audit(request, "sign-out")
        await self._db(sessions.end, request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/console/signin")
        response.del_cookie(COOKIE, path="/console/")
        raise response

    # --- enquiries ----------------------------------------------------------------------

    def _hub_names(self, language: str) -> dict[str, str]:
        """Blocking: the knowledge base's hub names in ``language``, by key."""
        facts = self.knowledge.facts().in_language(language)
        return {hub.key: hub.name for hub in facts.hubs}

    def _enquiry_view(self, row, language: str, hubs: dict, full: bool = False) -> dict:
        view = {
            "reference": row.reference,
            "date": local_time(row.created_at),
            "hub": hubs.get(row.hub, row.hub),
            "contact": row.contact_name,
            "topic": row.topic,
            "status": store.status_of(row),
            "language": row.language,
            "channel": channel_name(row.channel, language),
        }
        if full:
            view.update(
                reason=row.routing_reason,
                visitor=row.visitor_name,
                email=row.visitor_email,
                organisation=row.visitor_organisation or "–",
                consent=f"{local_time(row.consent_at)} ({row.consent_notice_version})",
                text=row.text,
                mails=[
                    f"{m.kind} → {m.recipient}: {m.status}"
                    + (f" ({m.last_error})" if m.status == "failed" and m.last_error else "")
                    for m in row.outbox
                ],
                transcript=turns(json.loads(row.transcript or "[]"), language),
            )
        return view

    async def _enquiry(self, request: web.Request):
        found = await self._db(store.enquiries, reference=request.match_info["reference"])
        if not found:
            raise web.HTTPNotFound(text=self._t(request)["not_found"])
        return found[0]

    async def enquiries(self, request: web.Request) -> web.Response:
        rows = await self._db(store.enquiries)
        language = self._language(request)
        hubs = await self._in_thread(self._hub_names, language)
        views = [self._enquiry_view(row, language, hubs) for row in reversed(rows)]
        return self._page(request, "enquiries.html", page="enquiries", rows=views)

    async def enquiry(self, request: web.Request) -> web.Response:
        row = await self._enquiry(request)
        await self._audit(request, "view enquiry", row.reference)
        language = self._language(request)
        hubs = await self._in_thread(self._hub_names, language)
        view = self._enquiry_view(row, language, hubs, full=True)
        return self._page(request, "enquiry.html", page="enquiries", e=view)

    async def resend(self, request: web.Request) -> web.StreamResponse:
        row = await self._enquiry(request)
        queued = await self._in_thread(store.resend, row.reference, self.factory)
        await self._audit(request, "resend", row.reference)
        raise web.HTTPSeeOther(f"/console/enquiries/{row.reference}?notice=resent&count={queued}")

    async def export(self, request: web.Request) -> web.Response:
        row = await self._enquiry(request)
        await self._audit(request, "export", row.reference)
        return web.json_response(
            store.export(row),
            dumps=lambda value: json.dumps(value, indent=2, ensure_ascii=False),
            headers={
                "Content-Disposition": f'attachment; filename="{row.reference}.json"',
                "Cache-Control": "no-store",
            },
        )

    async def erase_question(self, request: web.Request) -> web.Response:
        row = await self._enquiry(request)
        return self._page(request, "erase.html", page="enquiries", reference=row.reference)

    async def erase(self, request: web.Request) -> web.StreamResponse:
        row = await self._enquiry(request)
        await self._in_thread(store.erase, row.reference, self.factory)
        await self._audit(request, "erase", row.reference)
        raise web.HTTPSeeOther(f"/console/enquiries?notice=erased&reference={row.reference}")

    # --- gaps ---------------------------------------------------------------------------

    async def gaps(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind") or None
        language = request.query.get("language") or None
        groups = await self._db(gaps.groups, kind=kind, language=language)
        return self._page(
            request,
            "gaps.html",
            page="gaps",
            groups=groups,
            kinds=gaps.KINDS,
            chosen_kind=kind,
            chosen_language=language,
            intents=gaps.known_intents(),
        )

    async def mark(self, request: web.Request) -> web.StreamResponse:
        form = request["form"]
        group, belongs_to = str(form.get("group", "")), str(form.get("belongs_to", ""))
        try:
            await self._db(gaps.mark, group, belongs_to, request["console_session"].operator)
        except ValueError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        await self._audit(request, "mark gaps", f"{belongs_to}: {group}")
        raise web.HTTPSeeOther(f"/console/gaps?notice=marked&belongs_to={quote(belongs_to)}")

    async def export_gaps(self, request: web.Request) -> web.Response:
        examples = await self._db(gaps.training_examples)
        await self._audit(request, "export training examples")
        return web.Response(
            text=examples,
            content_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="marked-gaps.yml"'},
        )

    async def conversation(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["conversation"]
        language = self._language(request)
        found = await self._db(gaps.of_conversation, conversation_id)
        rows = await self._db(store.enquiries)
        hubs = await self._in_thread(self._hub_names, language)
        enquiries = [
            self._enquiry_view(row, language, hubs, full=True)
            for row in rows
            if row.conversation_id == conversation_id
        ]
        if not found and not enquiries:
            raise web.HTTPNotFound(text=self._t(request)["not_found"])
        await self._audit(request, "view conversation", conversation_id)
        lines = [(local_time(g.at), g.kind, g.text) for g in found]
        return self._page(
            request,
            "conversation.html",
            page="gaps",
            conversation=conversation_id,
            gaps=lines,
            enquiries=enquiries,
        )

    # --- routing dry run ----------------------------------------------------------------

    async def dry_run_form(self, request: web.Request) -> web.Response:
        return self._page(request, "dry_run.html", page="dry_run", text="", result=None)

    async def dry_run(self, request: web.Request) -> web.Response:
        text = str(request["form"].get("text", ""))[: settings.MESSAGE_MAX_CHARS]
        await self._audit(request, "dry run")
        result, problem = None, None
        current = settings.get()
        url = f"http://{current.rasa_servers[0]}/webhooks/ops/dry-run"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
                async with client.post(
                    url,
                    json={"text": text},
                    headers={"Authorization": f"Bearer {current.ops_token or ''}"},
                ) as answer:
                    body = await answer.json(content_type=None)
                    if answer.status == 200:
                        result = body
                    else:
                        problem = f"HTTP {answer.status}: {body.get('error', '')}"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            problem = type(error).__name__
        return self._page(
            request, "dry_run.html", page="dry_run", text=text, result=result, problem=problem
        )

    # --- overview and audit log ---------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        t = self._t(request)
        hubs = await self._in_thread(self._hub_names, self._language(request))
        table = await self._db(tallies.weekly)
        rows = await self._db(store.enquiries)
        weeks = sorted(set(table) | {tallies.week_of(row.created_at) for row in rows})
        conversations = [
            {
                "label": f"{t['conversations']} ({language})",
                "values": [
                    table.get(w, {}).get(language, {}).get("conversations", 0) for w in weeks
                ],
            }
            for language in LANGUAGES
        ]
        per_week = Counter(tallies.week_of(row.created_at) for row in rows)
        conversations.append({"label": t["enquiries"], "values": [per_week[w] for w in weeks]})
        outcomes = []
        for kind in ("answered", *gaps.KINDS):
            label = t["answered"] if kind == "answered" else t["kinds"][kind]
            outcomes.append(
                {"label": f"{label} %", "values": [_share(table, w, kind) for w in weeks]}
            )
        lines = [
            {
                "week": week,
                "language": language,
                "conversations": counts.get("conversations", 0),
                "messages": counts.get("messages", 0),
                "answered_share": f"{_share({week: {language: counts}}, week, 'answered')} %",
                "shares": {
                    kind: f"{_share({week: {language: counts}}, week, kind)} %"
                    for kind in gaps.KINDS
                },
            }
            for week in reversed(weeks)
            for language, counts in sorted(table.get(week, {}).items())
        ]
        return self._page(
            request,
            "overview.html",
            page="overview",
            weeks=lines,
            kinds=gaps.KINDS,
            chart_data={"weeks": weeks, "conversations": conversations, "outcomes": outcomes},
            by_hub=Counter(hubs.get(row.hub, row.hub) for row in rows).most_common(),
            by_topic=Counter(row.topic for row in rows).most_common(),
        )

    async def audit_log(self, request: web.Request) -> web.Response:
        rows = await self._db(audit.recent)
        shown = [
            {"at": local_time(r.at), "operator": r.operator, "action": r.action, "target": r.target}
            for r in rows
        ]
        return self._page(request, "audit.html", page="audit", rows=shown)

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.assets:
            raise web.HTTPNotFound()
        body, kind = self.assets[name]
        return web.Response(
            body=body,
            content_type=kind,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def anything_else(self, request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text=self._t(request)["not_found"])

    def add_routes(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        guarded = self.guarded
        get("/console", _to_console)
        get("/console/signin", self.sign_in_form)
        post("/console/signin", self.sign_in)
        get("/console/static/{name}", self.asset)
        post("/console/signout", guarded(self.sign_out, write=True))
        get("/console/", guarded(self.overview))
        get("/console/enquiries", guarded(self.enquiries))
        get("/console/enquiries/{reference}", guarded(self.enquiry))
        post("/console/enquiries/{reference}/resend", guarded(self.resend, write=True))
        get("/console/enquiries/{reference}/export", guarded(self.export))
        get("/console/enquiries/{reference}/erase", guarded(self.erase_question))
        post("/console/enquiries/{reference}/erase", guarded(self.erase, write=True))
        get("/console/gaps", guarded(self.gaps))
        post("/console/gaps/mark", guarded(self.mark, write=True))
        get("/console/gaps/export", guarded(self.export_gaps))
        get("/console/conversations/{conversation}", guarded(self.conversation))
        get("/console/dry-run", guarded(self.dry_run_form))
        post("/console/dry-run", guarded(self.dry_run, write=True))
        get("/console/audit", guarded(self.audit_log))
        get("/console/{anything:.*}", guarded(self.anything_else))
        post("/console/{anything:.*}", guarded(self.anything_else, write=True))


async def _to_console(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


def _share(table: dict, week: str, kind: str) -> int:
    """Percent of the week's messages (all languages in ``table``) of this outcome;
    ``answered`` is what no gap kind took."""
    languages = table.get(week, {}).values()
    messages = sum(c.get("messages", 0) for c in languages)
    if not messages:
        return 0
    if kind == "answered":
        missed = sum(c.get(k, 0) for c in languages for k in gaps.KINDS)
        return round(100 * (messages - missed) / messages)
    return round(100 * sum(c.get(kind, 0) for c in languages) / messages)
