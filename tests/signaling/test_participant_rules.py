"""Issue 9, items 4 and 5 against the real app and SQLite: feedback and review reports
that count only visible, varied text, the one window anchored on the session's
``ended_at`` (a FakeClock server), reports only from reviewers the journal saw after the
review started, and people by code."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from recorder.credits import texts
from recorder.credits.policy import load_policy
from rtc.clock import FakeClock
from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.http_util import SERVICES
from signaling.server.participant_api import text_refusal
from signaling.session.timefmt import parse
from tests.conftest import free_port
from tests.support import API_KEY, ONE_TO_ONE, SECRET, ServerHandle, lecture

WEB_TESTS = Path(__file__).resolve().parents[2] / "web" / "tests"
# A real answer: more than 20 different characters, so only its length decides.
LESSON = "这次辅导让我弄懂了二次函数图像的平移规律和配方法，老师讲得很清楚，我还要多练习。"


def text_of(visible: int) -> str:
    """Exactly ``visible`` visible characters of a real answer, spaced and wrapped (the
    whitespace does not count)."""
    chars = (LESSON * (visible // len(LESSON) + 1))[:visible]
    return "\n".join(" ".join(chars[i : i + 20]) for i in range(0, visible, 20))


GOOD = text_of(200)
REVIEW: dict[str, Any] = {
    **copy.deepcopy(ONE_TO_ONE),
    "form": "review",
    "people": [
        {"id": "r1", "name": "评课老师一", "role": "instructor"},
        {"id": "r2", "name": "评课老师二", "role": "instructor"},
        {"id": "p1", "name": "上课老师", "role": "learner"},
    ],
}


def feedback(text: str) -> dict[str, Any]:
    return {"rating": 4, "satisfaction": "satisfied", "text": text}


def present(server: ServerHandle, session_id: str, person: str) -> None:
    """What the server observes of a person whose media transport is up and carrying
    packets (the room itself observes the socket): the journal sees them active."""
    journal = server.app[SERVICES].journal
    journal.observe(session_id, person, "signal_up")
    journal.observe(session_id, person, "transport_up")
    journal.observe(session_id, person, "traffic")


# -- feedback texts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("\u200b" * 200, "visible"),  # zero-width spaces
        ("好", "visible"),  # one character
        ("a" * 200, "different"),  # one letter repeated
        ("👍" * 200, "different"),  # one emoji repeated
        ("a\u0301" * 150 + "\u200d" * 100, "visible"),  # combining marks and joiners
        ("\u3000 \n\t" * 100 + "好", "visible"),  # every kind of whitespace
        (text_of(199), "visible"),  # one short of the minimum
    ],
    ids=["zero-width", "one-char", "a-repeated", "emoji-repeated", "marks", "spaces", "199"],
)
async def test_feedback_that_does_not_count_is_refused_with_a_clear_message(
    server: ServerHandle, text: str, why: str
) -> None:
    session_id, toks = await server.create()
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    status, body = await server.api("POST", "/api/v1/me/feedback", feedback(text), token=toks["s1"])
    assert status == 400, body
    problem = body["error"]
    assert (problem["code"], problem["field"]) == ("invalid", "text")
    assert problem["message"].startswith("text: 至少需要"), problem  # Chinese first
    assert why in problem["message"]  # then the English sentence
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert record["feedback"] == {}
    status, _ = await server.api("POST", "/api/v1/me/feedback", feedback(GOOD), token=toks["s1"])
    assert status == 201


async def test_a_tutoring_student_rates_and_may_leave_the_comment_out(
    server: ServerHandle,
) -> None:
    """Issue 12, item 4: the student's step is the rating of what they learned; the
    comment is optional and the credits still read the rating (tutoring's min_chars 0)."""
    body = {**copy.deepcopy(ONE_TO_ONE), "programme": "tutoring"}
    session_id, toks = await server.create(body)
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    status, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    assert status == 200 and me["feedback_rules"]["min_chars"] == 0
    rating_only = {"rating": 5}
    status, answer = await server.api("POST", "/api/v1/me/feedback", rating_only, token=toks["s1"])
    assert status == 201, answer
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    stored = record["feedback"]["s1"]
    assert stored["rating"] == 5 and stored["text"] == ""
    assert texts.text_counts(stored["text"], 0, 0)  # what the engine asks before the rating


async def test_training_feedback_still_needs_the_satisfaction(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    status, body = await server.api(
        "POST", "/api/v1/me/feedback", {"rating": 4, "text": GOOD}, token=toks["s1"]
    )
    assert status == 400 and body["error"]["field"] == "satisfaction", body


def test_the_refusal_says_the_counts() -> None:
    refused = text_refusal("text", "\u200b" * 200, min_chars=200, min_distinct=20)
    assert refused is not None and refused.field == "text"
    assert "现在有 0 个" in refused.message and "(has 0)" in refused.message
    refused = text_refusal("text", "👍" * 200, min_chars=200, min_distinct=20)
    assert refused is not None and "现在有 1 个" in refused.message
    assert text_refusal("text", GOOD, min_chars=200, min_distinct=20) is None


async def test_me_tells_the_form_the_numbers(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    _, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    policy = load_policy("training")
    rules = me["feedback_rules"]
    assert rules == {
        "min_chars": policy.feedback_min_chars,
        "min_distinct": policy.feedback_min_distinct,
        "window_hours": policy.feedback_window_hours,
        "window_end": None,  # not ended
    }
    assert me["report_rules"] is None and me["marks"] is None  # a training one_to_one
    await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    _, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    ended = parse(me["session"]["ended_at"])
    end = parse(me["feedback_rules"]["window_end"])
    assert end - ended == timedelta(hours=policy.feedback_window_hours)


def test_the_web_client_counts_like_the_server() -> None:
    """web/tests/visible-chars.json is the table web/tests/visible.test.js checks the
    browser's count against; here the same table against the server's count."""
    table = json.loads((WEB_TESTS / "visible-chars.json").read_text(encoding="utf-8"))
    assert len(table) >= 15
    for row in table:
        shown = texts.visible(row["text"])
        assert (len(shown), len(set(shown))) == (row["visible"], row["distinct"]), row


# -- the window, on a server whose clock the test moves ------------------------------

T0 = datetime(2024, 3, 6, 10, 0, tzinfo=UTC)  # a Wednesday in term, 18:00 in Beijing


@dataclass
class Clocked:
    server: ServerHandle
    clock: FakeClock

    async def advance_to(self, moment: datetime) -> None:
        self.clock.advance(moment.timestamp() - self.clock.time())
        await asyncio.sleep(0)


def around(body: dict[str, Any], start: datetime) -> dict[str, Any]:
    """``body`` scheduled from ``start`` for an hour (join links follow the fake clock)."""
    return {
        **copy.deepcopy(body),
        "scheduled_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[Clocked]:
    """The real app on a FakeClock (local router): the window is tested by moving time."""
    clock = FakeClock(start=T0.timestamp())
    port = free_port()
    config = Config(
        port=port,
        data_dir=tmp_path / "data",
        api_key=API_KEY,
        token_secret=SECRET,
        ice_hosts=("127.0.0.1",),
        grace_s=2.0,
    )
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    handle = ServerHandle(
        f"http://127.0.0.1:{port}", runner, aiohttp.ClientSession(), tmp_path / "data"
    )
    try:
        yield Clocked(handle, clock)
    finally:
        await handle.stop()


async def test_the_feedback_window_counts_from_ended_at(clocked: Clocked) -> None:
    server = clocked.server
    session_id, toks = await server.create(around(lecture(2), T0))
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")
    # The session runs three hours past its schedule: the window follows its real end.
    await clocked.advance_to(T0 + timedelta(hours=4))
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    _, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    ended = parse(me["session"]["ended_at"])
    assert ended == T0 + timedelta(hours=4)
    end = ended + timedelta(hours=load_policy("training").feedback_window_hours)
    assert parse(me["feedback_rules"]["window_end"]) == end

    await clocked.advance_to(end - timedelta(milliseconds=1))
    _, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    assert me["feedback_open"] is True
    assert (await server.api("POST", "/api/v1/me/feedback", feedback(GOOD), token=toks["s1"]))[
        0
    ] == 201

    await clocked.advance_to(end + timedelta(milliseconds=1))
    _, me = await server.api("GET", "/api/v1/me", token=toks["s2"])
    assert me["feedback_open"] is False
    status, body = await server.api("POST", "/api/v1/me/feedback", feedback(GOOD), token=toks["s2"])
    assert (status, body["error"]["code"]) == (409, "closed")
    assert body["error"]["message"].startswith("反馈在课程结束后 7 天内提交")


async def test_a_report_after_the_window_is_refused(clocked: Clocked) -> None:
    server = clocked.server
    session_id, toks = await server.create(around(REVIEW, T0))
    reviewer = await server.connect(toks["r1"])
    await reviewer.wait_for("welcome")
    present(server, session_id, "r1")
    await clocked.advance_to(T0 + timedelta(seconds=3))
    assert (await reviewer.call("end"))["ok"]
    _, me = await server.api("GET", "/api/v1/me", token=toks["r1"])
    assert me["report_rules"]["open"] is True and me["report_rules"]["took_part"] is True
    end = parse(me["report_rules"]["window_end"])
    await clocked.advance_to(end + timedelta(seconds=1))
    _, me = await server.api("GET", "/api/v1/me", token=toks["r1"])
    assert me["report_rules"]["open"] is False
    status, body = await server.api(
        "POST", "/api/v1/me/report", {"text": GOOD}, token=toks["r1"]
    )
    assert (status, body["error"]["code"]) == (409, "closed")


# -- review reports --------------------------------------------------------------------


async def test_a_report_before_the_review_started_is_refused(server: ServerHandle) -> None:
    _, toks = await server.create(REVIEW)
    status, body = await server.api("POST", "/api/v1/me/report", {"text": GOOD}, token=toks["r1"])
    assert (status, body["error"]["code"]) == (409, "not_started")
    assert body["error"]["message"].startswith("检课还没有开始")
    _, me = await server.api("GET", "/api/v1/me", token=toks["r1"])
    assert me["report_rules"]["open"] is False and me["report_rules"]["took_part"] is False


async def test_only_a_reviewer_who_took_part_reports_and_the_text_must_count(
    server: ServerHandle,
) -> None:
    session_id, toks = await server.create(REVIEW)
    r1, presenter = await server.connect(toks["r1"]), await server.connect(toks["p1"])
    await r1.wait_for("welcome")
    await presenter.wait_for("welcome")
    present(server, session_id, "r1")
    present(server, session_id, "p1")
    await asyncio.sleep(0.05)
    # r2 never joined: whatever the text, no report.
    status, body = await server.api("POST", "/api/v1/me/report", {"text": GOOD}, token=toks["r2"])
    assert (status, body["error"]["code"]) == (403, "not_present")
    _, me = await server.api("GET", "/api/v1/me", token=toks["r2"])
    assert me["report_rules"]["took_part"] is False
    _, me = await server.api("GET", "/api/v1/me", token=toks["r1"])
    policy = load_policy("training")
    assert me["report_rules"]["took_part"] is True and me["report_rules"]["open"] is True
    assert me["report_rules"]["min_chars"] == policy.report_min_chars
    assert me["report_rules"]["min_distinct"] == policy.report_min_distinct
    # The presenter is not a reviewer.
    assert (await server.api("POST", "/api/v1/me/report", {"text": GOOD}, token=toks["p1"]))[
        0
    ] == 403
    for bad in ("好", "\u200b" * 300, "好" * 300, "👍🏽" * 200):
        status, body = await server.api(
            "POST", "/api/v1/me/report", {"text": bad}, token=toks["r1"]
        )
        assert (status, body["error"]["field"]) == (400, "text"), bad
    # During the review (reviewers write as they watch) and it is in the record.
    status, _ = await server.api("POST", "/api/v1/me/report", {"text": GOOD}, token=toks["r1"])
    assert status == 201
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert set(record["reports"]) == {"r1"} and record["reports"]["r1"]["text"] == GOOD


# -- people by code ----------------------------------------------------------------------


def with_codes(**codes: dict[str, str]) -> dict[str, Any]:
    body = copy.deepcopy(ONE_TO_ONE)
    for person in body["people"]:
        person.update(codes.get(person["id"], {}))
    return body


async def test_codes_are_stored_and_written_in_the_record(server: ServerHandle) -> None:
    body = with_codes(
        t1={"school": "北京四中", "school_id": "1111010201", "district": "西城区",
            "district_code": "110102"},
        s1={"district_code": "110118"},  # a code with no name: fine
    )
    session_id, _ = await server.create(body)
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    t1, s1 = record["people"]
    assert (t1["school"], t1["school_id"], t1["district"], t1["district_code"]) == (
        "北京四中", "1111010201", "西城区", "110102"
    )
    assert s1["district_code"] == "110118" and "school_id" not in s1  # unknown: not stated
    assert s1["school"] == "S7"  # names stay for display
    # Not shown to other participants.
    _, created = await server.api("POST", "/api/v1/sessions", body)
    token = created["join_urls"]["s1"].split("token=")[1]
    _, me = await server.api("GET", "/api/v1/me", token=token)
    assert set(me["person"]) == {"id", "name", "role"}


async def test_a_person_given_by_codes_only_is_computable(server: ServerHandle) -> None:
    """No empty names in the record: a tutoring person with codes and no school name is
    read by the credits (an empty name would make the record malformed)."""
    body = copy.deepcopy(ONE_TO_ONE)
    body["programme"] = "tutoring"
    body["people"] = [
        {"id": "t1", "name": "王老师", "role": "instructor", "school_id": "1111010201",
         "district_code": "110102"},
        {"id": "s1", "name": "李同学", "role": "learner", "district_code": "110118"},
    ]
    session_id, _ = await server.create(body)
    await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert record["people"][1] == {
        "id": "s1", "name": "李同学", "role": "learner", "district_code": "110118"
    }
    status, credits = await server.api("GET", f"/api/v1/sessions/{session_id}/credits")
    assert status == 200, credits


@pytest.mark.parametrize(
    ("codes", "field", "words"),
    [
        ({"t1": {"district_code": "11010"}}, "people[0].district_code", "6-digit"),
        ({"t1": {"district_code": "１１０１０２"}}, "people[0].district_code", "6-digit"),
        ({"s1": {"district_code": "110103"}}, "people[1].district_code", "16 districts"),
        (
            {"t1": {"district": "西城区", "district_code": "110101"}},
            "people[0].district_code",
            "does not match",
        ),
        ({"t1": {"school_id": "北京四中"}}, "people[0].school_id", "letters, digits"),
        ({"t1": {"school_id": ""}}, "people[0].school_id", "letters, digits"),
    ],
)
async def test_bad_codes_are_refused_naming_the_field(
    server: ServerHandle, codes: dict[str, dict[str, str]], field: str, words: str
) -> None:
    body = copy.deepcopy(ONE_TO_ONE)
    for person in body["people"]:
        person.update(codes.get(person["id"], {}))
    status, answer = await server.api("POST", "/api/v1/sessions", body)
    assert status == 400, answer
    assert answer["error"]["field"] == field and words in answer["error"]["message"]


# The people table as the first release wrote it (no codes).
OLD_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, programme TEXT NOT NULL, form TEXT NOT NULL, title TEXT NOT NULL,
    scheduled_start TEXT NOT NULL, scheduled_end TEXT NOT NULL, record INTEGER NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT
);
CREATE TABLE people (
    session_id TEXT NOT NULL REFERENCES sessions(id), id TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, school TEXT NOT NULL, district TEXT NOT NULL, ord INTEGER NOT NULL,
    PRIMARY KEY (session_id, id)
);
"""


async def test_sessions_stored_before_codes_keep_working(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "opentutor.sqlite")
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO sessions VALUES ('s_old','training','one_to_one','旧课',"
        "'2024-03-06T10:00:00Z','2024-03-06T11:00:00Z',0,'2024-03-01T00:00:00.000Z',NULL,"
        "'2024-03-06T11:00:00.000Z')"
    )
    db.executemany(
        "INSERT INTO people VALUES ('s_old',?,?,?,?,?,?)",
        [("t1", "王老师", "instructor", "北京四中 ", "西城", 0),
         ("s1", "李同学", "learner", "", "", 1)],
    )
    db.commit()
    db.close()
    from tests.support import start_app

    server = await start_app(data, port=free_port())
    try:
        status, record = await server.api("GET", "/api/v1/sessions/s_old/record")
        assert status == 200
        assert record["people"][0] == {
            "id": "t1", "name": "王老师", "role": "instructor", "school": "北京四中 ",
            "district": "西城",
        }
        # New sessions in the same file carry their codes.
        session_id, _ = await server.create(with_codes(t1={"district_code": "110112"}))  # 通州
        _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
        assert record["people"][0]["district_code"] == "110112"
    finally:
        await server.stop()
