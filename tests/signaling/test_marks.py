"""Issue 9, item 6 (seed 000) against the real app and SQLite: the tutoring teacher's
marks (stored, replaced, in the record, refused for learners and other programmes) and
the learner's settlement (the credits engine's minutes and points for time, and what
each rating adds)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from recorder.credits.calendar import SAMPLE_CALENDAR, load_calendar
from recorder.credits.policy import load_policy
from recorder.credits.rules import compute_session
from recorder.presence.evidence import Second
from signaling.server.http_util import SERVICES
from signaling.server.participant_api import _settlement
from signaling.session.spec import Person, SessionSpec, StoredSession
from signaling.session.timefmt import parse
from tests.signaling.test_participant_rules import (
    GOOD,
    T0,
    Clocked,
    around,
    clocked,  # noqa: F401  (fixture)
    present,
)
from tests.support import ONE_TO_ONE, ServerHandle

TUTORING: dict[str, Any] = {
    **copy.deepcopy(ONE_TO_ONE),
    "programme": "tutoring",
    "title": "二次函数答疑",
}
CLASSROOM: dict[str, Any] = {
    **copy.deepcopy(TUTORING),
    "form": "classroom",
    "people": [
        ONE_TO_ONE["people"][0],
        {"id": "s1", "name": "李同学", "role": "learner"},
        {"id": "s2", "name": "张同学", "role": "learner"},
    ],
}
# One second of someone speaking on camera, as the media layer counts it.
TALK = Second(audio_packets=50, audio_bytes=4000, audio_level=20, video_packets=90,
              video_bytes=60_000, video_frames=25, video_keyframes=0, forwarded_packets=140,
              forwarded_bytes=64_000, confirmed=True)
MARK = {"learner": "s1", "problem": "配方时符号总出错", "subject": "数学",
        "knowledge_point": "二次函数的图像与性质"}


def stored_marks(server: ServerHandle) -> list[tuple[str, ...]]:
    return server.query(
        'SELECT session_id, learner, problem, subject, knowledge_point, "by" FROM marks')


async def test_the_teacher_marks_a_learner_and_the_record_says_so(server: ServerHandle) -> None:
    session_id, toks = await server.create(CLASSROOM)
    status, body = await server.api("POST", "/api/v1/me/marks", MARK, token=toks["t1"])
    assert (status, body["error"]["code"]) == (409, "not_started")
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")

    status, saved = await server.api("POST", "/api/v1/me/marks", MARK, token=toks["t1"])
    assert status == 200, saved
    assert {k: saved[k] for k in MARK} == MARK and saved["by"] == "t1"
    first_at = parse(saved["marked_at"])
    # Marking again replaces: one row per learner, the latest wins.
    again = {**MARK, "knowledge_point": "  配方法  ", "problem": "顶点坐标记不住"}
    status, saved = await server.api("POST", "/api/v1/me/marks", again, token=toks["t1"])
    assert status == 200 and saved["knowledge_point"] == "配方法"  # trimmed
    assert parse(saved["marked_at"]) >= first_at
    other = {**MARK, "learner": "s2", "subject": "物理", "knowledge_point": "浮力"}
    assert (await server.api("POST", "/api/v1/me/marks", other, token=toks["t1"]))[0] == 200
    assert sorted(stored_marks(server)) == [
        (session_id, "s1", "顶点坐标记不住", "数学", "配方法", "t1"),
        (session_id, "s2", "配方时符号总出错", "物理", "浮力", "t1"),
    ]

    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert set(record["marks"]) == {"s1", "s2"}
    assert record["marks"]["s1"] == {
        "problem": "顶点坐标记不住", "subject": "数学", "knowledge_point": "配方法",
        "marked_at": saved["marked_at"], "by": "t1",
    }
    # The console shows them back; a learner sees only their own mark.
    _, me = await server.api("GET", "/api/v1/me", token=toks["t1"])
    assert set(me["marks"]) == {"s1", "s2"}
    _, me = await server.api("GET", "/api/v1/me", token=toks["s2"])
    assert set(me["marks"]) == {"s2"}
    # After the end, within the window, a mark can still be corrected.
    assert (await teacher.call("end"))["ok"]
    assert (await server.api("POST", "/api/v1/me/marks", MARK, token=toks["t1"]))[0] == 200


async def test_marks_are_refused_to_learners_other_programmes_and_bad_bodies(
    server: ServerHandle,
) -> None:
    session_id, toks = await server.create(CLASSROOM)
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")
    status, body = await server.api("POST", "/api/v1/me/marks", MARK, token=toks["s1"])
    assert (status, body["error"]["code"]) == (403, "forbidden")
    for learner in ("t1", "nobody"):
        status, body = await server.api(
            "POST", "/api/v1/me/marks", {**MARK, "learner": learner}, token=toks["t1"]
        )
        assert (status, body["error"]["field"]) == (400, "learner"), learner
    for field, value in [
        ("subject", "\u200b\u200b"),
        ("subject", "   "),
        ("knowledge_point", ""),
        ("problem", "\u0301"),
        ("problem", "问" * 501),
        ("subject", "数" * 41),
        ("knowledge_point", "点" * 201),
    ]:
        status, body = await server.api(
            "POST", "/api/v1/me/marks", {**MARK, field: value}, token=toks["t1"]
        )
        assert (status, body["error"]["field"]) == (400, field), (field, value)
    status, body = await server.api(
        "POST", "/api/v1/me/marks", {"learner": "s1"}, token=toks["t1"]
    )
    assert status == 400
    assert stored_marks(server) == []
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert record["marks"] == {}

    # A training session has no marks.
    training_id, training = await server.create()
    peer = await server.connect(training["t1"])
    await peer.wait_for("welcome")
    status, body = await server.api("POST", "/api/v1/me/marks", MARK, token=training["t1"])
    assert (status, body["error"]["code"]) == (403, "forbidden")
    _, me = await server.api("GET", "/api/v1/me", token=training["t1"])
    assert me["marks"] is None
    _, record = await server.api("GET", f"/api/v1/sessions/{training_id}/record")
    assert record["marks"] == {}


async def test_marks_close_with_the_feedback_window(clocked: Clocked) -> None:  # noqa: F811
    server = clocked.server
    _, toks = await server.create(around(TUTORING, T0))
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")
    assert (await teacher.call("end"))["ok"]
    _, me = await server.api("GET", "/api/v1/me", token=toks["t1"])
    end = parse(me["feedback_rules"]["window_end"])
    await clocked.advance_to(end - timedelta(seconds=1))
    assert (await server.api("POST", "/api/v1/me/marks", MARK, token=toks["t1"]))[0] == 200
    await clocked.advance_to(end + timedelta(seconds=1))
    status, body = await server.api("POST", "/api/v1/me/marks", MARK, token=toks["t1"])
    assert (status, body["error"]["code"]) == (409, "closed")


# -- the learner's settlement ------------------------------------------------------------


async def test_the_settlement_is_the_credits_engines_figures(clocked: Clocked) -> None:  # noqa: F811
    """30 minutes of both present inside tutoring hours (18:00 Beijing on a term day):
    the settlement says what GET /sessions/{id}/credits says of the teacher."""
    server = clocked.server
    session_id, toks = await server.create(around(TUTORING, T0))
    teacher, student = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await teacher.wait_for("welcome")
    await student.wait_for("welcome")
    status, body = await server.api("GET", "/api/v1/me/settlement", token=toks["s1"])
    assert (status, body["error"]["code"]) == (409, "not_ended")
    journal = server.app[SERVICES].journal
    for step in range(30 * 60 // 4):  # traffic every 4 s keeps both present
        for person in ("t1", "s1"):
            present(server, session_id, person)
            for second in range(4):  # what the media layer counts: both talk on camera
                journal.sample(session_id, person, int(T0.timestamp()) + 4 * step + second, TALK)
        await clocked.advance_to(T0 + timedelta(seconds=4 * (step + 1)))
    assert (await teacher.call("end"))["ok"]

    status, settlement = await server.api("GET", "/api/v1/me/settlement", token=toks["s1"])
    assert status == 200, settlement
    _, credits = await server.api("GET", f"/api/v1/sessions/{session_id}/credits")
    paid = credits["people"]["t1"]
    assert settlement["effective_minutes"] == paid["minutes"]
    assert settlement["time_points"] == paid["breakdown"]["duration"]
    assert (settlement["effective_minutes"], settlement["time_points"]) == (30, "3.00")  # 6/h
    assert settlement["rating_points"]["5"] == "5.00"
    assert settlement["rating_points_per_hour"] == {
        "1": "6.00", "2": "7.00", "3": "8.00", "4": "9.00", "5": "10.00"
    }
    assert settlement["point_value_cny"] == "10.00"
    assert settlement["basis"] == "evidence"
    # Only the learner of an ended tutoring session.
    status, body = await server.api("GET", "/api/v1/me/settlement", token=toks["t1"])
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # The rating that sets the rest is the feedback form's.
    feedback = {"rating": 5, "satisfaction": "very_satisfied", "text": GOOD}
    assert (await server.api("POST", "/api/v1/me/feedback", feedback, token=toks["s1"]))[0] == 201


async def test_no_settlement_outside_tutoring(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    status, body = await server.api("GET", "/api/v1/me/settlement", token=toks["s1"])
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_the_settlement_of_a_presence_record() -> None:
    """The shaping alone, on a record without media evidence: 30 minutes at 18:00 on a
    term Wednesday → 3 points for time (6 per hour), 6–10 per hour by rating."""
    start, end = "2024-03-06T10:00:00Z", "2024-03-06T10:30:00Z"
    record = {
        "session_id": "s_x",
        "programme": "tutoring",
        "form": "one_to_one",
        "started_at": start,
        "ended_at": end,
        "people": [
            {"id": "t1", "role": "instructor", "name": "王老师"},
            {"id": "s1", "role": "learner", "name": "李同学"},
        ],
        "active": {"t1": [[start, end]], "s1": [[start, end]]},
        "feedback": {},
        "reports": {},
    }
    policy = load_policy("tutoring")
    result = compute_session(record, policy, load_calendar(SAMPLE_CALENDAR))
    spec = SessionSpec(
        "tutoring", "one_to_one", "x", parse(start), parse(end), False,
        (Person("t1", "王老师", "instructor"), Person("s1", "李同学", "learner")),
    )
    session = StoredSession("s_x", spec, start, start, end)
    out = _settlement(session, record, result, policy)
    assert out["effective_minutes"] == 30
    assert out["time_points"] == "3.00"
    assert out["duration_points_per_hour"] == "6.00"
    assert out["rating_points_per_hour"]["1"] == "6.00"
    assert out["rating_points_per_hour"]["5"] == "10.00"
    assert out["rating_points"]["5"] == "5.00" and out["rating_points"]["1"] == "3.00"
    assert out["point_value_cny"] == "10.00"
    assert out["basis"] == "presence"
    assert out["feedback_window_end"] == "2024-03-13T10:30:00.000Z"
