"""Booking's REST calls on the real app (in this process), SQLite or PostgreSQL, a fake
clock and a calendar fixture (tests/booking/support.py): publish, book, cancel, the
lazily made session, capacity, concurrency, malformed input, the webhook events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from signaling.booking.api import REMINDERS
from signaling.server import tokens
from tests.booking.support import Receiver, Server, at, receiver, serving
from tests.support import SECRET


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    async with receiver() as rec:
        yield rec


@pytest.fixture
async def server(tmp_path: Path, database_url: str, hooks: Receiver) -> AsyncIterator[Server]:
    async with serving(tmp_path, database_url=database_url, webhook_url=hooks.url) as srv:
        yield srv


def grant_of(url: str) -> tokens.Grant:
    token = parse_qs(urlparse(url).query)["token"][0]
    return tokens.verify(SECRET.encode() if isinstance(SECRET, str) else SECRET, token,
                         now=at(0, "23:00"))


async def test_publish_book_join_both_land_in_one_session(server: Server,
                                                          hooks: Receiver) -> None:
    teacher = await server.teacher()
    status, made = await server.publish(teacher, start=at(0, "19:00"), minutes=30)
    assert status == 201, made
    offer = made["offer"]
    assert (offer["form"], offer["capacity"], offer["booked"]) == ("one_to_one", 1, 0)
    assert (offer["date"], offer["time"], offer["end_time"]) == ("2026-09-21", "19:00", "19:30")

    learner = await server.learner("l1", "李老师")
    status, open_ = await server.api("GET", "/api/v1/bookings/open?teacher=t1", token=learner)
    assert status == 200 and [o["id"] for o in open_["offers"]] == [offer["id"]]
    assert "seats" not in open_["offers"][0]  # other learners' names are not shown
    status, booked = await server.api("POST", f"/api/v1/bookings/offers/{offer['id']}/book",
                                      token=learner)
    assert status == 201, booked
    assert booked["offer"]["booked"] == 1 and booked["offer"]["mine"]
    (created,) = await hooks.wait_for("booking.created", 1)
    assert created["data"]["learner"]["id"] == "l1" and created["data"]["offer"] == offer["id"]

    # Booked: no longer listed as open; both see it as theirs.
    _, open_ = await server.api("GET", "/api/v1/bookings/open", token=learner)
    assert open_["offers"] == []
    _, mine = await server.api("GET", "/api/v1/bookings/me", token=teacher)
    assert mine["mine"][0]["seats"][0]["learner"]["name"] == "李老师"
    assert mine["days"] and mine["days"][0]["windows"][0]["from"] == "18:00"

    # Too early: the link goes back to the page, saying when.
    path = f"/booking/join/{offer['id']}?token="
    status, early = await server.api("GET", path + learner)
    assert status == 303 and "refused=not_yet" in early["location"]
    server.clock.advance(at(0, "18:52") - server.clock.time())
    links = {}
    for who, token in (("t1", teacher), ("l1", learner)):
        status, went = await server.api("GET", path + token)
        assert status == 303 and "/join?token=" in went["location"], went
        links[who] = went["location"]
    grants = {who: grant_of(url) for who, url in links.items()}
    assert grants["t1"].session == grants["l1"].session
    assert (grants["t1"].role, grants["l1"].role) == ("instructor", "learner")
    status, session = await server.api("GET", f"/api/v1/sessions/{grants['t1'].session}",
                                       key=True)
    assert status == 200 and (session["programme"], session["form"]) == ("training",
                                                                          "one_to_one")
    assert {p["id"] for p in session["people"]} == {"t1", "l1"}


async def test_two_learners_book_the_same_slot_exactly_one_wins(server: Server) -> None:
    teacher = await server.teacher()
    _, made = await server.publish(teacher)
    offer = made["offer"]["id"]
    learners = [await server.learner(f"l{i}") for i in range(6)]
    answers = await asyncio.gather(*(
        server.api("POST", f"/api/v1/bookings/offers/{offer}/book", token=t) for t in learners))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], answers
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"full"}
    _, mine = await server.api("GET", "/api/v1/bookings/me", token=teacher)
    assert len(mine["mine"][0]["seats"]) == 1


async def test_a_lecture_keeps_its_capacity_and_closes_at_the_start(server: Server) -> None:
    teacher = await server.teacher()
    status, made = await server.publish(teacher, "lecture", at(0, "19:00"), 60, capacity=2,
                                        title="如何上好一节复习课")
    assert status == 201, made
    offer = made["offer"]["id"]
    path = f"/api/v1/bookings/offers/{offer}/book"
    a, b, c = [await server.learner(x) for x in ("a", "b", "c")]
    assert (await server.api("POST", path, token=a))[0] == 201
    assert (await server.api("POST", path, token=a))[1]["error"]["code"] == "already"
    assert (await server.api("POST", path, token=b))[0] == 201
    status, full = await server.api("POST", path, token=c)
    assert (status, full["error"]["code"], full["error"]["capacity"]) == (409, "full", 2)
    _, mine = await server.api("GET", "/api/v1/bookings/me", token=teacher)
    assert sorted(s["learner"]["id"] for s in mine["mine"][0]["seats"]) == ["a", "b"]  # unchanged
    # b cancels: c gets the place; at the start enrolment closes.
    assert (await server.api("POST", f"/api/v1/bookings/offers/{offer}/cancel",
                             token=b))[0] == 200
    assert (await server.api("POST", path, token=c))[0] == 201
    server.clock.advance(at(0, "19:00") - server.clock.time())
    d = await server.learner("d")
    status, late = await server.api("POST", path, token=d)
    assert (status, late["error"]["code"]) == (409, "started")


async def test_cancelling_before_and_after_the_cut_off(server: Server, hooks: Receiver) -> None:
    teacher = await server.teacher()
    learner = await server.learner("l1")
    _, made = await server.publish(teacher, start=at(0, "19:00"))
    offer = made["offer"]["id"]
    await server.api("POST", f"/api/v1/bookings/offers/{offer}/book", token=learner)
    server.clock.advance(at(0, "18:01") - server.clock.time())  # 59 min before: too late
    status, late = await server.api("POST", f"/api/v1/bookings/offers/{offer}/cancel",
                                    token=learner)
    assert (status, late["error"]["code"], late["error"]["minutes"]) == (409, "cutoff", 60)
    # Another slot the teacher withdraws in time: the learner's booking goes with it.
    _, other = await server.publish(teacher, start=at(1, "19:00"))
    second = other["offer"]["id"]
    await server.api("POST", f"/api/v1/bookings/offers/{second}/book", token=learner)
    someone = await server.teacher("t2", "赵老师")
    status, theirs = await server.api("POST", f"/api/v1/bookings/offers/{second}/cancel",
                                      token=someone)
    assert (status, theirs["error"]["code"]) == (403, "not_yours")
    status, done = await server.api("POST", f"/api/v1/bookings/offers/{second}/cancel",
                                    token=teacher)
    assert status == 200 and done["offer"]["state"] == "cancelled"
    (cancelled,) = await hooks.wait_for("booking.cancelled", 1)
    assert cancelled["data"]["by"] == "teacher" and cancelled["data"]["learner"]["id"] == "l1"
    _, mine = await server.api("GET", "/api/v1/bookings/me", token=learner)
    assert [o["state"] for o in mine["mine"] if o["id"] == second] == ["cancelled"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "form"),
    ({"form": "seminar", "start": "2026-09-21T19:00:00+08:00", "minutes": 30}, "form"),
    ({"form": "one_to_one", "start": "tomorrow", "minutes": 30}, "start"),
    ({"form": "one_to_one", "start": "2026-09-21T19:00:00", "minutes": 30}, "start"),
    ({"form": "one_to_one", "start": "2026-09-21T19:00:00+08:00", "minutes": "30"}, "minutes"),
    ({"form": "one_to_one", "start": "2026-09-21T19:00:00+08:00", "minutes": 30, "x": 1}, ""),
    ({"form": "lecture", "start": "2026-09-21T19:00:00+08:00", "minutes": 60,
      "capacity": -1}, "capacity"),
    ([1, 2], ""),
])
async def test_malformed_offers_are_400_naming_the_field(server: Server, body: Any,
                                                         field: str) -> None:
    teacher = await server.teacher()
    status, answer = await server.api("POST", "/api/v1/bookings/offers", body, token=teacher)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid" and answer["error"].get("field", "") == field


async def test_refusals_are_clear_and_change_nothing(server: Server) -> None:
    teacher = await server.teacher()
    learner = await server.learner("l1")
    cases = [
        ({"start": at(0, "09:00")}, "in_past"),
        ({"start": at(0, "17:50")}, "closed"),  # before 18:00 on a working day
        ({"start": at(0, "21:45")}, "closed"),  # would end after 22:00
        ({"start": at(10, "19:00")}, "closed"),  # 1 October: a holiday (08:00–22:00 …)
        ({"start": at(0, "19:00"), "minutes": 5}, "length"),
        ({"start": at(0, "19:00"), "minutes": 61}, "length"),
        ({"start": at(40, "19:00")}, "too_far"),
    ]
    for extra, code in cases:
        status, answer = await server.publish(teacher, **extra)
        if code == "closed" and extra["start"] == at(10, "19:00"):
            # A holiday is a rest day: 08:00–22:00 is open, so 19:00 is fine there.
            assert status == 201, answer
            continue
        assert (status, answer["error"]["code"]) == (409, code), (extra, answer)
    status, answer = await server.publish(teacher, start=at(0, "19:00"))
    assert status == 201
    status, clash = await server.publish(teacher, start=at(0, "19:15"))
    assert (status, clash["error"]["code"]) == (409, "overlap")
    assert (await server.publish(teacher, start=at(0, "19:30")))[0] == 201  # back to back
    # The wrong pass for the action, no pass, a join token, a bad id.
    status, wrong = await server.publish(learner)
    assert (status, wrong["error"]["code"]) == (403, "not_teacher")
    status, none = await server.api("GET", "/api/v1/bookings/me")
    assert (status, none["error"]["code"]) == (401, "no_token")
    status, bad = await server.api("GET", "/api/v1/bookings/me", token="a.b.c")
    assert status == 401 and bad["error"]["code"] == "bad_token"
    status, bad = await server.api("POST", "/api/v1/bookings/offers/nope/book", token=learner)
    assert (status, bad["error"]["field"]) == (400, "offer")
    status, gone = await server.api("POST", "/api/v1/bookings/offers/o_nothing/book",
                                    token=learner)
    assert (status, gone["error"]["code"]) == (404, "gone")
    status, bad = await server.api("GET", "/api/v1/bookings/open?teacher=%20x", token=learner)
    assert (status, bad["error"]["field"]) == (400, "teacher")
    status, bad = await server.api("GET", "/api/v1/bookings?limit=0", key=True)
    assert status == 400
    status, bad = await server.api("POST", "/api/v1/bookings/offers", token=teacher,
                                   raw=b"{not json")
    assert status == 400
    status, bad = await server.api("POST", "/api/v1/bookings/passes", {"kind": "booking_x"},
                                   key=True)
    assert status == 400 and bad["error"]["field"] == "kind"
    # A duty pass is not a booking pass.
    status, duty = await server.api("POST", "/api/v1/oncall/passes", {
        "kind": "student_call", "person": {"id": "s1", "name": "学生"}, "grade": "8"}, key=True)
    status, answer = await server.api("GET", "/api/v1/bookings/me", token=duty["token"])
    assert status == 401
    _, listed = await server.api("GET", "/api/v1/bookings", key=True)
    assert len(listed["offers"]) == 3  # two tonight, one on the holiday


async def test_reminders_once_each_from_the_store_across_a_restart(
        tmp_path: Path, database_url: str, hooks: Receiver) -> None:
    from rtc.clock import FakeClock
    from tests.booking.support import START

    clock = FakeClock(start=START)
    async with serving(tmp_path, database_url=database_url, webhook_url=hooks.url,
                       clock=clock) as srv:
        teacher = await srv.teacher()
        _, made = await srv.publish(teacher, "lecture", at(0, "19:00"), 60, capacity=10)
        offer = made["offer"]["id"]
        for who in ("a", "b"):
            await srv.api("POST", f"/api/v1/bookings/offers/{offer}/book",
                          token=await srv.learner(who))
        _, empty = await srv.publish(teacher, start=at(0, "20:00"))  # nobody booked it
        reminders = srv.app[REMINDERS]
        await reminders.stop()  # its own loop would tick too as the clock moves: by hand only
        assert await reminders.tick() == 0  # 9 hours before: not yet
        clock.advance(at(0, "18:29") - clock.time())
        assert await reminders.tick() == 0  # 31 minutes before
        clock.advance(60)
        assert await reminders.tick() == 3  # the teacher and both learners
        assert await reminders.tick() == 0
    # A restart: a new app on the same store sends nothing again, even for a new seat
    # it sends only the new person's.
    async with serving(tmp_path, database_url=database_url, webhook_url=hooks.url,
                       clock=clock) as srv:
        reminders = srv.app[REMINDERS]
        await reminders.stop()
        assert reminders.sent == 0  # its first look at start found nothing to send
        assert await reminders.tick() == 0
        await srv.api("POST", f"/api/v1/bookings/offers/{offer}/book",
                      token=await srv.learner("c"))
        assert await reminders.tick() == 1
        got = await hooks.wait_for("booking.reminder", 4)
    people = sorted(g["data"]["person"]["id"] for g in got)
    assert people == ["a", "b", "c", "t1"]
    assert {g["data"]["offer"] for g in got} == {offer}
    link = next(g["data"]["join_url"] for g in got if g["data"]["person"]["id"] == "a")
    assert f"/booking/join/{offer}?token=" in link
    _ = empty


async def test_every_booking_route_is_documented(server: Server) -> None:
    status, doc = await server.api("GET", "/api/v1/openapi.json")
    assert status == 200
    routes = {(r.method.lower(), r.resource.canonical.removeprefix("/api/v1"))
              for r in server.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/bookings")
              and r.method != "HEAD"}
    assert len(routes) == 7
    for method, path in routes:
        assert method in doc["paths"][path], (method, path)


async def test_a_lecture_and_a_review_open_their_sessions_once(server: Server) -> None:
    teacher = await server.teacher()
    _, lecture = await server.publish(teacher, "lecture", at(0, "19:00"), 60, capacity=5,
                                      title="名师讲堂")
    _, review = await server.publish(teacher, "review", at(0, "20:00"), 60)
    lid, rid = lecture["offer"]["id"], review["offer"]["id"]
    a, b, c = [await server.learner(x) for x in ("a", "b", "c")]
    for token in (a, b):
        assert (await server.api("POST", f"/api/v1/bookings/offers/{lid}/book",
                                 token=token))[0] == 201
    assert (await server.api("POST", f"/api/v1/bookings/offers/{rid}/book", token=c))[0] == 201
    # The teacher opens the lecture's room early and both learners at the same moment:
    # one session, with everyone who enrolled; enrolment is closed from then on.
    server.clock.advance(at(0, "18:51") - server.clock.time())
    went = await asyncio.gather(*(server.api("GET", f"/booking/join/{lid}?token={t}")
                                  for t in (teacher, a, b)))
    sessions = {grant_of(w["location"]).session for _, w in went}
    assert len(sessions) == 1, went
    (session_id,) = sessions
    _, session = await server.api("GET", f"/api/v1/sessions/{session_id}", key=True)
    assert session["form"] == "lecture" and session["title"] == "名师讲堂"
    assert sorted((p["id"], p["role"]) for p in session["people"]) == [
        ("a", "learner"), ("b", "learner"), ("t1", "instructor")]
    status, late = await server.api("POST", f"/api/v1/bookings/offers/{lid}/book", token=c)
    assert (status, late["error"]["code"]) == (409, "opened")
    status, cancel = await server.api("POST", f"/api/v1/bookings/offers/{lid}/cancel", token=a)
    assert (status, cancel["error"]["code"]) == (409, "opened")
    # Someone who did not enrol is sent back to the page, saying so.
    status, other = await server.api("GET", f"/booking/join/{lid}?token={c}")
    assert status == 303 and "refused=not_booked" in other["location"]
    # The review: the teacher reviews, the learner who booked presents.
    server.clock.advance(at(0, "19:55") - server.clock.time())
    status, went_r = await server.api("GET", f"/booking/join/{rid}?token={c}")
    grant = grant_of(went_r["location"])
    _, session = await server.api("GET", f"/api/v1/sessions/{grant.session}", key=True)
    assert session["form"] == "review" and grant.role == "learner"
    assert sorted(p["id"] for p in session["people"]) == ["c", "t1"]
    _, listed = await server.api("GET", "/api/v1/bookings", key=True)
    assert {o["id"]: o["session_id"] for o in listed["offers"]} == {
        lid: session_id, rid: grant.session}


async def test_odd_input_is_refused_never_a_500(server: Server) -> None:
    teacher = await server.teacher()
    learner = await server.learner("l1")
    bodies: list[bytes] = [
        b'{"form": "lecture", "start": "9999-12-31T23:59:59+14:00", "minutes": 60, '
        b'"capacity": 100000}',
        b'{"form": "one_to_one", "start": "0001-01-01T00:00:00+00:00", "minutes": 10}',
        b'{"form": "one_to_one", "start": "2026-09-21T19:00:00+08:00", "minutes": 1e9}',
        b'{"form": "review", "start": "2026-09-21T19:00:00+08:00", "minutes": 60, '
        b'"title": "\\ud800"}',
        b'{"form": "lecture", "start": "2026-09-21T19:00:00+08:00", "minutes": 60, '
        b'"capacity": true}',
        b'{"form": "one_to_one", "start": "2026-09-21T19:00:00+99:00", "minutes": 30}',
        b"null", b"", b"\xff\xfe", b"[" * 10_000 + b"]" * 10_000,
    ]
    for raw in bodies:
        status, answer = await server.api("POST", "/api/v1/bookings/offers", token=teacher,
                                          raw=raw)
        assert status in (400, 409, 413), (raw[:80], status, answer)
        assert "error" in answer, answer
    paths = [
        ("POST", "/api/v1/bookings/offers/o_" + "x" * 41 + "/book"),
        ("POST", "/api/v1/bookings/offers/o_%00/cancel"),
        ("GET", "/api/v1/bookings/open?teacher=" + "老" * 70),
        ("GET", "/api/v1/bookings?limit=99999999999999999999999"),
        ("GET", "/booking/join/o_nothing?token=" + "a" * 5000),
        ("GET", "/booking/join/o_nothing"),
    ]
    for method, path in paths:
        status, answer = await server.api(method, path, token=learner)
        assert 400 <= status < 500, (path, status, answer)


async def test_the_scheduler_task_sends_on_the_clock(server: Server, hooks: Receiver) -> None:
    teacher = await server.teacher()
    _, made = await server.publish(teacher, start=at(0, "19:00"))
    offer = made["offer"]["id"]
    await server.api("POST", f"/api/v1/bookings/offers/{offer}/book",
                     token=await server.learner("l1"))
    await asyncio.sleep(0.1)  # its first look, at the start: nothing due
    assert hooks.events("booking.reminder") == []
    server.clock.advance(at(0, "18:31") - server.clock.time())  # wakes its sleep
    got = await hooks.wait_for("booking.reminder", 2)
    assert sorted(g["data"]["person"]["role"] for g in got) == ["instructor", "learner"]
    server.clock.advance(60)  # the next look sends nothing again
    await asyncio.sleep(0.2)
    assert len(hooks.events("booking.reminder")) == 2
