"""The commands a room's owner task runs, and the error that refuses one. Client
messages arrive wrapped in :class:`FromClient`; the media layer's observations and work
as :class:`MediaNote` and :class:`MediaWork`; timers post :class:`GraceOver`,
:class:`IdleCheck` and :class:`FlushRoster`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtc.room import Work
from signaling.session import messages as m


class RoomError(Exception):
    """A command was refused; nothing changed."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def wire(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return error


# Commands the room owner runs (client commands come wrapped in ``FromClient``).
@dataclass(frozen=True)
class Join:
    person: str
    sid: str


@dataclass(frozen=True)
class Welcome:
    person: str
    sid: str


@dataclass(frozen=True)
class Disconnected:
    sid: str


@dataclass(frozen=True)
class GraceOver:
    person: str
    generation: int


@dataclass(frozen=True)
class IdleCheck:
    token: int


@dataclass(frozen=True)
class FlushRoster:
    """The roster's coalescing window is over: send what changed in it."""


@dataclass(frozen=True)
class FromClient:
    person: str
    sid: str
    command: m.Command


@dataclass(frozen=True)
class EndSession:
    by: str | None


@dataclass(frozen=True)
class MediaNote:
    """Something the media layer observed, applied to room state in order."""

    person: str
    kind: str  # "media_up" | "media_down" | "transport" | "renegotiate" | "tracks"
    data: Any = None


@dataclass(frozen=True)
class MediaWork:
    """Work the media layer hands the owner (a failed peer connection, its watchdog)."""

    work: Work


@dataclass(frozen=True)
class JoinResult:
    resumed: bool
