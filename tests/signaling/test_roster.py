"""The roster feed alone (signaling/session/roster.py): wires in, ``roster`` payloads
out, no room, no clock. What each audience is told, and that what it is told decodes
with the declaration the protocol document points to."""

from __future__ import annotations

from typing import Any

import msgspec

from signaling.session.declarations import Roster
from signaling.session.roster import RosterFeed, notable


def person(pid: str, role: str = "learner", **state: Any) -> dict[str, Any]:
    wire = {"id": pid, "name": pid.upper(), "role": role, "present": False, "hand": False,
            "stage": False, "pen": False, "media": {"audio": False, "video": False}}
    return {**wire, **state}


def roster(learners: int) -> list[dict[str, Any]]:
    return [person("t1", "instructor")] + [person(f"s{i}") for i in range(1, learners + 1)]


def arrive(feed: RosterFeed, pid: str, role: str = "learner", **state: Any) -> None:
    feed.hold(pid)
    feed.welcomed(person(pid, role, present=True, **state))


def ids(people: Any) -> list[str]:
    return [p["id"] for p in people]


def test_who_matters_to_learners_of_a_big_audience() -> None:
    assert notable(person("t1", "instructor"))  # even before the teacher is here
    assert not notable(person("s1", present=True))
    for grant in ("hand", "stage", "pen"):
        assert notable(person("s1", present=True, **{grant: True}))
        assert not notable(person("s1", present=False, **{grant: True}))  # gone


def test_a_listed_session_sends_everyone_one_delta_of_everything_changed() -> None:
    feed = RosterFeed(roster(3), listed=True)
    assert not feed.pending and feed.take().events == 0
    for pid in ("s1", "s2", "s3"):
        arrive(feed, pid)
    flush = feed.take()
    assert flush.events == 1 and flush.everyone is not None
    assert ids(flush.everyone.changed) == ["s1", "s2", "s3"]
    assert flush.everyone.wire()["audience"] == {"learners": 3, "listed": True}
    msgspec.convert(flush.everyone.wire(), Roster)
    assert not feed.pending and feed.take().events == 0  # told once


def test_a_held_person_is_in_no_delta_count_or_snapshot_until_welcomed() -> None:
    feed = RosterFeed(roster(2), listed=True)
    arrive(feed, "t1", "instructor")
    feed.take()
    feed.hold("s1")
    feed.update(person("s1", present=True, pen=True))  # granted before the welcome
    assert not feed.pending
    assert [p["present"] for p in feed.snapshot("t1", "instructor") if p["id"] == "s1"] == [False]
    assert feed.learners_present == 0
    feed.welcomed(person("s1", present=True, pen=True))
    flush = feed.take()
    assert flush.everyone is not None
    (s1,) = flush.everyone.changed
    assert s1["present"] and s1["pen"] and flush.everyone.learners == 1


def test_a_held_person_who_drops_before_the_welcome_is_released() -> None:
    feed = RosterFeed(roster(1), listed=True)
    feed.hold("s1")
    feed.update(person("s1", present=False))
    feed.update(person("s1", present=True, hand=True))  # not held any more: public
    assert ids(feed.take().everyone.changed) == ["s1"]  # type: ignore[union-attr]


def test_leave_and_rejoin_within_a_window_is_one_change_with_the_final_state() -> None:
    feed = RosterFeed(roster(2), listed=True)
    arrive(feed, "s1")
    feed.take()
    feed.update(person("s1", present=False))
    arrive(feed, "s1")
    flush = feed.take()
    assert flush.everyone is not None
    assert [(p["id"], p["present"]) for p in flush.everyone.changed] == [("s1", True)]


def test_big_audience_learners_get_a_count_and_the_people_who_matter() -> None:
    feed = RosterFeed(roster(500), listed=False)
    arrive(feed, "t1", "instructor")
    for i in range(1, 301):
        arrive(feed, f"s{i}")
    flush = feed.take()
    assert flush.instructors is not None and flush.learners is not None
    assert len(flush.instructors.changed) == 301  # instructors: everyone, coalesced
    assert flush.instructors.wire()["audience"] == {"learners": 300, "listed": True}
    learners = flush.learners.wire()
    assert learners == {"added": [], "changed": [flush.instructors.changed[0]], "removed": [],
                        "audience": {"learners": 300, "listed": False}}
    assert flush.selves == ()
    for delta in (flush.instructors, flush.learners):
        msgspec.convert(delta.wire(), Roster)
    # A newcomer learner's snapshot: the teacher and themselves, not 300 others.
    assert ids(feed.snapshot("s7", "learner")) == ["t1", "s7"]
    assert feed.audience("learner") == {"learners": 300, "listed": False}
    assert len(feed.snapshot("t1", "instructor")) == 501


def test_big_audience_hands_come_and_go_and_a_learner_hears_their_own_state() -> None:
    feed = RosterFeed(roster(300), listed=False)
    arrive(feed, "t1", "instructor")
    arrive(feed, "s1")
    arrive(feed, "s2")
    feed.take()
    feed.update(person("s1", present=True, hand=True))
    flush = feed.take()
    assert flush.learners is not None and ids(flush.learners.added) == ["s1"]
    assert flush.selves == ()  # the learners' delta told s1 too
    assert ids(feed.snapshot("s2", "learner")) == ["t1", "s1", "s2"]
    feed.update(person("s1", present=True, hand=False))  # lowered: s1 leaves the list
    flush = feed.take()
    assert flush.learners is not None and flush.learners.removed == ("s1",)
    (own,) = flush.selves
    assert ids(own.changed) == ["s1"] and own.changed[0]["hand"] is False
    assert flush.instructors is not None and ids(flush.instructors.changed) == ["s1"]
    # A change of a learner nobody lists: the instructors hear of it, the learner alone.
    feed.update(person("s2", present=True, media={"audio": False, "video": True}))
    flush = feed.take()
    assert flush.learners is None and ids(flush.selves[0].changed) == ["s2"]
    # A learner who leaves: only the count for the other learners.
    feed.update(person("s2", present=False))
    flush = feed.take()
    assert flush.learners is not None and flush.learners.wire()["audience"]["learners"] == 1
    assert flush.selves == () and not flush.learners.removed


def test_a_teacher_leaving_a_big_audience_stays_listed_as_gone() -> None:
    feed = RosterFeed(roster(300), listed=False)
    arrive(feed, "t1", "instructor")
    arrive(feed, "s1")
    feed.take()
    feed.update(person("t1", "instructor", present=False))
    flush = feed.take()
    assert flush.learners is not None
    assert [(p["id"], p["present"]) for p in flush.learners.changed] == [("t1", False)]
    assert flush.learners.removed == ()
