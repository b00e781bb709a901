"""The playground's web server: the candidate's page, its tokens and its reports.

``python -m agent playground`` serves, from this process:

* ``GET /``: the page (``web/``: plain ES modules on ``livekit-client`` from npm, pinned in
  ``web/package-lock.json`` and served from ``web/node_modules``, never from a CDN);
* ``POST /api/interviews``: the form, checked as ``python -m agent token`` checks metadata
  (bad input is answered here, never with a token); answers a short-lived token for one
  new room whose configuration dispatches the agent, and a ticket for that room;
* ``POST /api/rejoin``: the ticket back (a reloaded page): a token for the same room and
  identity, so the page rejoins the interview in progress;
* ``POST /api/continue``: the ticket back after the interviewer's job was lost: the agent is
  dispatched to the room again, and the worker continues the same interview;
* ``GET /report/{interview_id}``: the HTML report of an interview this server started, from
  the store the worker saves to (the local store or Supabase), and its recordings.

Safe by default: bound to 127.0.0.1 unless told otherwise; the API refuses a request
whose ``Host`` is not this server (DNS rebinding) or whose ``Origin`` is another site, and
takes JSON only (a cross-site form cannot post it). Served on another address it also
asks for an access code (``PLAYGROUND_ACCESS_CODE``), kept in an HttpOnly cookie, because
the token endpoint spends the operator's keys. The page never names the user: in
Supabase mode the user id is the one given on the command line.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from livekit import api

from persistence import InterviewStore, StoreError
from stages.metadata import LEVELS, LIMITS, MetadataError, parse_metadata

from .config import Settings
from .reports import audio_links, find_saved, render_report
from .tokens import make_token

logger = logging.getLogger("interview.playground")

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
CLIENT_SDK = Path("node_modules") / "livekit-client" / "dist" / "livekit-client.esm.mjs"
TOKEN_TTL = timedelta(minutes=10)
"""A token only opens the door: the connection it starts lasts past it."""
TICKET_TTL_S = 4 * 3600.0
"""How long a page may come back to its interview (a reload, a lost interviewer)."""
MAX_BODY_BYTES = 200_000
COOKIE = "playground_access"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' {livekit}; frame-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src 'self' https:; "
    "base-uri 'none'; frame-ancestors 'self'"
)
FORM_FIELDS = ("candidate_name", "job_role", "experience_level", "resume_text", "job_description")
PLAYGROUND: web.AppKey[Playground] = web.AppKey("playground")
STATIC = {
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/style.css": ("style.css", "text/css"),
    "/vendor/livekit-client.esm.mjs": (str(CLIENT_SDK), "text/javascript"),
}


class FormError(ValueError):
    """Input the page must correct: ``field`` names the form field (or ``None``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class PlaygroundConfig:
    """What the web server serves with. ``livekit_url`` is the server as the candidate's
    browser reaches it."""

    livekit_url: str
    api_key: str
    api_secret: str
    agent_name: str
    user_id: str
    """Whose interviews (and, with Supabase, keys) these are: from the command line, or
    the local practice user's id; never from the page."""
    access_code: str | None = None
    """Required from the page when set (served on an address other than loopback)."""
    web_dir: Path = WEB_DIR
    token_ttl: timedelta = TOKEN_TTL

    def __repr__(self) -> str:
        return f"PlaygroundConfig(livekit_url={self.livekit_url!r}, agent={self.agent_name!r})"


@dataclass(slots=True)
class Started:
    """One interview room this server made a token for."""

    room: str
    identity: str
    ticket: str
    metadata: str
    created: float = field(default_factory=time.monotonic)
    interview_ids: set[str] = field(default_factory=set)


def form_metadata(form: Any, *, user_id: str) -> str:
    """The dispatch metadata for a filled-in form, checked as the worker will check it;
    anything the worker would drop, default or cut is a :class:`FormError` instead."""
    if not isinstance(form, dict):
        raise FormError("the form must be a JSON object")
    if form.get("consent") is not True:
        raise FormError("please agree that the interview is recorded to start it", "consent")
    data: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = form.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise FormError(f"{name} must be text", name)
        data[name] = value.strip()
    for name, missing in (("candidate_name", "your name"), ("job_role", "a job title")):
        if not data.get(name):
            raise FormError(f"please enter {missing}", name)
    for name, limit in LIMITS.items():
        if len(data.get(name, "")) > limit:
            raise FormError(f"{name} is longer than {limit} characters", name)
    level = data.get("experience_level")
    if level is not None and level not in LEVELS:
        raise FormError(f"level must be one of {', '.join(LEVELS)}", "experience_level")
    record_audio = form.get("record_audio", False)
    if not isinstance(record_audio, bool):
        raise FormError("record_audio must be true or false", "record_audio")
    if record_audio:
        data["record_audio"] = True
    data["user_id"] = user_id
    text = json.dumps(data)
    try:
        md = parse_metadata(text, require_user=True)
    except MetadataError as e:
        raise FormError(str(e)) from None
    if md.warnings:
        raise FormError("; ".join(md.warnings))
    return text


class Playground:
    """The web server's state: the rooms it started, and how to reach the store."""

    def __init__(
        self,
        config: PlaygroundConfig,
        settings: Settings,
        store_factory: Callable[[], InterviewStore],
    ) -> None:
        self.config = config
        self.settings = settings
        self._store_factory = store_factory
        self.rooms: dict[str, Started] = {}

    # ---------------------------------------------------------------- checks

    def _same_site(self, request: web.Request) -> None:
        """Only this server's own page may call it. On loopback its ``Host`` must be a
        loopback name (a rebound DNS name is refused); served beyond loopback the access
        code guards it instead. A browser's ``Origin``, when sent, must be the page's."""
        host = request.host
        if self.config.access_code is None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_NAMES:
                raise web.HTTPForbidden(text="unknown host")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{host}":
            raise web.HTTPForbidden(text="cross-site request")

    def _allowed(self, request: web.Request) -> None:
        code = self.config.access_code
        if code is None:
            return
        given = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(given.encode(), _cookie_for(code).encode()):
            raise web.HTTPUnauthorized(text="access code required")

    async def _json(self, request: web.Request) -> dict[str, Any]:
        self._same_site(request)
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="JSON only")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY_BYTES, actual_size=request.content_length
            )
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=len(raw))
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise _bad("the request is not JSON") from None
        if not isinstance(body, dict):
            raise _bad("the request must be a JSON object")
        return body

    def _ticketed(self, body: dict[str, Any]) -> Started:
        room, ticket = body.get("room"), body.get("ticket")
        started = self.rooms.get(room) if isinstance(room, str) else None
        if (
            started is None
            or not isinstance(ticket, str)
            or not hmac.compare_digest(started.ticket.encode(), ticket.encode())
            or time.monotonic() - started.created > TICKET_TTL_S
        ):
            raise web.HTTPGone(
                text=json.dumps({"error": "this interview can no longer be joined from here"}),
                content_type="application/json",
            )
        return started

    def _token(self, started: Started, *, dispatch: bool) -> dict[str, Any]:
        c = self.config
        token = make_token(
            api_key=c.api_key,
            api_secret=c.api_secret,
            agent_name=c.agent_name if dispatch else None,
            room=started.room,
            identity=started.identity,
            metadata=started.metadata,
            ttl=c.token_ttl,
        )
        return {
            "url": c.livekit_url,
            "token": token,
            "room": started.room,
            "identity": started.identity,
            "ticket": started.ticket,
        }

    # ---------------------------------------------------------------- handlers

    async def static(self, request: web.Request) -> web.StreamResponse:
        self._same_site(request)
        name, kind = STATIC[request.path]
        path = self.config.web_dir / name
        if not path.is_file():
            if name == str(CLIENT_SDK):
                raise web.HTTPServiceUnavailable(text=f"missing {path}: run npm ci --prefix web")
            raise web.HTTPNotFound()
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if name == "index.html":
            livekit = _origin(self.config.livekit_url) or self.config.livekit_url
            headers["Content-Security-Policy"] = PAGE_CSP.format(livekit=livekit)
            headers["Referrer-Policy"] = "no-referrer"
        return web.FileResponse(path, headers={**headers, "Content-Type": f"{kind}; charset=utf-8"})

    async def config_info(self, request: web.Request) -> web.Response:
        self._same_site(request)
        return web.json_response(
            {
                "access_code": self.config.access_code is not None,
                "signed_in": self._signed_in(request),
            }
        )

    def _signed_in(self, request: web.Request) -> bool:
        try:
            self._allowed(request)
        except web.HTTPUnauthorized:
            return False
        return True

    async def access(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        code, given = self.config.access_code, body.get("code")
        if code is None:
            return web.json_response({"ok": True})
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), code.encode()):
            logger.warning("wrong access code")
            return web.json_response({"error": "wrong access code"}, status=401)
        response = web.json_response({"ok": True})
        response.set_cookie(
            COOKIE, _cookie_for(code), httponly=True, samesite="Strict", max_age=12 * 3600
        )
        return response

    async def new_interview(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self._allowed(request)
        try:
            metadata = form_metadata(body, user_id=self.config.user_id)
        except FormError as e:
            return web.json_response({"error": str(e), "field": e.field}, status=400)
        started = Started(
            room=f"interview-{secrets.token_hex(6)}",
            identity=f"candidate-{secrets.token_hex(4)}",
            ticket=secrets.token_urlsafe(24),
            metadata=metadata,
        )
        self.rooms[started.room] = started
        logger.info("interview room made", extra={"room": started.room})
        return web.json_response(self._token(started, dispatch=True))

    async def rejoin(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self._allowed(request)
        started = self._ticketed(body)
        return web.json_response(self._token(started, dispatch=False))

    async def continue_interview(self, request: web.Request) -> web.Response:
        """The interviewer's job was lost: dispatch the agent to the room again; the worker
        continues the same interview (docs/CONTRACTS.md, identity)."""
        body = await self._json(request)
        self._allowed(request)
        started = self._ticketed(body)
        c = self.config
        lk = api.LiveKitAPI(http_url(c.livekit_url), c.api_key, c.api_secret)
        try:
            await lk.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(
                    agent_name=c.agent_name, room=started.room, metadata=started.metadata
                )
            )
        except Exception as e:
            logger.warning("could not dispatch the interviewer again: %s", type(e).__name__)
            return web.json_response({"error": "the interviewer could not be called back"}, 503)
        finally:
            await lk.aclose()
        return web.json_response({"ok": True})

    async def report(self, request: web.Request) -> web.Response:
        self._same_site(request)
        self._allowed(request)
        interview_id = request.match_info["interview_id"]
        try:
            uuid.UUID(interview_id)
        except ValueError:
            raise web.HTTPNotFound(text="no such interview") from None
        store = self._store_factory()
        try:
            saved = await find_saved(store, interview_id)
            started = self._started_for(saved)
            if saved is None or started is None:
                return _page("Not found", "No interview of this page has that id.", 404)
            if saved.feedback is None:
                return _page("Not saved yet", "The report is not saved yet.", 404)
            started.interview_ids.add(interview_id)
            audio = await audio_links(
                store,
                self.settings,
                saved.feedback.feedback_data,
                None,
                served=lambda path: f"/recordings/{path}",
            )
        except StoreError as e:
            logger.warning("report unavailable: %s", e)
            return _page("Unavailable", "The store cannot be reached; try again.", 503)
        finally:
            await store.aclose()
        text = render_report(saved, audio, "html") or ""
        return web.Response(
            text=text,
            content_type="text/html",
            headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
        )

    def _started_for(self, saved: Any) -> Started | None:
        if saved is None:
            return None
        return self.rooms.get(saved.interview.room_name)

    async def recording(self, request: web.Request) -> web.StreamResponse:
        """A recorded answer of an interview whose report this server showed."""
        self._same_site(request)
        self._allowed(request)
        parts = request.match_info["path"].split("/")
        known = {i for s in self.rooms.values() for i in s.interview_ids}
        if len(parts) != 3 or parts[1] not in known or not parts[2].endswith(".wav"):
            raise web.HTTPNotFound()
        if any(p in ("", ".", "..") or "\\" in p for p in parts):
            raise web.HTTPNotFound()
        path = self.settings.interview_recordings_path / Path(*parts)
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _cookie_for(code: str) -> str:
    """The cookie proves the code without holding it."""
    return hmac.new(code.encode(), b"playground access", "sha256").hexdigest()


def http_url(url: str) -> str:
    """The LiveKit server's HTTP address (its API) for its WebSocket URL."""
    return url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


def _origin(url: str) -> str | None:
    """The LiveKit server's WebSocket and HTTP origins, for the page's CSP."""
    if "://" not in url:
        return None
    rest = url.split("://", 1)[1].split("/", 1)[0]
    secure = url.startswith(("wss://", "https://"))
    return f"{'wss' if secure else 'ws'}://{rest} {'https' if secure else 'http'}://{rest}"


def _page(title: str, message: str, status: int) -> web.Response:
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
        f"<body><p>{message}</p></body></html>"
    )
    headers = {"Content-Security-Policy": REPORT_CSP}
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


@web.middleware
async def _no_secrets_in_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An unexpected failure answers 500 with no detail; the log names its type only."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as e:
        logger.error("playground request failed: %s", type(e).__name__)
        return web.json_response({"error": "internal error"}, status=500)


def web_app(playground: Playground) -> web.Application:
    app = web.Application(middlewares=[_no_secrets_in_errors], client_max_size=MAX_BODY_BYTES)
    for path in STATIC:
        app.router.add_get(path, playground.static)
    app.router.add_get("/api/config", playground.config_info)
    app.router.add_post("/api/access", playground.access)
    app.router.add_post("/api/interviews", playground.new_interview)
    app.router.add_post("/api/rejoin", playground.rejoin)
    app.router.add_post("/api/continue", playground.continue_interview)
    app.router.add_get("/report/{interview_id}", playground.report)
    app.router.add_get("/recordings/{path:.+}", playground.recording)
    app[PLAYGROUND] = playground
    return app
