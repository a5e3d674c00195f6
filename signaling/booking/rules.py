"""Booking's rules, pure (issue 14, item 4): what may be published, booked, cancelled and
joined, and which reminders are due. Every number is the training policy's
``[booking]`` table (or a form's length limits); ``now`` is always passed in, so the
tests drive it with a fake clock. No I/O: the store calls these inside its
transactions, with the rows it read there.

"名师直播讲堂、开放式检课采取预约方式，一对一实时研修采取预约与非预约相结合的方式" (seed 001):
a teacher publishes one-to-one slots or schedules a lecture or a review; learners book
or enrol; enrolment closes at the start (or when the room is opened, whichever first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

FORMS = ("one_to_one", "lecture", "review")
# A one-to-one slot has one learner; a review one presenting learner (the session's
# rule: "a review session needs exactly one learner"); a lecture what its teacher says.
FIXED_CAPACITY = {"one_to_one": 1, "review": 1}


@dataclass(frozen=True)
class BookingPolicy:
    """The training policy's ``[booking]`` numbers (defaults: an older policy file)."""

    remind_minutes: int = 30  # the reminder goes out this long before the start
    cancel_cutoff_minutes: int = 60  # cancelling closes this long before the start
    join_early_minutes: int = 10  # the join link opens the room this long before
    book_ahead_days: int = 28  # how far ahead a teacher may publish
    max_upcoming_per_teacher: int = 60  # a teacher's published, not yet ended offers
    max_upcoming_per_learner: int = 20  # a learner's booked, not yet ended seats
    max_lecture_capacity: int = 300
    review_max_minutes: int = 120  # a review's length (its minimum: the discussion's)


class PolicyProblem(ValueError):
    pass


def parse_policy(table: Mapping[str, Any] | None) -> BookingPolicy:
    """The ``[booking]`` table as numbers; :class:`PolicyProblem` names a bad field."""
    if not table:
        return BookingPolicy()
    known = {f.name for f in fields(BookingPolicy)}
    values: dict[str, int] = {}
    for key, value in table.items():
        if key not in known:
            raise PolicyProblem(f"booking.{key}: unknown field; known: {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PolicyProblem(f"booking.{key}: must be a whole number, 0 or more")
        values[key] = value
    out = BookingPolicy(**values)
    for key in ("book_ahead_days", "max_upcoming_per_teacher", "max_upcoming_per_learner",
                "max_lecture_capacity", "review_max_minutes"):
        if getattr(out, key) < 1:
            raise PolicyProblem(f"booking.{key}: must be at least 1")
    return out


@dataclass(frozen=True)
class Who:
    """A person as the platform's pass names them (codes for the same-school rule)."""

    id: str
    name: str
    school: str = ""
    district: str = ""
    school_id: str = ""
    district_code: str = ""


@dataclass(frozen=True)
class Offer:
    """A published slot (``one_to_one``), lecture or review. Times in epoch seconds."""

    id: str
    form: str
    teacher: Who
    title: str
    start: int
    minutes: int
    capacity: int
    created_at: int
    state: str = "open"  # open | cancelled
    session_id: str | None = None  # set once the room is opened: enrolment closed
    base_url: str = ""  # for the reminders' links (the publishing page's server)
    cancelled_at: int | None = None

    @property
    def end(self) -> int:
        return self.start + self.minutes * 60


@dataclass(frozen=True)
class Seat:
    """One learner's booking of an offer."""

    id: str
    offer_id: str
    learner: Who
    booked_at: int
    state: str = "booked"  # booked | cancelled
    cancelled_at: int | None = None
    cancelled_by: str = ""  # learner | teacher


class Refused(Exception):
    """A rule said no: ``code`` for the page's words, ``detail`` its numbers."""

    def __init__(self, code: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.detail = code, message, detail


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Half-open intervals: a slot ending at 19:00 and one starting at 19:00 do not."""
    return a_start < b_end and b_start < a_end


# A function from an instant range to the open-hour windows touching it (epoch µs
# pairs): the calendar's ``open_intervals`` with the policy's open hours bound in.
Windows = Callable[[int, int], Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class NewOffer:
    form: str
    start: int
    minutes: int
    title: str = ""
    capacity: int | None = None


def check_publish(new: NewOffer, *, now: float, policy: BookingPolicy,
                  lengths: Mapping[str, tuple[int, int]], windows: Windows,
                  theirs: Iterable[Offer]) -> int:
    """Whether a teacher may publish ``new`` beside their open offers ``theirs``; the
    capacity it gets. Refusals: ``in_past``, ``too_far``, ``length``, ``closed``,
    ``capacity``, ``overlap``, ``too_many``."""
    if new.form not in FORMS:
        raise Refused("form", f"form must be one of {', '.join(FORMS)}")
    if new.start <= now:
        raise Refused("in_past", "the start has passed")
    if new.start > now + policy.book_ahead_days * 86400:
        raise Refused("too_far", f"at most {policy.book_ahead_days} days ahead",
                      days=policy.book_ahead_days)
    lo, hi = lengths[new.form]
    if not lo <= new.minutes <= hi:
        raise Refused("length", f"a {new.form} lasts {lo} to {hi} minutes", min=lo, max=hi)
    end = new.start + new.minutes * 60
    start_us, end_us = new.start * 1_000_000, end * 1_000_000
    if not any(a <= start_us and end_us <= b for a, b in windows(start_us, end_us)):
        raise Refused("closed", "not within the open hours of the calendar")
    capacity = FIXED_CAPACITY.get(new.form, new.capacity or 0)
    if new.form == "lecture" and not 1 <= capacity <= policy.max_lecture_capacity:
        raise Refused("capacity", f"a lecture takes 1 to {policy.max_lecture_capacity} "
                      "learners", max=policy.max_lecture_capacity)
    upcoming = [o for o in theirs if o.state == "open" and o.end > now]
    clash = next((o for o in upcoming if overlaps(new.start, end, o.start, o.end)), None)
    if clash is not None:
        raise Refused("overlap", "overlaps another of your offers", offer=clash.id)
    if len(upcoming) >= policy.max_upcoming_per_teacher:
        raise Refused("too_many", f"at most {policy.max_upcoming_per_teacher} upcoming offers",
                      max=policy.max_upcoming_per_teacher)
    return capacity


@dataclass(frozen=True)
class Booked:
    """What the store read for a booking, inside its transaction."""

    offer: Offer | None
    seats: Sequence[Seat]  # the offer's booked seats
    mine: Sequence[tuple[Seat, Offer]] = field(default_factory=tuple)  # learner's others


def check_book(learner: str, got: Booked, *, now: float, policy: BookingPolicy) -> Offer:
    """Whether ``learner`` may take a seat. Refusals: ``gone``, ``same_person``,
    ``started``, ``opened``, ``already``, ``full``, ``overlap``, ``too_many``."""
    offer = got.offer
    if offer is None or offer.state != "open":
        raise Refused("gone", "no such offer (or it was cancelled)")
    if offer.teacher.id == learner:
        raise Refused("same_person", "you cannot book your own offer")
    if now >= offer.start:
        raise Refused("started", "enrolment closed at the start")
    if offer.session_id is not None:
        raise Refused("opened", "enrolment closed: the room is open")
    if any(s.learner.id == learner for s in got.seats):
        raise Refused("already", "you have booked this already")
    if len(got.seats) >= offer.capacity:
        raise Refused("full", f"all {offer.capacity} places are taken", capacity=offer.capacity)
    upcoming = [(s, o) for s, o in got.mine if o.state == "open" and o.end > now]
    clash = next((o for _, o in upcoming if overlaps(offer.start, offer.end, o.start, o.end)),
                 None)
    if clash is not None:
        raise Refused("overlap", "overlaps another of your bookings", offer=clash.id)
    if len(upcoming) >= policy.max_upcoming_per_learner:
        raise Refused("too_many", f"at most {policy.max_upcoming_per_learner} upcoming "
                      "bookings", max=policy.max_upcoming_per_learner)
    return offer


def check_cancel(offer: Offer | None, *, now: float, policy: BookingPolicy,
                 booked: int) -> Offer:
    """Whether a booking (or, for its teacher, the offer with ``booked`` seats) may be
    cancelled now. An offer nobody booked may be withdrawn until its start; otherwise
    until ``cancel_cutoff_minutes`` before. Refusals: ``gone``, ``opened``, ``cutoff``."""
    if offer is None or offer.state != "open":
        raise Refused("gone", "no such offer (or it was cancelled)")
    if offer.session_id is not None:
        raise Refused("opened", "the room is open: it can no longer be cancelled")
    cutoff = offer.start - (policy.cancel_cutoff_minutes * 60 if booked else 0)
    if now >= cutoff:
        raise Refused("cutoff", f"cancelling closed {policy.cancel_cutoff_minutes} minutes "
                      "before the start", minutes=policy.cancel_cutoff_minutes,
                      closed_at=cutoff)
    return offer


def join_opens_at(offer: Offer, policy: BookingPolicy) -> int:
    return offer.start - policy.join_early_minutes * 60


def check_join(offer: Offer | None, person: str, seats: Sequence[Seat], *, now: float,
               policy: BookingPolicy) -> str:
    """The person's role in the room (``instructor`` or ``learner``), if they may go in
    now. Refusals: ``gone``, ``not_booked``, ``nobody``, ``not_yet``, ``over``."""
    if offer is None or offer.state != "open":
        raise Refused("gone", "no such offer (or it was cancelled)")
    if offer.teacher.id == person:
        role = "instructor"
    elif any(s.learner.id == person for s in seats):
        role = "learner"
    else:
        raise Refused("not_booked", "you have not booked this")
    if now >= offer.end:
        raise Refused("over", "it has ended")
    if offer.session_id is None:
        opens = join_opens_at(offer, policy)
        if now < opens:
            raise Refused("not_yet", "the room opens before the start", opens_at=opens)
        if not seats and offer.form in FIXED_CAPACITY:
            raise Refused("nobody", "nobody booked it")
    return role


@dataclass(frozen=True)
class Reminder:
    offer: Offer
    person: Who
    role: str  # instructor | learner


def reminders_due(offers: Iterable[tuple[Offer, Sequence[Seat]]], sent: set[tuple[str, str]],
                  *, now: float, policy: BookingPolicy) -> list[Reminder]:
    """Reminders to send now: for every open offer starting within ``remind_minutes``
    that someone booked, its teacher and each booked learner, unless already ``sent``
    (offer id, person id). None once the start has passed (too late to be useful)."""
    out: list[Reminder] = []
    for offer, seats in offers:
        if offer.state != "open" or not seats:
            continue
        if not now < offer.start <= now + policy.remind_minutes * 60:
            continue
        people = [(offer.teacher, "instructor")] + [(s.learner, "learner") for s in seats]
        out += [Reminder(offer, who, role) for who, role in people
                if (offer.id, who.id) not in sent]
    return out
