"""What each person may do, decided by the server from form, role and grants.

Pure. The browser is told its capabilities (``caps``) but every command is
checked here again: a client cannot grant itself anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.session.spec import BROADCAST_FORMS

AV = frozenset({"audio", "video"})
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Grants:
    """What an instructor has granted a learner in a lecture or classroom."""

    stage: bool = False  # "on stage": microphone and camera, heard and seen by all
    pen: bool = False  # may draw on the whiteboard


@dataclass(frozen=True)
class Caps:
    publish: frozenset[str]
    draw: bool
    grant: bool
    end: bool
    report: bool

    def wire(self) -> dict[str, object]:
        return {
            "publish": sorted(self.publish),
            "draw": self.draw,
            "grant": self.grant,
            "end": self.end,
            "report": self.report,
        }


def caps_for(form: str, role: str, grants: Grants) -> Caps:
    """Capabilities of a person.

    - Instructors publish, draw and end the session in every form; they grant
      stage and pen only where there is an audience (lecture, classroom); in a
      review the instructors are the reviewers and write reports.
    - Learners publish and draw freely in one_to_one and review (where the
      learner presents); in a lecture or classroom only what was granted.
    """
    if role == "instructor":
        return Caps(AV, True, form in BROADCAST_FORMS, True, form == "review")
    if form in BROADCAST_FORMS:
        return Caps(AV if grants.stage else NOTHING, grants.pen, False, False, False)
    return Caps(AV, True, False, False, False)


def may_undo(role: str, stroke_author: str, person: str) -> bool:
    """Anyone may undo their own stroke; an instructor may undo anyone's."""
    return role == "instructor" or stroke_author == person
