"""A participant as the room owner sees it, and how it is shown to others.

Pure data; only the room owner mutates these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from signaling.session.roles import Caps, Grants, caps_for
from signaling.session.spec import Person


@dataclass
class Participant:
    person: Person
    form: str
    sid: str | None = None  # the socket.io connection now carrying this person
    grants: Grants = field(default_factory=Grants)
    hand: bool = False
    invited: bool = False  # asked onto the stage by an instructor, not answered yet
    muted: bool = False  # an instructor muted them; they unmute themselves
    intent: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    observed: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    # Bumped on every (re)connect so a stale grace timer knows it lost the race.
    generation: int = 0
    joined_once: bool = False
    # The session's organiser (``SessionSpec.organiser``): in a review, ends it.
    organiser: bool = False

    @property
    def id(self) -> str:
        return self.person.id

    @property
    def present(self) -> bool:
        return self.sid is not None

    @property
    def caps(self) -> Caps:
        return caps_for(self.form, self.person.role, self.grants, self.organiser)

    @property
    def forwarded(self) -> frozenset[str]:
        """What the server forwards of theirs: what they may publish, less their sound
        while muted (the server cannot silence a microphone; it stops passing it on)."""
        publish = self.caps.publish
        return publish - {"audio"} if self.muted else publish

    def grant(self, what: str, on: bool) -> None:
        self.grants = replace(self.grants, **{what: on})
        if what == "stage":
            self.invited = False
        if on:  # the stage or the pen answers the raised hand
            self.hand = False

    def wire(self) -> dict[str, Any]:
        return {
            **self.person.public(),
            "present": self.present,
            "hand": self.hand,
            "stage": self.grants.stage,
            "pen": self.grants.pen,
            "media": dict(self.observed),
            "invited": self.invited,
            "muted": self.muted,
        }
