"""Booking's pure rules (signaling/booking/rules.py), with ``now`` passed by hand: slots
in the open hours and the lengths, overlap, capacity, cut-offs, the join window, the
reminders due, and the policy table's checks."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.booking import rules
from signaling.booking.rules import (
    Booked,
    BookingPolicy,
    NewOffer,
    Offer,
    Refused,
    Seat,
    Who,
)

H = 3600
POLICY = BookingPolicy()
LENGTHS = {"one_to_one": (10, 60), "lecture": (60, 90), "review": (45, 120)}
T = Who("t1", "王老师")
# Open 18:00–22:00 "today" (day 0 starts at 0): as epoch µs windows.
OPEN = ((18 * H * 1_000_000, 22 * H * 1_000_000),)


def windows(start_us: int, end_us: int) -> tuple[tuple[int, int], ...]:
    return OPEN


def offer(oid: str = "o_1", start: int = 19 * H, minutes: int = 30, form: str = "one_to_one",
          capacity: int = 1, **extra: Any) -> Offer:
    return Offer(oid, form, T, "t", start, minutes, capacity, 0, **extra)


def seat(learner: str, oid: str = "o_1") -> Seat:
    return Seat(f"b_{learner}", oid, Who(learner, learner), 0)


def publish(new: NewOffer, now: float = 10 * H, theirs: tuple[Offer, ...] = ()) -> int:
    return rules.check_publish(new, now=now, policy=POLICY, lengths=LENGTHS, windows=windows,
                               theirs=theirs)


@pytest.mark.parametrize(("new", "code"), [
    (NewOffer("one_to_one", 19 * H, 30), None),
    (NewOffer("one_to_one", 18 * H, 10), None),  # the window's first minutes
    (NewOffer("one_to_one", 21 * H + 30 * 60, 30), None),  # ends at 22:00 exactly
    (NewOffer("one_to_one", 21 * H + 31 * 60, 30), "closed"),
    (NewOffer("one_to_one", 17 * H + 50 * 60, 30), "closed"),
    (NewOffer("one_to_one", 19 * H, 9), "length"),
    (NewOffer("one_to_one", 19 * H, 61), "length"),
    (NewOffer("lecture", 19 * H, 60, capacity=0), "capacity"),
    (NewOffer("lecture", 19 * H, 60, capacity=301), "capacity"),
    (NewOffer("review", 19 * H, 44), "length"),
    (NewOffer("seminar", 19 * H, 30), "form"),
    (NewOffer("one_to_one", 10 * H, 30), "in_past"),
    (NewOffer("one_to_one", 10 * H + 29 * 86400, 30), "too_far"),
])
def test_publishing(new: NewOffer, code: str | None) -> None:
    if code is None:
        assert publish(new) == 1
        return
    with pytest.raises(Refused) as refused:
        publish(new)
    assert refused.value.code == code


def test_a_lecture_gets_its_capacity_a_review_one_place() -> None:
    assert publish(NewOffer("lecture", 19 * H, 60, capacity=40)) == 40
    assert publish(NewOffer("review", 19 * H, 60, capacity=40)) == 1


def test_overlap_and_the_teachers_bound() -> None:
    mine = (offer(start=19 * H, minutes=30),)
    with pytest.raises(Refused, match="overlaps"):
        publish(NewOffer("one_to_one", 19 * H + 20 * 60, 30), theirs=mine)
    assert publish(NewOffer("one_to_one", 19 * H + 30 * 60, 30), theirs=mine) == 1  # touching
    cancelled = (offer(start=19 * H, state="cancelled"),)
    assert publish(NewOffer("one_to_one", 19 * H, 30), theirs=cancelled) == 1
    many = tuple(offer(f"o_{i}", start=86400 * 2 + i * H)
                 for i in range(POLICY.max_upcoming_per_teacher))
    with pytest.raises(Refused) as refused:
        publish(NewOffer("one_to_one", 19 * H, 30), theirs=many)
    assert refused.value.code == "too_many"


def book(learner: str, got: Booked, now: float = 10 * H) -> Offer:
    return rules.check_book(learner, got, now=now, policy=POLICY)


def test_booking_rules() -> None:
    o = offer()
    assert book("l1", Booked(o, ())) == o
    cases: list[tuple[str, Booked, float, str]] = [
        ("l1", Booked(None, ()), 10 * H, "gone"),
        ("l1", Booked(offer(state="cancelled"), ()), 10 * H, "gone"),
        ("t1", Booked(o, ()), 10 * H, "same_person"),
        ("l1", Booked(o, ()), 19 * H, "started"),
        ("l1", Booked(offer(session_id="s_1"), ()), 10 * H, "opened"),
        ("l1", Booked(o, (seat("l1"),)), 10 * H, "already"),
        ("l2", Booked(o, (seat("l1"),)), 10 * H, "full"),
        ("l2", Booked(o, (), ((seat("l2", "o_2"), offer("o_2", start=19 * H + 600)),)),
         10 * H, "overlap"),
    ]
    for learner, got, now, code in cases:
        with pytest.raises(Refused) as refused:
            book(learner, got, now)
        assert refused.value.code == code, (learner, got, code)
    lecture = offer(form="lecture", capacity=2, minutes=60)
    assert book("l3", Booked(lecture, (seat("l1"),))) == lecture
    with pytest.raises(Refused) as full:
        book("l3", Booked(lecture, (seat("l1"), seat("l2"))))
    assert (full.value.code, full.value.detail) == ("full", {"capacity": 2})


def test_cancelling_until_the_cut_off() -> None:
    o = offer(start=19 * H)
    cutoff = 19 * H - POLICY.cancel_cutoff_minutes * 60
    assert rules.check_cancel(o, now=cutoff - 1, policy=POLICY, booked=1) == o
    with pytest.raises(Refused) as late:
        rules.check_cancel(o, now=cutoff, policy=POLICY, booked=1)
    assert late.value.code == "cutoff" and late.value.detail["closed_at"] == cutoff
    # Nobody booked: the teacher may withdraw it until the start.
    assert rules.check_cancel(o, now=19 * H - 1, policy=POLICY, booked=0) == o
    with pytest.raises(Refused, match="room is open"):
        rules.check_cancel(offer(session_id="s_1"), now=0, policy=POLICY, booked=1)


def test_the_join_window() -> None:
    o = offer(start=19 * H, minutes=30)
    seats = (seat("l1"),)
    opens = 19 * H - POLICY.join_early_minutes * 60
    with pytest.raises(Refused) as early:
        rules.check_join(o, "l1", seats, now=opens - 1, policy=POLICY)
    assert early.value.code == "not_yet" and early.value.detail["opens_at"] == opens
    assert rules.check_join(o, "l1", seats, now=opens, policy=POLICY) == "learner"
    assert rules.check_join(o, "t1", seats, now=opens, policy=POLICY) == "instructor"
    for who, got, now, code in [("l2", seats, opens, "not_booked"), ("t1", (), opens, "nobody"),
                                ("l1", seats, 19 * H + 1800, "over")]:
        with pytest.raises(Refused) as refused:
            rules.check_join(o, who, got, now=now, policy=POLICY)
        assert refused.value.code == code
    # A lecture opens for its teacher even before anyone enrolled.
    lecture = offer(form="lecture", capacity=5, minutes=60)
    assert rules.check_join(lecture, "t1", (), now=opens, policy=POLICY) == "instructor"


def test_reminders_due_once_each_and_not_after_the_start() -> None:
    o = offer(start=19 * H)
    rows = [(o, (seat("l1"), seat("l2"))), (offer("o_2", start=19 * H), ())]
    before = 19 * H - POLICY.remind_minutes * 60
    assert rules.reminders_due(rows, set(), now=before - 1, policy=POLICY) == []
    due = rules.reminders_due(rows, set(), now=before, policy=POLICY)
    assert [(d.person.id, d.role) for d in due] == [("t1", "instructor"), ("l1", "learner"),
                                                     ("l2", "learner")]
    sent = {("o_1", "t1"), ("o_1", "l1")}
    assert [d.person.id for d in rules.reminders_due(rows, sent, now=before, policy=POLICY)] \
        == ["l2"]
    assert rules.reminders_due(rows, set(), now=19 * H, policy=POLICY) == []


def test_the_policy_table() -> None:
    assert rules.parse_policy(None) == BookingPolicy()
    assert rules.parse_policy({"remind_minutes": 15}).remind_minutes == 15
    for table, field in [({"remind": 1}, "booking.remind"),
                         ({"remind_minutes": -1}, "booking.remind_minutes"),
                         ({"remind_minutes": True}, "booking.remind_minutes"),
                         ({"book_ahead_days": 0}, "booking.book_ahead_days")]:
        with pytest.raises(rules.PolicyProblem, match=field):
            rules.parse_policy(table)


def test_the_shipped_training_policy_has_the_table() -> None:
    import tomllib

    from recorder.credits.policy import POLICY_DIR

    data = tomllib.loads((POLICY_DIR / "training.toml").read_text(encoding="utf-8"))
    assert rules.parse_policy(data["booking"]) == BookingPolicy()  # the defaults, written out
