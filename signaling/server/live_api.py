"""``GET /api/v1/live``: what runs on this node now (issue 16, the console's Now page).

The sessions whose rooms this node runs, each with who is present and how their media
looked in the last :data:`~recorder.presence.health.WINDOW_S` seconds. Everything is
read, never changed: a room's spec, who is present, when it went live and its
recording switch are read from the room object as ``/metrics`` and the drain read it
(one event loop, so a read sees a whole state between two commands); the media
seconds come from :class:`LiveListener`, one more room listener beside the journal,
fed by the same per-second ``Sampled`` events.

Several nodes (Redis): each node answers for the rooms it runs, and says which node
it is (``node``); the console asks the node it was loaded from. Putting the nodes
together is not done here.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from aiohttp import web

from recorder.presence.health import WINDOW_S, LiveRing, health
from recorder.presence.tracker import Kind
from rtc.clock import Clock
from signaling.server.access import instructors, viewer
from signaling.server.http_util import services
from signaling.server.session_record import evidence_thresholds
from signaling.session.events import Ended, Observed, RoomEvent, Sampled
from signaling.session.room import Room
from signaling.session.timefmt import iso_at

routes = web.RouteTableDef()


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


def session_wire(room: Room, listener: LiveListener, node: str) -> dict[str, Any]:
    """One live room as the Now page shows it."""
    now = listener.clock.time()
    spec = room.session.spec
    thresholds = evidence_thresholds(spec.programme)
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


@routes.get("/api/v1/live")
async def live(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
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
        sessions.append(session_wire(room, listener, node))
    sessions.sort(key=lambda s: (s["started_at"] or "", s["id"]))
    return web.json_response({
        "node": node,
        "several_nodes": bool(svc.config.redis_url),
        "at": iso_at(listener.clock.time()),
        "window_s": WINDOW_S,
        "sessions": sessions,
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
                              "items": {"$ref": "#/components/schemas/LiveSession"}}}},
}
LIVE_PATHS: dict[str, Any] = {"/live": {"get": {
    "summary": "Live sessions on this node, who is in each, their media now",
    "description": "The sessions whose rooms run on the node that answers (with several "
    "nodes, ask each; the console asks the node it is on), in the viewer's scope: the API "
    "key sees all, signed-in staff the sessions whose instructors they hold. Media health "
    f"is read from the last {WINDOW_S} seconds the server counted.",
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
