"""What a room needs from the rest of the server, as Protocols: how it reaches browsers
(:class:`Outbox`), what it keeps (:class:`SessionStore`), its media layer, its clock, and
who listens to it. The server wires the real ones (``signaling/server/app.py``); the
room's unit tests pass fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rtc.clock import Clock
from rtc.room import MediaEvents, MediaRoom, Owner
from signaling.session.events import RoomListener
from signaling.session.outbound import Out
from signaling.session.room_recording import RecorderSource
from signaling.session.spec import RecordingChoice
from signaling.session.whiteboard import BoardOp


class SessionStore(Protocol):
    """What a room keeps of its session (:class:`signaling.store.sqlite.Store`)."""

    async def mark_started(self, session_id: str, at: str) -> None: ...
    async def mark_ended(self, session_id: str, at: str) -> None: ...
    async def add_chat(self, session_id: str, message: dict[str, Any]) -> None: ...
    async def chat(self, session_id: str, limit: int = 100) -> list[dict[str, Any]]: ...
    async def add_board_op(self, session_id: str, entry: BoardOp) -> None: ...
    async def upload(self, upload_id: str) -> dict[str, Any] | None: ...
    async def set_recording_choice(self, session_id: str, choice: RecordingChoice) -> None: ...
    async def recording_choice(self, session_id: str) -> RecordingChoice | None: ...
    # Observer visits (issue 16): who watched read-only, from when (ISO) to when.
    async def observer_joined(self, session_id: str, staff: str, at: str) -> None: ...
    async def observer_left(self, session_id: str, staff: str, joined: str, at: str) -> None: ...
    async def observers_left(self, session_id: str, at: str) -> None: ...


class Outbox(Protocol):
    """How a room reaches browsers (socket.io locally; a router across nodes). Events
    are :class:`~signaling.session.outbound.Out` names, documented in one place."""

    async def emit(self, event: Out, data: Any, *, to: str) -> None: ...
    async def broadcast(
        self, room: str, event: Out, data: Any, *, skip: str | None = None
    ) -> None: ...
    async def enter(self, sid: str, room: str) -> None: ...
    async def disconnect(self, sid: str, *, after: float = 0.0) -> None: ...


class MediaFactory(Protocol):
    def __call__(self, events: MediaEvents, owner: Owner) -> MediaRoom: ...


@dataclass(frozen=True)
class RoomDeps:
    store: SessionStore
    outbox: Outbox
    media: MediaFactory
    clock: Clock
    sign_url: Callable[[str], str]  # "/uploads/u_…" → signed, expiring URL
    grace_s: float = 30.0
    # An empty room ends itself: at once when past its scheduled end, else after this.
    idle_end_s: float = 1800.0
    # ICE servers for browsers ({urls, username, credential}), the same the server uses.
    browser_ice: tuple[dict[str, Any], ...] = ()
    # TURN entries minted per person at each welcome (person id, now): time-limited
    # credentials (signaling/server/turn.py); None without --turn-url.
    turn_ice: Callable[[str, float], list[dict[str, Any]]] | None = None
    on_closed: Callable[[str], Awaitable[None]] | None = None
    recordings: RecorderSource | None = None  # None: this server does not record
    # Told what the room observes (presence, the end): the journal's JournalListener.
    listeners: tuple[RoomListener, ...] = ()

    def ice_for(self, person: str) -> list[dict[str, Any]]:
        """The ``iceServers`` a welcome gives ``person``: the static ones, then TURN."""
        turn = [] if self.turn_ice is None else self.turn_ice(person, self.clock.time())
        return [*self.browser_ice, *turn]
