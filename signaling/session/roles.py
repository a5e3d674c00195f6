"""What each person may do, decided by the server from form, role and grants.

Pure. The browser is told its capabilities (``caps``) but every command is
checked here again: a client cannot grant itself anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.session.spec import BROADCAST_FORMS

AV = frozenset({"audio", "video"})
NOTHING: frozenset[str] = frozenset()

# A supervisor watching a live session read-only (issue 16, 巡课). Not a person of the
# session: they are not in its roster, its presence journal or its pay. In the room they
# are known by ``OBSERVER_PREFIX + staff username``, a name no roster id can have
# (``declarations.PERSON_ID`` has no "~"), so an observer can never be taken for, or
# replace, a participant whose id happens to equal a staff username.
OBSERVER = "observer"
OBSERVER_PREFIX = "~"


def observer_id(staff: str) -> str:
    """The room's name for the observer seat of staff member ``staff``."""
    return OBSERVER_PREFIX + staff


def is_observer(person: str) -> bool:
    """Whether a room-side person id is an observer seat (never a participant)."""
    return person.startswith(OBSERVER_PREFIX)


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


# An observer's capabilities: nothing to publish, draw, grant, end or report.
OBSERVING = Caps(NOTHING, False, False, False, False)


def caps_for(form: str, role: str, grants: Grants, organiser: bool = False) -> Caps:
    """Capabilities of a person.

    - Instructors publish and draw in every form; they grant stage and pen only
      where there is an audience (lecture, classroom); in a review the instructors
      are the reviewers and write reports.
    - Who ends the session (and switches its recording, ``room._record``): the
      instructor in one_to_one, lecture and classroom. In a review, the presenter's
      side: the presenter (the review's one learner: it is their lesson and their
      45-minute discussion) and the review's organiser (``organiser``: the first
      reviewer in the session's ``people``, ``SessionSpec.organiser``). The other
      reviewers leave when they are done; they do not end the discussion for all.
    - Learners publish and draw freely in one_to_one and review (where the
      learner presents); in a lecture or classroom only what was granted.
    - Observers (supervisors) may do nothing but receive, in every form.
    """
    if role == OBSERVER:
        return OBSERVING
    review = form == "review"
    if role == "instructor":
        return Caps(AV, True, form in BROADCAST_FORMS, organiser or not review, review)
    if form in BROADCAST_FORMS:
        return Caps(AV if grants.stage else NOTHING, grants.pen, False, False, False)
    return Caps(AV, True, False, review, False)


def may_invite(caps: Caps, target_role: str) -> bool:
    """Stage and pen go to learners, from someone who may grant (lecture, classroom)."""
    return caps.grant and target_role == "learner"


def may_mute(role: str, target_role: str) -> bool:
    """An instructor may mute a learner in every form (a one_to_one's noisy room too);
    never another instructor, and learners mute nobody."""
    return role == "instructor" and target_role == "learner"


def may_undo(role: str, stroke_author: str, person: str) -> bool:
    """Anyone may undo their own stroke; an instructor may undo anyone's."""
    return role == "instructor" or stroke_author == person
