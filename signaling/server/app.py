"""The aiohttp application factory.

Resources (store, journal, rooms) are opened and closed by one cleanup context,
in dependency order, and reached by handlers through a typed app key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web
from aiortc import RTCIceServer

from recorder.database import DatabaseUnavailable
from recorder.presence.journal import Journal, journal_db
from rtc.clock import Clock, SystemClock
from rtc.ice import parse_ice_servers
from rtc.room import MediaRoom
from signaling.admin.accounts import Accounts
from signaling.admin.factory import open_staff_store
from signaling.booking import api as booking_api
from signaling.microlessons import api as microlessons_api
from signaling.oncall import api as oncall_api
from signaling.qa import api as qa_api
from signaling.router.base import PlacementUnavailable, Router
from signaling.router.local import LocalRouter
from signaling.router.redis import RedisRouter, connect
from signaling.server import (
    analysis_api,
    api_docs,
    credits_api,
    evidence_api,
    live_api,
    observe_api,
    openapi,
    ops,
    pages,
    participant_api,
    people_api,
    policy_api,
    recordings_api,
    session_list_api,
    sessions_api,
    settings_api,
    staff_api,
    supervision_api,
    web_assets,
)
from signaling.server.config import Config
from signaling.server.http_util import SERVICES, error
from signaling.server.namespace import SafePacket, SessionNamespace, SioOutbox
from signaling.server.recordings import Recordings
from signaling.server.services import Services
from signaling.server.turn import TurnConfig
from signaling.server.web_assets import SOCKET_IO_CLIENT, WEB_DIR
from signaling.server.webhooks import Webhooks
from signaling.session.events import JournalListener, RoomListener
from signaling.session.room import RoomDeps
from signaling.store.factory import open_store

log = logging.getLogger(__name__)

MAX_SOCKET_MESSAGE = 256 * 1024


def create_app(config: Config, clock: Clock | None = None) -> web.Application:
    clock = clock or SystemClock()
    app = web.Application(client_max_size=9 * 1024 * 1024)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],  # no long-polling: several nodes need no sticky sessions
        max_http_buffer_size=MAX_SOCKET_MESSAGE,
        serializer=SafePacket,  # undecodable packets are refused, not a traceback
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    outbox = SioOutbox(sio)

    async def close_sockets(app: web.Application) -> None:
        # On SIGTERM aiohttp waits up to a minute for open requests to end, and every
        # socket.io websocket is one: closing them first lets people reconnect (to
        # another node) at once and the process exit in seconds, not 55 s.
        # Bounded: a connection closing from both ends at once can leave engine.io's
        # close waiting; the process must still stop (what is left is cut after the grace).
        clients = list(sio.eio.sockets.values())  # taken now: it empties as they close
        if clients:
            reason = sio.eio.reason.SERVER_DISCONNECT
            await asyncio.wait([asyncio.create_task(c.close(reason=reason)) for c in clients],
                               timeout=2.0)

    app.on_shutdown.append(close_sockets)
    live = live_api.install(app, clock)  # GET /api/v1/live, fed as a room listener
    ice_servers = parse_ice_servers(list(config.ice_servers))
    ice_hosts = list(config.ice_hosts) or None
    # Browsers get the same STUN/TURN servers; absent credentials are left out, not null.
    browser_ice = tuple(
        {k: v for k, v in vars(server).items() if k in ("urls", "username", "credential") and v}
        for server in ice_servers
    )
    # TURN REST credentials, minted per person at each welcome (signaling/server/turn.py).
    turn = (
        TurnConfig(config.turn_urls, config.turn_secret, config.turn_ttl_s)
        if config.turn_urls
        else None
    )

    def room_ice() -> list[RTCIceServer]:
        """A new room's servers: with --turn-server-side, TURN credentials of its own,
        minted now and valid --turn-ttl (which outlasts any session, as for browsers)."""
        if turn is None or not config.turn_server_side:
            return ice_servers
        (entry,) = turn.ice_servers(f"server-{config.node_id}", clock.time())
        return [*ice_servers, RTCIceServer(**entry)]

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # The data directory holds uploads and recordings on every back end (with
        # PostgreSQL nothing else would create it, and /readyz checks its disk).
        config.data_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(config.database_url, config.data_dir)
        journal = Journal(
            journal_db(config.database_url, config.data_dir),
            clock=clock,
            node_id=config.node_id,
            evidence_every_s=config.evidence_every_s,
        )
        staff = open_staff_store(config.database_url, config.data_dir)
        await store.open()
        await staff.open()
        await journal.open()
        recordings = Recordings(
            data_dir=config.data_dir,
            secret=config.secret,
            clock=clock,
            retention_days=config.recordings_retention_days,
            segment_s=config.recordings_segment_s,
            database_url=config.database_url,
            recordings_dir=config.recordings_dir,
            node=config.node_id,
        )
        await recordings.open()  # finishes recordings a killed server left open
        # Rooms reach the router (to say they closed) and the services (to sign URLs)
        # through these, which exist only once everything is built.
        late: dict[str, Any] = {}
        hooks = Webhooks(
            config.webhook_url, (config.webhook_secret or config.api_key).encode(), clock,
            node=config.node_id, backoff_s=config.webhook_backoff_s,
        ) if config.webhook_url else None
        listeners: tuple[RoomListener, ...] = (JournalListener(journal), live)
        if hooks is not None:
            listeners = (*listeners, hooks)
        deps = RoomDeps(
            store=store,
            outbox=outbox,
            media=lambda events, owner: MediaRoom(
                events,
                owner=owner,
                clock=clock,
                ice_servers=room_ice(),
                host_addresses=ice_hosts,
                public_ip=config.public_ip,
            ),
            clock=clock,
            sign_url=lambda path: late["services"].sign_url(path),
            grace_s=config.grace_s,
            idle_end_s=config.idle_end_s,
            browser_ice=browser_ice,
            turn_ice=None if turn is None else turn.ice_servers,
            on_closed=lambda session_id: late["router"].closed(session_id),
            recordings=recordings,
            listeners=listeners,
        )
        router: Router = LocalRouter(store, deps)
        if config.redis_url:
            async def beat_age(node: str) -> float | None:
                at = await journal.beat_of(node)
                return None if at is None else clock.time() - at

            async def step_down(session_id: str) -> None:
                # A room given up (cut off from Redis and the journal): its people rejoin
                # with the same links wherever the session is placed next.
                for sid, _ in list(sio.manager.get_participants("/", session_id)):
                    try:  # bounded: engine.io's close can wait on a half-closed socket
                        await asyncio.wait_for(sio.disconnect(sid), 2.0)
                    except TimeoutError:
                        log.warning("room %s: connection %s did not close", session_id, sid)

            redis_router = RedisRouter(
                LocalRouter(store, deps),
                # Fail fast while Redis is away: joins get a retryable refusal at once.
                connect(config.redis_url),
                node_id=config.node_id,
                node_url=config.node_url,
                # The shared journal's durable heartbeats tell a node cut off from Redis
                # from a dead one (signaling/router/redis.py).
                durable_age=lambda: clock.time() - journal.last_durable,
                beat_age=beat_age,
                step_down=step_down,
                place_least_loaded=config.place_least_loaded,
            )
            await redis_router.start()
            router = redis_router
        svc = Services(
            config=config,
            clock=clock,
            store=store,
            journal=journal,
            router=router,
            recordings=recordings,
            webhooks=hooks,
            staff=Accounts(staff, clock.time),
        )
        late.update(services=svc, router=router)
        if hooks is not None:
            await hooks.start()
            recordings.on_ready = lambda session_id, recording_id: hooks.send(
                "recording.ready", session_id, {"recording": recording_id})
        app[SERVICES] = svc
        app[credits_api.CALENDAR] = credits_api.load_configured_calendar(config.calendar)
        sio.register_namespace(SessionNamespace(svc))
        yield
        await router.close()
        if hooks is not None:
            await hooks.close()
        await recordings.close()
        await journal.close()
        await staff.close()
        await store.close()

    app.cleanup_ctx.append(resources)
    ops.install(app)  # /readyz, /metrics
    app.add_routes(sessions_api.routes)
    # GET /api/v1/sessions beside sessions_api's POST: aiohttp tries the next resource
    # of the same path when a method does not match.
    app.add_routes(session_list_api.routes)
    app.add_routes(api_docs.routes)  # GET /api/v1/docs and the two Swagger UI files
    app.add_routes(credits_api.routes)
    app.add_routes(evidence_api.routes)
    supervision_api.install(app)  # the report and its reviews (their own cleanup ctx)
    app.add_routes(policy_api.routes)  # calendar and policy as in effect
    settings_api.install(app)  # their edits and history (the settings store's cleanup ctx)
    oncall_api.install(app, sio)  # on-demand tutoring: /oncall namespace, passes, /duty
    microlessons_api.install(app)  # micro-lessons: publish, browse, paced video, /lessons
    booking_api.install(app)  # booking: slots, lectures, reviews, reminders, /booking
    qa_api.install(app)  # the Q&A centre: questions, answers, media, /qa (issue 14)
    app.add_routes(participant_api.routes)
    app.add_routes(recordings_api.routes)
    app.add_routes(staff_api.routes)
    people_api.install(app)  # statements, certificates, /verify (its own cleanup ctx)
    app.add_routes(analysis_api.routes)  # GET /api/v1/reports/analysis(.csv)
    app.add_routes(observe_api.routes)  # POST /api/v1/live/{id}/observe: a supervisor watches
    app.add_routes(web_assets.routes)  # GET /console, the programme office's console
    app.add_routes(pages.routes)  # GET /, the landing page
    app.add_routes(
        [
            web.get("/api/v1/openapi.json", openapi.handler),
            web.get("/healthz", _health),
            web.get("/join", _join_page),
            web.get("/vendor/socket.io.esm.min.js", _socket_io_client),
        ]
    )
    web_dir = web_assets.locate(config.web_dir)
    app[WEB_DIR] = web_dir
    if web_dir.exists():
        app.router.add_static("/static/", web_dir, follow_symlinks=False)
    app.middlewares.append(_security_headers)
    # Inside the security headers, outside the 503 answers, so that those get codes too.
    app.middlewares.append(pages.support_codes)
    app.middlewares.append(_placement_unavailable)
    app.middlewares.append(_database_unavailable)
    return app


@web.middleware
async def _database_unavailable(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """PostgreSQL away (down, unreachable, every connection busy): 503 within seconds,
    retryable, instead of a hang or a 500."""
    try:
        return await handler(request)
    except DatabaseUnavailable as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        response = error(503, "unavailable", "the database is unavailable: try again in a "
                         "few seconds")
        response.headers["Retry-After"] = "5"
        return response


@web.middleware
async def _placement_unavailable(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A REST call that needs to know where a session runs, while Redis is away: 503
    at once, retryable, instead of a hang or a 500."""
    try:
        return await handler(request)
    except PlacementUnavailable:
        response = error(503, "unavailable", "session placement is unavailable (Redis): "
                         "try again in a few seconds")
        response.headers["Retry-After"] = "5"
        return response


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # join tokens live in URLs
    return response


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _join_page(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "index.html")


async def _socket_io_client(request: web.Request) -> web.StreamResponse:
    client = request.app[WEB_DIR] / SOCKET_IO_CLIENT
    if not client.exists():
        return web.Response(status=503, text="run `npm ci` in web/ (socket.io-client missing)")
    response = web.FileResponse(client)
    response.content_type = "text/javascript"
    return response
