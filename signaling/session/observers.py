"""Observers as the room owner sees them (issue 16: a supervisor opens a live session
read-only, as 巡课 is done in a classroom).

An observer receives everything a participant sees (everyone's media, the board, the
chat, the roster) and can do nothing else. They are kept apart from
:class:`~signaling.session.participants.Participant` on purpose: everything that pays
teachers or describes the class (the roster, presence, media evidence, attendance,
feedback) is built from participants, so an observer cannot leak into it by a missing
``if``. Their visits are written to the session store instead (who, from when to when),
so the session's record shows who watched and nobody can watch unseen.

Pure data; only the room owner mutates these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signaling.session.roles import OBSERVER, OBSERVER_PREFIX


@dataclass
class Observer:
    id: str  # OBSERVER_PREFIX + staff username (roles.observer_id)
    sid: str | None = None  # the socket.io connection watching now
    joined_at: str | None = None  # the open visit's start (ISO), the store's key for it

    @property
    def staff(self) -> str:
        return self.id.removeprefix(OBSERVER_PREFIX)

    def wire(self) -> dict[str, Any]:
        """``you`` in an observer's welcome: shaped like a person, so the browser's
        code for "me" works unchanged, with the role that makes it read-only."""
        return {
            "id": self.id,
            "name": self.staff,
            "role": OBSERVER,
            "present": self.sid is not None,
            "hand": False,
            "stage": False,
            "pen": False,
            "media": {"audio": False, "video": False},
        }
