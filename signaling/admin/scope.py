"""What a viewer may see (issue 16): the city office sees everything, a district office
its district's teachers and their sessions, a school its own teachers and their sessions.

A session belongs to the district and school of its instructors (the teacher of a
one-to-one or a lecture, the reviewers of a review): that is where a programme office
answers for the teaching. A person is seen by where they work (district code, school
id). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["city", "district", "school"]
LEVELS: tuple[Level, ...] = ("city", "district", "school")


@dataclass(frozen=True, slots=True)
class Scope:
    """A viewer's reach. ``who`` names them in the audit log ("api-key" for the platform)."""

    level: Level
    district_code: str = ""  # level "district" (and "school": the school's district)
    school_id: str = ""  # level "school"
    who: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown scope level {self.level!r}")
        if self.level == "district" and not self.district_code:
            raise ValueError("a district scope needs a district code")
        if self.level == "school" and not self.school_id:
            raise ValueError("a school scope needs a school id")

    def sees_person(self, district_code: str, school_id: str) -> bool:
        """Whether this viewer may see a person working at ``school_id`` in
        ``district_code`` (their statement, certificate, sessions)."""
        if self.level == "city":
            return True
        if self.level == "district":
            return district_code == self.district_code
        return school_id == self.school_id

    def sees_session(self, instructors: Iterable[tuple[str, str]]) -> bool:
        """Whether this viewer may see a session whose instructors work at these
        ``(district_code, school_id)`` places: one of them is in scope. The city sees
        every session, also one without an instructor (none should exist)."""
        if self.level == "city":
            return True
        return any(self.sees_person(d, s) for d, s in instructors)


def platform(who: str = "api-key") -> Scope:
    """The platform's API key: the whole city."""
    return Scope("city", who=who)
