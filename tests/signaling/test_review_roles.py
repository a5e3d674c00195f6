"""Who runs an open lesson review (issue 12, item 6): the presenter's side ends it —
the presenter (the review's one learner) and the organiser (the first reviewer in the
session's ``people``); the other reviewers may not end the discussion for everyone,
nor switch the recording. Decided by ``roles.caps_for`` and checked again by the room;
the presenter's clock carries the discussion's counted minutes toward the 45."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from signaling.session import messages as m
from signaling.session.roles import Grants, caps_for
from signaling.session.room import RoomError
from signaling.session.spec import parse_new_session
from tests.signaling.test_clock_api import present
from tests.signaling.test_room_unit import Harness, started
from tests.support import ONE_TO_ONE, ServerHandle, lecture

REVIEW: dict[str, Any] = {
    **copy.deepcopy(ONE_TO_ONE),
    "form": "review",
    "people": [
        {"id": pid, "name": name, "role": role, "school": school, "district": district}
        for pid, name, role, school, district in (
            ("r1", "评课老师一", "instructor", "S1", "通州"),  # the organiser: listed first
            ("p1", "上课老师", "learner", "S7", "密云"),  # the presenter
            ("r2", "评课老师二", "instructor", "S2", "海淀"),
            ("r3", "评课老师三", "instructor", "S3", "延庆"),
        )
    ],
}


def test_the_organiser_is_the_first_instructor_listed() -> None:
    assert parse_new_session(REVIEW).organiser == "r1"
    reordered = {**REVIEW, "people": [REVIEW["people"][i] for i in (1, 3, 0, 2)]}
    assert parse_new_session(reordered).organiser == "r3"  # the platform's order decides
    assert parse_new_session(ONE_TO_ONE).organiser == "t1"
    assert parse_new_session(lecture(2)).organiser == ONE_TO_ONE["people"][0]["id"]


def test_caps_who_ends_each_form() -> None:
    none = Grants()
    # A review: the presenter and the organiser; the other reviewers do not.
    assert caps_for("review", "learner", none).end
    assert caps_for("review", "instructor", none, organiser=True).end
    assert not caps_for("review", "instructor", none).end
    # Every reviewer still reports; the presenter does not.
    assert caps_for("review", "instructor", none).report
    assert not caps_for("review", "learner", none).report
    # Elsewhere unchanged: the instructor ends, a learner never.
    for form in ("one_to_one", "lecture", "classroom"):
        assert caps_for(form, "instructor", none).end
        assert caps_for(form, "instructor", none, organiser=True).end
        assert not caps_for(form, "learner", Grants(stage=True, pen=True)).end
    assert not caps_for("review", "observer", none).end


@pytest.fixture
async def review() -> AsyncIterator[Harness]:
    async for h in started(copy.deepcopy(REVIEW)):
        yield h


async def join_all(h: Harness) -> None:
    for person in ("r1", "p1", "r2", "r3"):
        await h.join(person, f"sid-{person}")


def caps_of(h: Harness, person: str) -> dict[str, Any]:
    (welcome,) = h.outbox.received(f"sid-{person}", "welcome")
    caps: dict[str, Any] = welcome["caps"]
    return caps


async def test_a_reviewer_who_is_not_the_organiser_cannot_end_or_record(
    review: Harness,
) -> None:
    h = review
    await join_all(h)
    assert [caps_of(h, p)["end"] for p in ("r1", "p1", "r2", "r3")] == [True, True, False, False]
    for reviewer in ("r2", "r3"):
        with pytest.raises(RoomError) as refused:
            await h.say(reviewer, f"sid-{reviewer}", m.End())
        assert refused.value.code == "forbidden"
        with pytest.raises(RoomError) as refused:
            await h.say(reviewer, f"sid-{reviewer}", m.Record(on=True))
        assert refused.value.code == "forbidden"
    # The presenter may end but never records (the organiser's switch).
    with pytest.raises(RoomError) as refused:
        await h.say("p1", "sid-p1", m.Record(on=True))
    assert refused.value.code == "forbidden"
    assert h.room.state == "live" and not h.outbox.events("ended")


async def test_the_presenter_ends_the_review(review: Harness) -> None:
    h = review
    await join_all(h)
    assert await h.say("p1", "sid-p1", m.End()) == {}
    assert h.room.state == "ended"
    assert h.outbox.events("ended") == [{"by": "p1", "feedback": True}]


async def test_the_organiser_ends_the_review(review: Harness) -> None:
    h = review
    await join_all(h)
    await h.say("r1", "sid-r1", m.End())
    assert h.room.state == "ended"
    assert h.outbox.events("ended")[0]["by"] == "r1"


async def test_the_presenter_clock_counts_toward_the_discussion_minimum(
    server: ServerHandle,
) -> None:
    session_id, toks = await server.create(REVIEW)
    for person in ("r1", "p1"):
        peer = await server.connect(toks[person])
        await peer.wait_for("welcome")
        present(server, session_id, person)
    for person in ("p1", "r2"):
        status, clock = await server.api("GET", "/api/v1/me/clock", token=toks[person])
        assert status == 200, clock
        assert clock["min_minutes"] == 45  # training.toml [forms.review] discussion_min_minutes
        assert isinstance(clock["counted_minutes"], int), (person, clock)
        assert clock["meets_minimum"] is False
