"""``GET /api/v1/live``: what runs on this node now (issue 16, the console's Now page).

The sessions whose rooms this node runs, each with who is present and how their media
looked in the last :data:`~recorder.presence.health.WINDOW_S` seconds. Everything is
read, never changed: a room's spec, who is present, when it went live and its
recording switch are read from the room object as ``/metrics`` and the drain read it
(one event loop, so a read sees a whole state between two commands); the media
seconds come from :class:`LiveListener`, one more room listener beside the journal,
fed by the same per-second ``Sampled`` events.

Several nodes (Redis): the node the console asks answers for every node. It asks the
other nodes alive (the router's ``peers``) for their own rooms (``?here=1``) at once,
with the platform's key and the asker's scope to narrow to (a staff sign-in is this
node's cookie, which another node need not share), and merges the answers; a node that
does not answer within :data:`PEER_TIMEOUT_S` is named in ``unreachable`` rather than
holding the page. The key may narrow its own view (``as_level``…) but nothing widens.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from recorder.presence.health import WINDOW_S, LiveRing, health
from recorder.presence.tracker import Kind
from rtc.clock import Clock
from signaling.admin.scope import LEVELS, Scope
from signaling.router.base import PlacementUnavailable
from signaling.server.access import instructors, viewer
from signaling.server.http_util import error, services
from signaling.server.services import Services
from signaling.server.session_record import evidence_thresholds
from signaling.session.events import Ended, Observed, RoomEvent, Sampled
from signaling.session.room import Room
from signaling.session.timefmt import iso_at

routes = web.RouteTableDef()
log = logging.getLogger(__name__)
PEER_TIMEOUT_S = 3.0  # the Now page refreshes every 5 s: a slow node must not hold it


class LiveListener:
    """A room listener keeping the last seconds per person (and when they joined)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ring = LiveRing()

    def room_event(self, session_id: str, event: RoomEvent) -> None:
        if isinstance(event, Sampled):
            self.ring.add(session_id, event.person, event.second, event.sample)
        elif isinstance(event, Observed):
            if event.kind == Kind.SIGNAL_UP:
                self.ring.joined(session_id, event.person, self.clock.time())
            elif event.kind == Kind.SIGNAL_DOWN:
                self.ring.left(session_id, event.person)
        elif isinstance(event, Ended):
            self.ring.forget(session_id)


LIVE = web.AppKey("live", LiveListener)


def install(app: web.Application, clock: Clock) -> LiveListener:
    """The route, and the listener the rooms must be given (``RoomDeps.listeners``)."""
    listener = LiveListener(clock)
    app[LIVE] = listener
    app.add_routes(routes)
    return listener


def _minutes_since(started_at: str | None, now: float) -> int:
    if not started_at:
        return 0
    return max(0, math.floor((now - datetime.fromisoformat(started_at).timestamp()) / 60))


def session_wire(
    room: Room, listener: LiveListener, node: str, svc: Services | None = None
) -> dict[str, Any]:
    """One live room as the Now page shows it: voiced, camera live and receiving judged
    by the ``[evidence]`` numbers in effect (``svc``'s settings), the ones that pay."""
    now = listener.clock.time()
    spec = room.session.spec
    thresholds = evidence_thresholds(spec.programme, svc)
    present = set(room.present())
    people = []
    for person in spec.people:
        if person.id not in present:
            continue
        joined = listener.ring.joined_at(room.id, person.id)
        seen = health(listener.ring.samples(room.id, person.id), math.floor(now), thresholds)
        people.append({
            **person.public(),
            "joined_at": iso_at(joined) if joined is not None else None,
            "health": seen.to_json(),
        })
    return {
        "id": room.id,
        "title": spec.title,
        "programme": spec.programme,
        "form": spec.form,
        "started_at": room.started_at,
        "minutes": _minutes_since(room.started_at, now),
        "recording": room.recording_wire(),
        "node": node,
        "instructors": [p.public() for p in spec.instructors],
        "people": people,
        # Supervisors watching read-only now (issue 16): shown to the console, apart
        # from the people (they are no one's presence and in no count of viewers).
        "observers": room.observing(),
    }


def _narrowed(request: web.Request, scope: Scope) -> Scope | web.Response:
    """The scope a node asking for its peer's rooms passes on (``as_level``,
    ``as_district``, ``as_school``): taken only from a city-level viewer (the platform's
    key), so a parameter can narrow a view but never widen one."""
    level = request.query.get("as_level")
    if level is None or scope.level != "city":
        return scope
    try:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        return Scope(level, request.query.get("as_district", ""),
                     request.query.get("as_school", ""), who=scope.who)
    except ValueError as exc:
        return error(400, "invalid", str(exc), "as_level")


def _here(request: web.Request, scope: Scope) -> list[dict[str, Any]]:
    """This node's live sessions the scope sees."""
    svc = services(request)
    listener = request.app[LIVE]
    running = svc.router.running_ids()
    listener.ring.keep_only(running)  # rooms closed without an end (drained) leave no trace
    node = svc.config.node_id
    sessions = []
    for session_id in running:
        room = svc.router.running(session_id)
        if room is None or room.state != "live":
            continue
        if not scope.sees_session(instructors(room.session)):
            continue
        sessions.append(session_wire(room, listener, node, svc))
    return sessions


async def _from_peers(
    request: web.Request, scope: Scope
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every other node's live sessions in ``scope``, and the nodes that did not answer."""
    svc = services(request)
    try:
        peers = await svc.router.peers()
    except PlacementUnavailable:
        return [], ["placement"]  # Redis away: which nodes exist is unknown
    if not peers:
        return [], []
    params = {"here": "1", "as_level": scope.level, "as_district": scope.district_code,
              "as_school": scope.school_id}
    headers = {"Authorization": f"Bearer {svc.config.api_key}"}

    async def ask(http: aiohttp.ClientSession, node: str, url: str) -> list[dict[str, Any]]:
        async with http.get(url + "/api/v1/live", params=params, headers=headers) as answer:
            if answer.status != 200:
                raise aiohttp.ClientError(f"HTTP {answer.status}")
            body = await answer.json()
            found: list[dict[str, Any]] = body["sessions"]
            return found

    timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        answers = await asyncio.gather(*(ask(http, n, u) for n, u in peers.items()),
                                       return_exceptions=True)
    sessions: list[dict[str, Any]] = []
    unreachable = []
    for node, answer in zip(peers, answers, strict=True):
        if isinstance(answer, BaseException):
            log.warning("live view: node %s did not answer: %s", node, answer or type(answer))
            unreachable.append(node)
        else:
            sessions.extend(answer)
    return sessions, unreachable


@routes.get("/api/v1/live")
async def live(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    scope = _narrowed(request, scope)
    if isinstance(scope, web.Response):
        return scope
    svc = services(request)
    listener = request.app[LIVE]
    sessions = _here(request, scope)
    unreachable: list[str] = []
    if request.query.get("here") != "1" and svc.config.redis_url:
        theirs, unreachable = await _from_peers(request, scope)
        sessions.extend(theirs)
    sessions.sort(key=lambda s: (s["started_at"] or "", s["id"]))
    return web.json_response({
        "node": svc.config.node_id,
        "several_nodes": bool(svc.config.redis_url),
        "at": iso_at(listener.clock.time()),
        "window_s": WINDOW_S,
        "sessions": sessions,
        "unreachable": unreachable,
    })


_HEALTH = {
    "type": "object",
    "required": ["seconds", "audio", "video", "fps", "receiving", "loss_pct", "jitter_ms",
                 "kbps_in", "kbps_out"],
    "properties": {
        "seconds": {"type": "integer", "minimum": 0,
                    "description": "seconds sampled in the window (0: nothing known yet)"},
        "audio": {"enum": ["voiced", "silent", "unknown", "off"],
                  "description": "voiced: voice heard (the programme's voiced_dbov); silent: "
                  "audio arrived without voice (muted); unknown: audio without level "
                  "headers; off: no audio"},
        "video": {"enum": ["live", "camera_off"],
                  "description": "live: at least the programme's live_video_fps frames a "
                  "second; camera_off: none, or the frame a second of a muted camera"},
        "fps": {"type": "number"},
        "receiving": {"type": "boolean", "description": "media is forwarded to them and "
                      "their receiver reports acknowledge it"},
        "loss_pct": {"type": ["number", "null"], "description": "worst loss their receiver "
                     "reports stated of what the server forwarded (null: no report)"},
        "jitter_ms": {"type": ["number", "null"]},
        "kbps_in": {"type": "number", "description": "what they send (audio + video payload)"},
        "kbps_out": {"type": "number", "description": "what the server forwards to them"},
    },
}
_PERSON = {
    "type": "object",
    "required": ["id", "name", "role", "joined_at", "health"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "role": {"enum": ["instructor", "learner"]},
        "joined_at": {"type": ["string", "null"], "format": "date-time",
                      "description": "their signalling connection since they were last away"},
        "health": {"$ref": "#/components/schemas/LiveHealth"},
    },
}
_SESSION = {
    "type": "object",
    "required": ["id", "title", "programme", "form", "started_at", "minutes", "recording",
                 "node", "instructors", "people", "observers"],
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "programme": {"type": "string"}, "form": {"type": "string"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "minutes": {"type": "integer", "minimum": 0, "description": "whole minutes since "
                    "it went live"},
        "recording": {"type": "object", "required": ["on", "since"], "properties": {
            "on": {"type": "boolean"},
            "since": {"type": ["string", "null"], "format": "date-time"},
            "reason": {"type": "string"}}},
        "node": {"type": "string"},
        "instructors": {"type": "array", "items": {"type": "object"}},
        "people": {"type": "array", "items": {"$ref": "#/components/schemas/LivePerson"},
                   "description": "those present now"},
        "observers": {"type": "array", "items": {"type": "string"},
                      "description": "staff usernames watching read-only now (POST "
                      "/live/{id}/observe); never among the people"},
    },
}
LIVE_SCHEMAS: dict[str, Any] = {
    "LiveHealth": _HEALTH, "LivePerson": _PERSON, "LiveSession": _SESSION,
    "Live": {"type": "object", "required": ["node", "several_nodes", "at", "window_s",
                                            "sessions"],
             "properties": {
                 "node": {"type": "string", "description": "the node that answered"},
                 "several_nodes": {"type": "boolean", "description": "rooms are placed "
                                   "through Redis: other nodes run sessions of their own"},
                 "at": {"type": "string", "format": "date-time"},
                 "window_s": {"type": "integer"},
                 "sessions": {"type": "array",
                              "items": {"$ref": "#/components/schemas/LiveSession"}},
                 "unreachable": {"type": "array", "items": {"type": "string"},
                                 "description": "nodes that did not answer in time (their "
                                 "sessions are missing), or `placement` when Redis is "
                                 "away and the other nodes are unknown"}}},
}
_QUERY = [
    {"name": "here", "in": "query", "required": False, "schema": {"enum": ["1"]},
     "description": "only this node's rooms (what nodes ask each other)"},
    *({"name": name, "in": "query", "required": False, "schema": {"type": "string"},
       "description": "narrow the API key's view to a scope (as the asking node's viewer); "
       "ignored for staff, who see their own scope"}
      for name in ("as_level", "as_district", "as_school")),
]
LIVE_PATHS: dict[str, Any] = {"/live": {"get": {
    "summary": "Live sessions, who is in each, their media now",
    "description": "The live sessions of every node (with several nodes, the node asked "
    "gathers the others' answers), in the viewer's scope: the API key sees all, signed-in "
    "staff the sessions whose instructors they hold. Media health is read from the last "
    f"{WINDOW_S} seconds the server counted.",
    "parameters": _QUERY,
    "security": [{"apiKey": []}, {"staffCookie": []}],
    "responses": {
        "200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Live"}}}},
        "401": {"description": "Missing or wrong key (or no staff sign-in)", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    },
}}}


def document_live(document: dict[str, Any]) -> None:
    """Add ``GET /api/v1/live`` and its schemas to the OpenAPI ``document``."""
    document["components"]["schemas"].update(LIVE_SCHEMAS)
    document["paths"].update(LIVE_PATHS)
