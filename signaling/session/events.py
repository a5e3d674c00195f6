"""What a room tells its listeners, typed: the presence journal is one listener among
possible others (Galène's habit: the disk writer is just another client of the group).

The room does not know the journal: it reports :class:`Observed` (a presence
observation of one person, a :class:`recorder.presence.tracker.Kind`) and :class:`Ended`, and
each listener in ``RoomDeps.listeners`` gets them, in order, on the room's owner task or
from the media layer's callbacks. A listener must not block and must not raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from recorder.presence.evidence import Second
from recorder.presence.tracker import Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Observed:
    """The server observed something of ``person``'s presence (never a client claim)."""

    person: str
    kind: Kind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Sampled:
    """One second of ``person``'s media evidence (``second``: its first epoch second)."""

    person: str
    second: int
    sample: Second


@dataclass(frozen=True, slots=True)
class Started:
    """The session's first join: it is live from now."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The session ended: everyone's presence closes now."""


RoomEvent = Observed | Sampled | Started | Ended


class RoomListener(Protocol):
    def room_event(self, session_id: str, event: RoomEvent) -> None: ...


class PresenceJournal(Protocol):
    """The journal as its listener needs it (:class:`recorder.presence.journal.Journal`)."""

    def observe(self, session_id: str, person: str, kind: str, detail: str = "") -> None: ...

    def end_session(self, session_id: str) -> None: ...

    def sample(self, session_id: str, person: str, second: int, s: Second) -> None: ...


class JournalListener:
    """Writes a room's presence events to the presence journal."""

    def __init__(self, journal: PresenceJournal) -> None:
        self._journal = journal

    def room_event(self, session_id: str, event: RoomEvent) -> None:
        if isinstance(event, Observed):
            self._journal.observe(session_id, event.person, event.kind, event.detail)
        elif isinstance(event, Sampled):
            self._journal.sample(session_id, event.person, event.second, event.sample)
        elif isinstance(event, Ended):
            self._journal.end_session(session_id)


def tell(listeners: tuple[RoomListener, ...], session_id: str, event: RoomEvent) -> None:
    """Give ``event`` to every listener; one that raises is logged and skipped, so that
    a failing listener never breaks the room or the media path."""
    for listener in listeners:
        try:
            listener.room_event(session_id, event)
        except Exception:
            log.exception("room %s: listener %r failed on %r", session_id, listener, event)
