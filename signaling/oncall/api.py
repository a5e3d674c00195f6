"""On-demand tutoring's doors: the socket.io namespace ``/oncall``, the platform's REST
calls and the page. ``install(app, sio)`` registers all three (a small call in app.py).

REST (platform API key): ``POST /api/v1/oncall/passes`` mints a teacher's duty pass or
a student's call pass and its link (``/duty?token=…``); ``GET /api/v1/oncall/teachers``
lists teachers on duty; ``GET /api/v1/oncall/calls`` the latest calls with their
outcome and wait. docs/protocol.md describes the socket events.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy
from signaling.oncall import passes
from signaling.oncall.journal import open_calls
from signaling.oncall.outbound import OncallOut
from signaling.oncall.presence import MemoryPresence, Presence, RedisPresence
from signaling.oncall.service import NAMESPACE, Oncall, RefusedWith
from signaling.router.redis import connect
from signaling.server import tokens, web_assets
from signaling.server.current_settings import CONFIGURED_CALENDAR, built_in
from signaling.server.http_util import SERVICES, check_api_key, invalid, json_body, services
from signaling.server.namespace import MALFORMED, RESERVED_EVENTS, _refuse
from signaling.session import schema
from signaling.session.declarations import NewPass
from signaling.session.ratelimit import KeyedBuckets
from signaling.session.schema import Invalid

log = logging.getLogger(__name__)
ONCALL = web.AppKey("oncall", Oncall)
EVENTS_PER_S = 5.0  # a person's clicks, not a script's
EVENT_BURST = 20.0
routes = web.RouteTableDef()


class OncallNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Connecting needs a pass (``auth: {token}``); each event is validated and answered
    by its ack ``{ok: true, …}`` or ``{ok: false, error: {code, message, …}}``."""

    def __init__(self, oncall: Oncall) -> None:
        super().__init__(NAMESPACE)
        self._oncall = oncall
        self._buckets = KeyedBuckets(EVENTS_PER_S, EVENT_BURST)
        self._handlers = {"duty": oncall.duty, "answer": oncall.answer,
                          "teachers": oncall.teachers_list, "call": oncall.call,
                          "cancel": oncall.cancel}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        request = environ.get("aiohttp.request")
        configured = self._oncall.svc.config.public_url
        base = configured or (f"{request.scheme}://{request.host}" if request else "")
        try:
            hello = await self._oncall.connect(sid, token, base)
        except tokens.TokenError as exc:
            raise _refuse(exc.code, exc.message) from None
        self._buckets.connected(sid, self._oncall.svc.clock.monotonic())
        # After socket.io's CONNECT packet, which follows this handler.
        self._oncall._spawn(self.emit(OncallOut.HELLO, hello, to=sid))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._buckets.disconnected(sid, self._oncall.svc.clock.monotonic())
        await self._oncall.disconnect(sid)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        sid = args[0] if args and isinstance(args[0], str) else ""
        if event in ("connect", "disconnect") and self._lifecycle(event, args):
            return await super().trigger_event(event, *args)
        if not isinstance(event, str) or event == MALFORMED or event in RESERVED_EVENTS:
            return await self._error(sid, None, "invalid", "reserved or malformed event")
        handler = self._handlers.get(event)
        if handler is None:
            return await self._error(sid, event, "invalid", "unknown event")
        if not self._buckets.allow(sid, self._oncall.svc.clock.monotonic()):
            return await self._error(sid, event, "rate_limited", "too many messages")
        try:
            return {"ok": True, **await handler(sid, args[1] if len(args) > 1 else None)}
        except Invalid as exc:
            return await self._error(sid, event, "invalid", str(exc), field=exc.field)
        except RefusedWith as exc:
            return await self._error(sid, event, exc.code, exc.code, **exc.detail)

    def _lifecycle(self, event: str, args: tuple[Any, ...]) -> bool:
        # As in SessionNamespace: a client may emit "connect"/"disconnect" as events.
        sid = args[0] if args else None
        if event == "connect":
            return len(args) >= 2 and args[1] is self.server.get_environ(sid, self.namespace)
        return not self.server.manager.is_connected(sid, self.namespace)

    async def _error(self, sid: str, event: str | None, code: str, message: str,
                     **detail: Any) -> dict[str, Any]:
        log.info("oncall %s from %s refused: %s", event, sid, code)
        return {"ok": False, "error": {"code": code, "message": message, **detail}}


@routes.post("/api/v1/oncall/passes")
async def create_pass(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    try:
        new = schema.decode(NewPass, await json_body(request))  # REST_BODIES["/oncall/passes"]
        if new.kind == "teacher_duty" and not new.subjects:
            raise Invalid("subjects", "a teacher on duty teaches at least one subject")
        if new.kind == "student_call" and new.grade is None:
            raise Invalid("grade", "a student's pass names their grade (7, 8 or 9)")
    except Invalid as exc:
        return invalid(exc)
    svc = services(request)
    p = passes.from_request(new, svc.clock.time())
    token = passes.issue(svc.config.secret, p)
    base = svc.config.public_url or f"{request.scheme}://{request.host}"
    return web.json_response({"token": token, "url": f"{base}/duty?token={token}",
                              "expires_at": p.expires_at}, status=201)


@routes.get("/api/v1/oncall/teachers")
async def on_duty(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    oncall = request.app[ONCALL]
    return web.json_response({"teachers": [e.wire() for e in await oncall.presence.all()],
                              "open": oncall.hello_open()})


@routes.get("/api/v1/oncall/calls")
async def calls(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    raw = request.query.get("limit", "100")
    limit = int(raw) if raw.isdigit() and 0 < int(raw) <= 1000 else 100
    rows = await request.app[ONCALL].journal.recent(limit)
    return web.json_response({"calls": [r.wire() for r in rows]})


@routes.get("/duty")
async def duty_page(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "duty.html")


def _rules(app: web.Application) -> tuple[Calendar, Policy]:
    """The calendar and tutoring policy in effect (the settings accessor's sources)."""
    current = app[SERVICES].settings
    if current is not None:
        return current.calendar, current.policy("tutoring")
    return app[CONFIGURED_CALENDAR], built_in("tutoring")


def install(app: web.Application, sio: socketio.AsyncServer) -> None:
    app.add_routes(routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        journal = open_calls(svc.config.database_url, svc.config.data_dir)
        await journal.open()
        presence: Presence = (RedisPresence(connect(svc.config.redis_url))
                              if svc.config.redis_url else MemoryPresence())
        await presence.start()
        oncall = Oncall(svc, sio, presence, journal, lambda: _rules(app))
        oncall.start()
        app[ONCALL] = oncall
        sio.register_namespace(OncallNamespace(oncall))
        yield
        await oncall.stop()
        await presence.close()
        await journal.close()

    app.cleanup_ctx.append(resources)
