"""socket.io handlers: check the token, validate each event, hand it to the room.

Handlers never reach into a room's state: they turn events into commands and
return the room's answer as the ack. Connecting is joining; the token is
verified before the room is even looked up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from recorder.database import DatabaseUnavailable
from signaling.router.base import Draining, PlacementUnavailable, RoomElsewhere
from signaling.server import tokens
from signaling.server.pages import support_code
from signaling.server.services import Services
from signaling.session import messages
from signaling.session.log_context import PERSON, SESSION
from signaling.session.ratelimit import KeyedBuckets
from signaling.session.roles import OBSERVER, is_observer, observer_id
from signaling.session.room import Disconnected, FromClient, Join, RoomError, Welcome
from signaling.session.schema import Invalid

log = logging.getLogger(__name__)

# Per person per session, across reconnects. Generous for a person (ICE candidates
# come in bursts, strokes on each pen lift), small for a script.
EVENTS_PER_S = 20.0
EVENT_BURST = 60.0


# socket.io's own event names (the JS client refuses to emit them): never client events.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


# Stands in for a packet python-socketio could not decode (see SafePacket).
MALFORMED = "\x00malformed"
_EVENTS = (socketio.packet.EVENT, socketio.packet.BINARY_EVENT)
_FROM_CLIENTS = (*_EVENTS, socketio.packet.CONNECT, socketio.packet.DISCONNECT,
                 socketio.packet.ACK, socketio.packet.BINARY_ACK)


class SafePacket(socketio.packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, except that what its decoder would raise on (JSON
    nested deeper than the recursion limit, a bad type digit, an event that is not a
    non-empty list) becomes the event :data:`MALFORMED`, which the namespace refuses
    like any bad event: an ``error`` event, one log line, no traceback."""

    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet)
        except (ValueError, TypeError, RecursionError):
            self.packet_type, self.data, count = socketio.packet.EVENT, [MALFORMED], 0
        if self.packet_type not in _FROM_CLIENTS or (
            self.packet_type in _EVENTS and not (isinstance(self.data, list) and self.data)
        ):
            self.packet_type, self.data, count = socketio.packet.EVENT, [MALFORMED], 0
        return count

    def add_attachment(self, attachment: Any) -> bool:
        try:
            done: bool = super().add_attachment(attachment)
        except (ValueError, TypeError, RecursionError):
            self.data, done = [MALFORMED], True
        return done


def _refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    # The browser sees ``err.message`` and ``err.data = {code, message, support}`` in
    # connect_error. It shows its own words for ``code`` and the support code, never
    # ``message`` (a developer's sentence); the log line here joins the two.
    support = support_code()
    log.info("support %s: connection refused: %s (%s)", support, code, message)
    return socketio.exceptions.ConnectionRefusedError(
        message, {"code": code, "message": message, "support": support})


class SioOutbox:
    """The room's :class:`~signaling.session.room.Outbox` over a python-socketio server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._later: set[asyncio.Task[None]] = set()

    async def emit(self, event: str, data: Any, *, to: str) -> None:
        await self._sio.emit(event, data, to=to)

    async def broadcast(self, room: str, event: str, data: Any, *, skip: str | None = None) -> None:
        await self._sio.emit(event, data, room=room, skip_sid=skip)

    async def enter(self, sid: str, room: str) -> None:
        await self._sio.enter_room(sid, room)

    async def disconnect(self, sid: str, *, after: float = 0.0) -> None:
        if after <= 0:
            await self._sio.disconnect(sid)
            return

        async def later() -> None:
            await asyncio.sleep(after)
            await self._sio.disconnect(sid)

        task = asyncio.create_task(later())
        self._later.add(task)
        task.add_done_callback(self._later.discard)


class SessionNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, services: Services) -> None:
        super().__init__("/")
        self._services = services
        # Which session and person each local connection speaks for. Connection
        # metadata only: who is *in* a session is the room's business.
        self._who: dict[str, tuple[str, str]] = {}
        self._buckets = KeyedBuckets(EVENTS_PER_S, EVENT_BURST)  # by (session, person)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            grant = tokens.verify(
                self._services.config.secret, token, now=self._services.clock.time()
            )
        except tokens.TokenError as exc:
            log.info("refused connection %s: %s (%s)", sid, exc.code, exc.message)
            raise _refuse(exc.code, exc.message) from None
        try:
            room = await self._services.router.room(grant.session)
        except PlacementUnavailable as exc:
            log.info("refused connection %s: placement unavailable (%s)", sid, exc)
            why = ("this server is draining for maintenance" if isinstance(exc, Draining)
                   else "the server cannot place this session right now")
            raise _refuse("unavailable", f"{why}: try again in a few seconds") from None
        except DatabaseUnavailable as exc:
            log.warning("refused connection %s: %s", sid, exc)
            raise _refuse("unavailable", "the database is unavailable right now: try again "
                          "in a few seconds") from None
        except RoomElsewhere as moved:
            # Media must terminate where the room runs: send the browser there.
            raise socketio.exceptions.ConnectionRefusedError(
                "this session runs on another node",
                {"code": "moved", "message": "this session runs on another node", "url": moved.url},
            ) from None
        if room is None:
            session = await self._services.store.session(grant.session)
            if session is None:
                raise _refuse("unknown_session", "this session does not exist")
            raise _refuse("ended", "this session has ended")
        # An observer (a supervisor, issue 16) has a seat of their own in the room, named
        # apart from every participant: their staff username may equal a person's id.
        person = observer_id(grant.person) if grant.role == OBSERVER else grant.person
        if grant.role != OBSERVER and is_observer(person):  # no roster id looks like one
            raise _refuse("bad_token", "the join token's claims are malformed")
        try:
            await room.submit(Join(person, sid))
        except RoomError as exc:
            raise _refuse(exc.code, exc.message) from None
        self._who[sid] = (grant.session, person)
        self._buckets.connected(self._who[sid], self._services.clock.monotonic())
        # The welcome must follow socket.io's CONNECT packet, which is sent after
        # this handler returns; as a room command it also sees every earlier change.
        task = asyncio.create_task(room.submit(Welcome(person, sid)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        who = self._who.pop(sid, None)
        if who is None:
            return
        self._buckets.disconnected(who, self._services.clock.monotonic())
        room = self._services.router.running(who[0])
        if room is not None:
            room.post(Disconnected(sid))

    async def trigger_event(self, event: str, *args: Any) -> Any:
        who = self._who.get(args[0]) if args and isinstance(args[0], str) else None
        if who is not None:  # log lines while handling this event name them (own task)
            SESSION.set(who[0])
            PERSON.set(who[1])
        if not isinstance(event, str) or event == MALFORMED or (
            event in RESERVED_EVENTS and not self._lifecycle(event, args)
        ):
            return await self._refuse_name(args[0], event)
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], (args[1] if len(args) > 1 else None)
        try:
            return {"ok": True, **(await self._dispatch(sid, event, payload) or {})}
        except Invalid as exc:  # a few refusals carry their own code (stroke_too_long)
            code = getattr(exc, "code", "invalid")
            error = {"code": code, "message": str(exc), "field": exc.field}
        except RoomError as exc:
            error = exc.wire()
        await self.emit("error", {"event": event, **error}, to=sid)
        return {"ok": False, "error": error}

    def _lifecycle(self, event: str, args: tuple[Any, ...]) -> bool:
        """Whether this ``connect``/``disconnect`` comes from python-socketio itself.

        python-socketio routes a client's EVENT packet by its name alone, so a
        client emitting ``disconnect`` would reach :meth:`on_disconnect` (its
        presence ends while its socket stays open) and one emitting ``connect``
        would reach :meth:`on_connect` (a second join with any token). The real
        calls are told apart by what a client cannot send: a real connect passes
        this connection's own environ object (a client's payload is a fresh
        JSON value), and a real disconnect runs once the server has marked the
        socket as leaving (a client's event is only dispatched while connected).
        """
        sid = args[0] if args else None
        if event == "connect":
            return len(args) >= 2 and args[1] is self.server.get_environ(sid, self.namespace)
        if event == "disconnect":
            return not self.server.manager.is_connected(sid, self.namespace)
        return False

    async def _refuse_name(self, sid: str, event: Any) -> dict[str, Any]:
        if event == MALFORMED:
            event, why = None, "the message could not be decoded (malformed or nested too deep)"
        else:
            why = "reserved or malformed event name"
        log.info("refused event %.80r from %s: %s", event, sid, why)
        error = {"code": "invalid", "message": why, "field": ""}
        await self.emit("error", {"event": event if isinstance(event, str) else None, **error},
                        to=sid)
        return {"ok": False, "error": error}

    async def _dispatch(self, sid: str, event: str, payload: Any) -> dict[str, Any] | None:
        who = self._who.get(sid)
        if who is None:
            raise RoomError("not_joined", "this connection is not in a session")
        if not self._buckets.allow(who, self._services.clock.monotonic()):
            raise RoomError("rate_limited", "too many messages: slow down")
        command = messages.parse(event, payload)
        room = self._services.router.running(who[0])
        if room is None:
            raise RoomError("ended", "this session has ended")
        result: dict[str, Any] | None = await room.submit(FromClient(who[1], sid, command))
        return result
