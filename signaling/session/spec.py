"""The session model: programmes, forms, people, and the rules on who may be in one.

Pure: no I/O. ``parse_new_session`` turns a ``POST /api/v1/sessions`` body into
a :class:`SessionSpec` or raises :class:`~signaling.session.schema.Invalid` naming the
field, so nothing half-created is ever stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from recorder.credits.places import BEIJING_DISTRICTS, district_code_of
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.schema import Invalid
from signaling.session.timefmt import iso

PROGRAMMES: tuple[str, ...] = get_args(d.Programme)
ROLES: tuple[str, ...] = get_args(d.Role)
# training: 名师直播讲堂 lecture, 一对一实时研修 one_to_one, 开放式检课 review.
# tutoring: 一对一实时辅导 one_to_one, 一对多互动课堂 classroom.
FORMS: dict[str, tuple[str, ...]] = {
    "training": ("lecture", "one_to_one", "review"),
    "tutoring": ("one_to_one", "classroom"),
}
BROADCAST_FORMS = ("lecture", "classroom")
# "每次检课指导教师不超过3位" (seed 001, 四(三)3).
MAX_REVIEWERS = 3
MAX_SESSION_LENGTH = timedelta(hours=12)
ID_PATTERN = re.compile(d.PERSON_ID)


@dataclass(frozen=True)
class Person:
    """``school``/``district`` are names, for display; ``school_id``/``district_code``
    (empty when not given) are what the same-school / same-district rule compares."""

    id: str
    name: str
    role: str
    school: str = ""
    district: str = ""
    school_id: str = ""
    district_code: str = ""

    def public(self) -> dict[str, str]:
        """What other participants may see: no school or district."""
        return {"id": self.id, "name": self.name, "role": self.role}

    def record(self) -> dict[str, str]:
        """The record's ``people[]`` entry (docs/record.md). Places and codes only when
        known: a record never states an empty one (the credits read an empty name as
        a malformed record, and a missing one as unknown)."""
        out = {"id": self.id, "name": self.name, "role": self.role}
        for key in ("school", "district", "school_id", "district_code"):
            if value := getattr(self, key):
                out[key] = value
        return out


@dataclass(frozen=True)
class SessionSpec:
    programme: str
    form: str
    title: str
    scheduled_start: datetime
    scheduled_end: datetime
    record: bool
    people: tuple[Person, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    @property
    def instructors(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role == "instructor")

    @property
    def learners(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role == "learner")

    @property
    def organiser(self) -> str | None:
        """The person who runs the session beside its presenter: the first instructor in
        the order of ``people`` (the order the platform sent, kept by the store). In a
        review that is the first reviewer listed; elsewhere the one instructor."""
        return next((p.id for p in self.people if p.role == "instructor"), None)


def parse_new_session(body: Any) -> SessionSpec:
    """Validate a new-session body (declared as :class:`signaling.session.declarations.NewSession`).
    Rules per form, checked after decoding:

    - ``one_to_one``: exactly one instructor and one learner.
    - ``lecture`` / ``classroom``: exactly one instructor, any number of learners.
    - ``review``: exactly one learner (the teacher presenting a lesson) and one to
      three reviewing instructors ("每次检课指导教师不超过3位").
    """
    new = schema.decode(d.NewSession, body)
    if new.form not in FORMS[new.programme]:
        options = ", ".join(f'"{o}"' for o in FORMS[new.programme])
        raise Invalid("form", f"must be one of {options} (a {new.programme} session)")
    start = new.scheduled_start.astimezone(UTC)
    end = new.scheduled_end.astimezone(UTC)
    if end <= start:
        raise Invalid("scheduled_end", "must be after scheduled_start")
    if end - start > MAX_SESSION_LENGTH:
        raise Invalid("scheduled_end", "a session may be scheduled for at most 12 hours")
    people = [
        Person(
            p.id,
            p.name,
            p.role,
            p.school or "",
            p.district or "",
            p.school_id or "",
            p.district_code or "",
        )
        for p in new.people
    ]
    seen: set[str] = set()
    for i, person in enumerate(people):
        if person.id in seen:
            raise Invalid(f"people[{i}].id", f'"{person.id}" appears twice')
        seen.add(person.id)
        _check_district(i, person)
    _check_roles(new.form, people)
    return SessionSpec(new.programme, new.form, new.title, start, end, new.record, tuple(people))


def _check_district(i: int, person: Person) -> None:
    """A Beijing code (1101xx) must be one of the 16 districts (崇文 110103 and 宣武
    110104 were merged away in 2010), and a district name that is a Beijing district
    must name the same one as the code."""
    code = person.district_code
    if not code:
        return
    if code.startswith("1101") and code not in BEIJING_DISTRICTS:
        raise Invalid(
            f"people[{i}].district_code", f"{code} is not one of Beijing's 16 districts"
        )
    named = district_code_of(person.district) if person.district else None
    if named is not None and named != code:
        zh = BEIJING_DISTRICTS[named][0]
        raise Invalid(
            f"people[{i}].district_code",
            f'{code} does not match the district "{person.district}" ({zh} is {named})',
        )


def _check_roles(form: str, people: list[Person]) -> None:
    instructors = sum(p.role == "instructor" for p in people)
    learners = len(people) - instructors
    if form == "one_to_one" and (instructors, learners) != (1, 1):
        raise Invalid("people", "a one_to_one session needs exactly one instructor and one learner")
    if form in BROADCAST_FORMS and instructors != 1:
        raise Invalid("people", f"a {form} session needs exactly one instructor")
    if form == "review":
        if learners != 1:
            raise Invalid("people", "a review session needs exactly one learner (the presenter)")
        if not 1 <= instructors <= MAX_REVIEWERS:
            raise Invalid(
                "people", f"a review session takes one to {MAX_REVIEWERS} reviewing instructors"
            )


@dataclass(frozen=True)
class StoredSession:
    id: str
    spec: SessionSpec
    created_at: str
    started_at: str | None
    ended_at: str | None

    @property
    def state(self) -> str:
        if self.ended_at:
            return "ended"
        return "live" if self.started_at else "scheduled"

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.spec.title,
            "programme": self.spec.programme,
            "form": self.spec.form,
            "state": self.state,
            "record": self.spec.record,
            "scheduled_start": iso(self.spec.scheduled_start),
            "scheduled_end": iso(self.spec.scheduled_end),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


@dataclass(frozen=True)
class RecordingChoice:
    """Whether the session is to be recorded, as an instructor last chose (``record``
    event): it outlives the server, so a restart resumes exactly what was chosen."""

    on: bool
    by: str
    at: str
