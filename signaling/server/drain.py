"""Draining a node for upkeep: ``opentutor drain`` → ``POST /api/v1/node/drain``.

A draining node takes no new room: with Redis, a join for a session that runs
nowhere is sent (``moved``) to the live node that takes new rooms and runs the
fewest, and the heartbeat tells the other nodes not to send any here; on one node,
or when no other node takes rooms, the join is refused ``unavailable`` (retryable).
The rooms it runs go on, reconnects included, until they end (the teacher ends them,
or they empty and end as usual) or nobody has been in them for the reconnect grace
(then the room closes without ending its session, which its next join places on
another node); then the node stops and ``opentutor serve`` exits 0.
``/readyz`` answers 503 with ``"state": "draining"`` from the first moment, so a
load balancer stops sending new people; ``/metrics`` has ``opentutor_draining``.

Why an authenticated HTTP call rather than a signal: the operator (or an
orchestrator's pre-stop hook) may not be on the machine or in the container that
runs the node; the call answers with what is left (rooms, sessions) and the command
can wait for the end; and it needs the API key, like every other operator action.
SIGTERM and SIGINT keep their meaning: stop now (rooms close, their claims are
released at once, and people's reconnects place them on another node).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from signaling.server.http_util import SERVICES, check_api_key

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
EMPTY_CHECK_S = 1.0  # how often a draining node looks for rooms nobody is in


class Drain:
    """The node's drain state: ``serving`` → ``draining`` → ``drained``."""

    def __init__(self) -> None:
        self.state = "serving"
        self.since: float | None = None  # when draining began (server clock)
        self._then: list[Callable[[], object]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def draining(self) -> bool:
        return self.state != "serving"

    def then(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the last room has ended (``opentutor serve`` stops)."""
        self._then.append(callback)

    def begin(self, app: web.Application) -> None:
        if self.draining:
            return
        svc = app[SERVICES]
        self.state, self.since = "draining", svc.clock.time()
        svc.router.drain()
        rooms = svc.router.running_ids()
        log.warning("draining: no new rooms on this node; %d running room(s) go on until "
                    "they end", len(rooms))
        self._task = asyncio.create_task(self._finish(app), name="drain")

    async def _finish(self, app: web.Application) -> None:
        """Wait for the last room to end. A room nobody is in for the reconnect grace
        (``grace_s``, 30 s: a network blip is not leaving) is closed without ending its
        session, as a restart would: its next join places it on another node."""
        svc = app[SERVICES]
        idle = asyncio.ensure_future(svc.router.wait_idle())
        empty_since: dict[str, float] = {}
        try:
            while not idle.done():
                now = svc.clock.monotonic()
                for session_id in svc.router.running_ids():
                    room = svc.router.running(session_id)
                    if room is None or room.present():
                        empty_since.pop(session_id, None)
                        continue
                    if now - empty_since.setdefault(session_id, now) >= svc.config.grace_s:
                        log.warning("draining: room %s has been empty for %.0f s: closed, "
                                    "not ended; its next join places it on another node",
                                    session_id, svc.config.grace_s)
                        empty_since.pop(session_id)
                        await svc.router.closed(session_id)
                await asyncio.wait({idle}, timeout=EMPTY_CHECK_S)
        finally:
            idle.cancel()
        self.state = "drained"
        log.warning("drained: the last room ended; stopping")
        for callback in self._then:
            callback()

    def wire(self, app: web.Application) -> dict[str, Any]:
        svc = app[SERVICES]
        sessions = sorted(svc.router.running_ids())
        return {"node": svc.config.node_id, "state": self.state, "since": self.since,
                "rooms": len(sessions), "sessions": sessions}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


DRAIN = web.AppKey("drain", Drain)

_NODE = {
    "type": "object",
    "required": ["node", "state", "rooms", "sessions"],
    "properties": {
        "node": {"type": "string"},
        "state": {"enum": ["serving", "draining", "drained"]},
        "since": {"type": ["number", "null"], "description": "when draining began (epoch s)"},
        "rooms": {"type": "integer", "description": "rooms this node still runs"},
        "sessions": {"type": "array", "items": {"type": "string"}},
    },
}
_ANSWER = {"content": {"application/json": {"schema": _NODE}}}
_DENIED = {"description": "Missing or wrong key",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
# The OpenAPI description of the two routes below (merged into /api/v1/openapi.json).
NODE_PATHS: dict[str, Any] = {
    "/node": {
        "get": {
            "summary": "This node (the one answering, not the session's): serving, "
            "draining or drained, and the rooms it still runs",
            "responses": {"200": {"description": "OK", **_ANSWER}, "401": _DENIED},
        }
    },
    "/node/drain": {
        "post": {
            "summary": "Drain this node: it takes no new session (joins go to another node or "
            "are told to retry), finishes those it runs, then stops (opentutor serve exits 0); "
            "/readyz says draining meanwhile. Idempotent",
            "responses": {"202": {"description": "Draining", **_ANSWER}, "401": _DENIED},
        }
    },
}


@routes.post("/api/v1/node/drain")
async def start_drain(request: web.Request) -> web.Response:
    """Begin draining this node (idempotent): 202 with what is left."""
    if (denied := check_api_key(request)) is not None:
        return denied
    drain = request.app[DRAIN]
    drain.begin(request.app)
    return web.json_response(drain.wire(request.app), status=202)


@routes.get("/api/v1/node")
async def node_state(request: web.Request) -> web.Response:
    """This node: ``serving`` / ``draining`` / ``drained``, and the rooms it runs."""
    if (denied := check_api_key(request)) is not None:
        return denied
    return web.json_response(request.app[DRAIN].wire(request.app))


def install(app: web.Application) -> None:
    app[DRAIN] = Drain()
    app.add_routes(routes)

    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[DRAIN].close()

    app.cleanup_ctx.append(context)


# ------------------------------------------------------------------------ the command

POLL_S = 1.0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "drain", help="stop a node taking new sessions; it exits once its sessions end",
        description="Drain a running node: it takes no new session (joins go to another "
        "node, or are told to retry), finishes the sessions it runs, then exits 0. "
        "/readyz says draining meanwhile. Exit 0 once drain began (with --wait: once the "
        "node has stopped), 1 if the node cannot be reached or refuses, or --timeout "
        "passed.")
    cmd.add_argument("--node-url", default=os.environ.get("OPENTUTOR_NODE_URL",
                                                          "http://127.0.0.1:8080"),
                     help="the node's own base URL, not a load balancer's "
                     "(default: OPENTUTOR_NODE_URL or http://127.0.0.1:8080)")
    cmd.add_argument("--api-key", default=os.environ.get("OPENTUTOR_API_KEY"),
                     help="the platform API key (default: OPENTUTOR_API_KEY, else the "
                     "data directory's secrets.json)")
    cmd.add_argument("--data-dir", default=os.environ.get("OPENTUTOR_DATA_DIR", "data"),
                     help="where to find secrets.json when no key is given")
    cmd.add_argument("--wait", action="store_true",
                     help="wait until the node has finished its sessions and stopped")
    cmd.add_argument("--timeout", type=float, default=0.0,
                     help="with --wait: give up after this many seconds (default: never)")
    cmd.set_defaults(func=run)


def _api_key(args: argparse.Namespace) -> str:
    if args.api_key:
        return str(args.api_key)
    path = Path(args.data_dir) / "secrets.json"
    try:
        return str(json.loads(path.read_text())["api_key"])
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"opentutor drain: no --api-key and none in {path} ({exc})") from None


def _call(url: str, key: str, method: str) -> dict[str, Any]:
    request = urllib.request.Request(url, method=method,
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
        return body


def run(args: argparse.Namespace) -> int:
    base = args.node_url.rstrip("/")
    key = _api_key(args)
    try:
        state = _call(base + "/api/v1/node/drain", key, "POST")
    except urllib.error.HTTPError as exc:
        sys.stderr.write(f"opentutor drain: {base} answered {exc.code}: "
                         f"{exc.read().decode(errors='replace')[:300]}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"opentutor drain: cannot reach {base}: {exc}\n")
        return 1
    print(json.dumps(state), flush=True)
    if not args.wait:
        return 0
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    last = state.get("rooms")
    while deadline is None or time.monotonic() < deadline:
        time.sleep(POLL_S)
        try:
            state = _call(base + "/api/v1/node", key, "GET")
        except urllib.error.HTTPError as exc:
            sys.stderr.write(f"opentutor drain: {base} answered {exc.code}\n")
            return 1
        except OSError:  # the node stopped listening: drained and gone
            print(json.dumps({"node": state.get("node"), "state": "stopped"}), flush=True)
            return 0
        if state.get("rooms") != last:
            last = state.get("rooms")
            print(json.dumps(state), flush=True)
    sys.stderr.write(f"opentutor drain: still {last} room(s) after {args.timeout:.0f} s\n")
    return 1
