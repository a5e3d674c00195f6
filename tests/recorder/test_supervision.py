"""The supervisor report (recorder.credits.supervision): one small hand-built table per
flag kind, presence-basis and evidence-basis records, the rules table, JSON and CSV."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from credits_builders import CALENDAR, TEXT_OK, TRAINING, TUTORING, at, span

from recorder.credits.records import RecordError
from recorder.credits.supervision import (
    CSV_COLUMNS,
    KINDS,
    Flag,
    SupervisionError,
    SupervisionRules,
    flags_csv,
    report_json,
    rules_of,
    supervise,
)

MON = "2022-03-07"  # a working day in the sample calendar's spring term
POLICIES = {"training": TRAINING, "tutoring": TUTORING}
GOOD_TEXT = "".join(chr(0x4E00 + n) for n in range(200))  # 200 visible, all different


def who(pid: str, role: str, **extra: str) -> dict[str, str]:
    return {"id": pid, "role": role, "school": f"school-{pid}", "district": f"district-{pid}",
            **extra}


def rec(
    active: dict[str, list[list[str]]],
    *,
    sid: str = "s1",
    form: str = "one_to_one",
    programme: str = "training",
    people: list[dict[str, str]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "session_id": sid, "programme": programme, "form": form,
        "people": people or [who("t1", "instructor"), who("l1", "learner")],
        "active": active,
    }
    record.update(fields)
    return record


def both(day: str = MON, start: str = "18:00", end: str = "19:00") -> dict[str, list[list[str]]]:
    return {"t1": [span(day, start, end)], "l1": [span(day, start, end)]}


def run(records: list[dict[str, Any]], evidence: dict[str, list[dict[str, Any]]] | None = None,
        **kwargs: Any) -> list[Flag]:
    return supervise(records, evidence, policies=POLICIES, calendar=CALENDAR, **kwargs)


def kinds(flags: list[Flag]) -> list[str]:
    return [f.kind for f in flags]


def of(flags: list[Flag], kind: str) -> list[Flag]:
    return [f for f in flags if f.kind == kind]


def row(person: str, clock: str, *, day: str = MON, frames: int = 0, keyframes: int = 0,
        level: int | None = None, video_bytes: int | None = None) -> dict[str, Any]:
    """One evidence row: ``frames`` video frames every second, audio at ``level`` -dBov
    every second (None: no audio)."""
    total = frames * 60
    return {
        "person": person, "minute": at(day, clock),
        "audio_packets": 0 if level is None else 3000, "audio_bytes": 0,
        "video_packets": total, "video_bytes": total * 1000 if video_bytes is None else video_bytes,
        "video_frames": total, "video_keyframes": keyframes,
        "audio_level": [level] * 60, "frames": [frames] * 60,
        "forwarded": [0] * 60, "confirmed": [False] * 60,
        "voiced_s": 60 if level is not None and level < 50 else 0,
        "silent_s": 60 if level is not None and level >= 50 else 0,
        "forwarded_packets": 0, "forwarded_bytes": 0, "rr_loss_max": 0, "rr_jitter_max_ms": 0,
    }


def minutes(start: int, count: int) -> list[str]:
    """``count`` clock times from 18:``start`` on."""
    return [f"18:{m:02d}" for m in range(start, start + count)]


# --- the rules table ------------------------------------------------------------------


def test_rules_defaults_and_the_table() -> None:
    assert rules_of(TRAINING) == SupervisionRules()
    rules = SupervisionRules.from_table({"alone_min_minutes": Fraction(3),
                                         "min_publishing_share": Fraction(3, 4),
                                         "voiced_dbov": Fraction(-40)})
    assert (rules.alone_min_minutes, rules.min_publishing_share, rules.voiced_dbov) == (
        3, Fraction(3, 4), -40)
    assert SupervisionRules.from_table({"same_pair_days": 3.0}).same_pair_days == 3
    tighter = replace(TRAINING, supervision={"black_minutes": Fraction(7)})
    assert rules_of(tighter).black_minutes == 7
    assert SupervisionRules().to_json()["min_publishing_share"] == "0.5"


@pytest.mark.parametrize(("table", "words"), [
    ({"alone_minutes": 3}, "supervision.alone_minutes: unknown key; known: alone_min_minutes"),
    ({"alone_min_minutes": Fraction(1, 2)}, "supervision.alone_min_minutes: must be a whole"),
    ({"alone_min_minutes": 0}, "supervision.alone_min_minutes: must be at least 1"),
    ({"same_pair_days": 1}, "supervision.same_pair_days: must be at least 2"),
    ({"min_publishing_share": Fraction(3, 2)}, "must be between 0 and 1"),
    ({"voiced_dbov": 10}, "supervision.voiced_dbov: must be within -127"),
    ({"black_minutes": True}, "supervision.black_minutes: must be a number"),
    ({"black_minutes": "many"}, "supervision.black_minutes: must be a number"),
])
def test_rules_table_refused_clearly(table: dict[str, Any], words: str) -> None:
    with pytest.raises(SupervisionError, match=words.replace("(", r"\(")):
        SupervisionRules.from_table(table)


# --- instructor silent or camera off ---------------------------------------------------


def test_presence_basis_says_no_media_evidence() -> None:
    flags = run([rec(both())])
    assert kinds(flags) == ["no_media_evidence"]
    assert flags[0].people == ("t1",) and flags[0].evidence["basis"] == "presence"


@pytest.mark.parametrize(("publishing", "flagged"), [
    ([], True),
    ([span(MON, "18:00", "18:10")], True),  # 10 of 60 min
    ([span(MON, "18:00", "18:29")], True),  # 29 of 60: still under half
    ([span(MON, "18:00", "18:30")], False),  # exactly half
    ([span(MON, "17:00", "18:10"), span(MON, "18:20", "19:30")], False),  # outside A ignored
])
def test_instructor_not_publishing_from_the_record(
    publishing: list[list[str]], flagged: bool
) -> None:
    flags = run([rec(both(), publishing={"t1": publishing} if publishing else {})])
    found = of(flags, "instructor_not_publishing")
    assert "no_media_evidence" not in kinds(flags)  # publishing {} is evidence basis
    assert bool(found) is flagged
    if flagged and publishing == [span(MON, "18:00", "18:10")]:
        ev = found[0].evidence
        assert ev["basis"] == "record"
        assert (ev["active_minutes"], ev["publishing_minutes"], ev["share"]) == (60, 10, "0.167")
        assert ev["not_publishing"] == [["2022-03-07T10:10:00Z", "2022-03-07T11:00:00Z"]]
        assert "published 10 of 60 active min (17%, under 50%)" in found[0].summary


def test_instructor_not_publishing_from_rows_when_the_record_has_none() -> None:
    # Voiced for 20 of 60 minutes, then a muted microphone (level 127) and no camera.
    rows = [row("t1", c, level=30) for c in minutes(0, 20)]
    rows += [row("t1", c, level=127) for c in minutes(20, 40)]
    flags = run([rec(both())], {"s1": rows})
    found = of(flags, "instructor_not_publishing")
    assert len(found) == 1 and found[0].evidence["basis"] == "evidence rows"
    assert found[0].evidence["publishing_minutes"] == 20
    assert "no_media_evidence" not in kinds(flags)
    # A camera at a live rate publishes as well.
    video = [row("t1", c, frames=15) for c in minutes(0, 60)]
    assert not of(run([rec(both())], {"s1": video}), "instructor_not_publishing")


# --- alone ----------------------------------------------------------------------------


@pytest.mark.parametrize(("learner", "alone"), [
    ([span(MON, "18:30", "19:00")], 30),
    ([span(MON, "18:09", "19:00")], None),  # 9 min: under 10
    ([span(MON, "18:05", "18:30"), span(MON, "18:35", "19:00")], 10),  # in total
    ([], 60),
])
def test_alone_in_the_room(learner: list[list[str]], alone: int | None) -> None:
    flags = of(run([rec({"t1": [span(MON, "18:00", "19:00")], "l1": learner})]), "alone")
    if alone is None:
        assert flags == []
        return
    assert len(flags) == 1 and flags[0].evidence["alone_minutes"] == alone
    assert flags[0].people == ("t1",)
    if not learner:
        assert "no learner was ever present" in flags[0].summary


def test_alone_threshold_from_the_rules() -> None:
    record = rec({"t1": [span(MON, "18:00", "19:00")], "l1": [span(MON, "18:04", "19:00")]})
    assert of(run([record], rules=SupervisionRules(alone_min_minutes=3)), "alone")
    assert not of(run([record]), "alone")


# --- overlapping sessions -------------------------------------------------------------


def test_overlap_lists_both_sessions_and_the_minutes() -> None:
    first = rec(both(MON, "18:00", "19:00"), sid="a1")
    second = rec({"t1": [span(MON, "18:30", "19:30")], "l2": [span(MON, "18:30", "19:30")]},
                 sid="a2", people=[who("t1", "instructor"), who("l2", "learner")])
    flags = of(run([second, first]), "overlap")
    assert len(flags) == 1
    flag = flags[0]
    assert flag.session_id == "a2" and flag.people == ("t1",)
    assert flag.evidence["sessions"] == ["a1", "a2"] and flag.evidence["minutes"] == 30
    assert flag.evidence["both"] == [["2022-03-07T10:30:00Z", "2022-03-07T11:00:00Z"]]


def test_overlap_under_a_minute_is_not_flagged() -> None:
    first = rec(both(MON, "18:00", "19:00"), sid="a1")
    second = rec({"t1": [[at(MON, "18:59:30"), at(MON, "20:00")]]}, sid="a2",
                 people=[who("t1", "instructor"), who("l2", "learner")])
    assert not of(run([first, second]), "overlap")


# --- same school / district -----------------------------------------------------------


@pytest.mark.parametrize(("teacher", "learner", "same", "by_name"), [
    ({"school_id": "S-4", "school": "北京四中"}, {"school_id": "S-4", "school": "四中"},
     "school", False),
    ({"school": "北京四中"}, {"school": "北京四中 "}, "school", True),
    ({"district": "西城区"}, {"district": "西城"}, "district", True),
    ({"district_code": "110102"}, {"district": "Xicheng"}, "district", True),
    ({"school_id": "S-4", "district_code": "110102"},
     {"school_id": "S-4", "district_code": "110102"}, "school and district", False),
    ({"school_id": "S-4"}, {"school_id": "S-5"}, None, False),
])
def test_same_place(
    teacher: dict[str, str], learner: dict[str, str], same: str | None, by_name: bool
) -> None:
    people = [who("t1", "instructor", **teacher), who("l1", "learner", **learner)]
    flags = of(run([rec(both(), people=people)]), "same_place")
    if same is None:
        assert flags == []
        return
    assert len(flags) == 1 and flags[0].people == ("t1", "l1")
    match = flags[0].evidence["matches"][0]
    assert (match["same"], match["by_name"]) == (same, by_name)
    assert ("compared by name" in flags[0].summary) is by_name


def test_same_place_only_where_the_policy_withholds_points() -> None:
    people = [who("t1", "instructor", school_id="S-4"), who("l1", "learner", school_id="S-4")]
    tutoring = rec(both(), programme="tutoring", people=people)
    assert not of(run([tutoring]), "same_place")


# --- the same pair every day ----------------------------------------------------------


def tutoring_day(day: str, sid: str, learner: str = "l1") -> dict[str, Any]:
    return rec({"t1": [span(day, "18:00", "18:40")], learner: [span(day, "18:00", "18:40")]},
               sid=sid, programme="tutoring",
               people=[who("t1", "instructor"), who(learner, "learner")])


def test_same_pair_on_consecutive_open_days_skips_the_weekend() -> None:
    # Thu, Fri, (weekend: tutoring is closed), Mon, Tue, Wed: five consecutive open days.
    days = ["2022-03-03", "2022-03-04", "2022-03-07", "2022-03-08", "2022-03-09"]
    records = [tutoring_day(d, f"d{n}") for n, d in enumerate(days)]
    flags = of(run(records), "same_pair_daily")
    assert len(flags) == 1
    flag = flags[0]
    assert flag.session_id == "d4" and flag.people == ("t1", "l1")
    assert flag.evidence["days"] == days and flag.evidence["run_days"] == 5
    assert not of(run(records[:4]), "same_pair_daily")
    # A gap of one open day breaks the run.
    broken = [tutoring_day(d, f"d{n}") for n, d in enumerate(days[:2] + days[3:])]
    assert not of(run(broken), "same_pair_daily")
    # Another learner every day is not a pair.
    assert not of(run([tutoring_day(d, f"d{n}", f"l{n}") for n, d in enumerate(days)]),
                  "same_pair_daily")


def test_same_pair_on_every_day_of_a_short_window() -> None:
    days = ["2022-03-07", "2022-03-08", "2022-03-09"]
    records = [tutoring_day(d, f"d{n}") for n, d in enumerate(days)]
    window = (date(2022, 3, 7), date(2022, 3, 9))
    flags = of(run(records, window=window), "same_pair_daily")
    assert len(flags) == 1 and flags[0].evidence["needed_days"] == 3
    assert not of(run(records[:2], window=window), "same_pair_daily")


# --- texts ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "problem"), [
    ("\u200b" * 200, "needs at least 200 visible characters (has 0)"),
    ("a" * 200, "needs at least 20 different characters (has 1)"),
    ("👍" * 200, "needs at least 20 different characters (has 1)"),
    (GOOD_TEXT, None),
])
def test_feedback_text_rules(text: str, problem: str | None) -> None:
    fb = {"l1": {"submitted_at": at(MON, "20:00"), "rating": 5, "text": text}}
    flags = of(run([rec(both(), feedback=fb)]), "text_rules")
    if problem is None:
        assert flags == []
        return
    assert len(flags) == 1 and flags[0].evidence["problem"].startswith(problem)
    assert flags[0].evidence["what"] == "feedback" and flags[0].people == ("l1",)
    assert flags[0].evidence["code_points"] == len(text)


def review(reports: dict[str, Any], active: dict[str, Any] | None = None) -> dict[str, Any]:
    return rec(
        active if active is not None else {
            "l1": [span(MON, "18:00", "19:00")], "r1": [span(MON, "18:00", "19:00")]},
        form="review", people=[who("l1", "learner"), who("r1", "instructor"),
                               who("r2", "instructor")],
        reports=reports, ended_at=at(MON, "19:00"),
    )


def test_report_of_one_character_and_before_the_start() -> None:
    early = {"r1": {"submitted_at": at(MON, "17:00"), "text": "好"}}
    flags = run([review(early)])
    assert of(flags, "text_rules")[0].evidence["what"] == "report"
    window = of(flags, "text_window")
    assert [f.evidence["problem"] for f in window] == ["submitted before the session started"]


def test_reports_by_an_absent_reviewer_or_in_an_empty_session() -> None:
    absent = {"r2": {"submitted_at": at(MON, "20:00"), "text": GOOD_TEXT}}
    flags = run([review(absent)])
    assert [f.evidence["problem"] for f in of(flags, "text_window")] == [
        "the reviewer was never present"]
    assert not of(flags, "text_rules")
    nobody = run([review({"r1": {"submitted_at": at(MON, "20:00"), "text": "x"}}, active={})])
    assert [f.evidence["problem"] for f in of(nobody, "text_window")] == [
        "nobody was ever active in the session"]


def test_feedback_window_counts_from_ended_at() -> None:
    late = {"l1": {"submitted_at": at("2022-03-14", "19:30"), "rating": 5, "text": TEXT_OK}}
    ended_early = rec(both(), feedback=late, ended_at=at(MON, "19:00"))
    flags = of(run([ended_early]), "text_window")
    assert flags and flags[0].evidence["problem"] == "submitted after the 7 days window"
    assert flags[0].evidence["anchored_on"] == "ended_at"
    ended_later = rec(both(), feedback=late, ended_at=at(MON, "20:00"))
    assert not of(run([ended_later]), "text_window")


def test_version_1_reports_without_text_are_not_judged_by_text() -> None:
    flags = run([review({"r1": {"submitted_at": at(MON, "20:00")}})])
    assert not of(flags, "text_rules") and not of(flags, "text_window")


# --- black, frozen and unsupported video ---------------------------------------------


def test_black_video_for_minutes_in_a_row() -> None:
    rows = [row("t1", c, frames=1) for c in minutes(0, 4)]  # a disabled camera: 1 fps
    rows += [row("t1", c, frames=1) for c in minutes(10, 2)]  # two minutes: too short
    rows += [row("t1", c, frames=25) for c in minutes(20, 5)]  # live
    flags = of(run([rec(both())], {"s1": rows}), "black_video")
    assert len(flags) == 1
    ev = flags[0].evidence
    assert ev["minutes"] == 4 and ev["runs"] == [["2022-03-07T10:00:00Z", "2022-03-07T10:04:00Z"]]
    assert ev["frames"] == 4 * 60


def test_frozen_video_needs_live_rate_no_keyframe_and_tiny_frames() -> None:
    tiny = [row("l1", c, frames=15, video_bytes=15 * 60 * 40) for c in minutes(0, 6)]
    flags = of(run([rec(both())], {"s1": tiny}), "frozen_video")
    assert len(flags) == 1 and flags[0].people == ("l1",) and flags[0].evidence["minutes"] == 6
    keyed = [row("l1", c, frames=15, keyframes=1 if c == "18:03" else 0,
                  video_bytes=15 * 60 * 40) for c in minutes(0, 6)]
    assert not of(run([rec(both())], {"s1": keyed}), "frozen_video")
    moving = [row("l1", c, frames=15) for c in minutes(0, 6)]  # 1000 bytes a frame
    assert not of(run([rec(both())], {"s1": moving}), "frozen_video")


def test_publishing_the_rows_do_not_support() -> None:
    rows = [row("t1", c, level=30) for c in minutes(0, 5)]  # voiced
    rows += [row("t1", c, level=127, frames=1) for c in minutes(5, 3)]  # muted, camera off
    record = rec(both(), publishing={"t1": [span(MON, "18:00", "18:10")]})
    flags = of(run([record], {"s1": rows}), "publishing_unsupported")
    assert len(flags) == 1
    ev = flags[0].evidence
    assert (ev["minutes"], ev["without_row"]) == (5, 2)  # 18:05–18:07 contradict, 18:08–09 missing
    assert ev["listed_minutes"][0] == "2022-03-07T10:05:00Z"
    assert not of(run([record]), "publishing_unsupported")  # no rows: nothing to compare


# --- open hours -----------------------------------------------------------------------


def test_outside_open_hours() -> None:
    flags = of(run([rec(both(MON, "17:30", "18:40"))]), "outside_open_hours")
    assert len(flags) == 1 and flags[0].people == ("t1", "l1")
    assert flags[0].evidence["outside_minutes"] == 30
    assert flags[0].evidence["outside"] == [["2022-03-07T09:30:00Z", "2022-03-07T10:00:00Z"]]
    assert not of(run([rec(both(MON, "17:56", "18:40"))]), "outside_open_hours")  # 4 min


# --- the batch, JSON and CSV ----------------------------------------------------------


def test_a_bad_record_names_its_field() -> None:
    bad = rec({"t1": [["2022-03-07 18:00", at(MON, "19:00")]]})
    with pytest.raises(RecordError, match=r"active\.t1\[0\]\[0\]: timestamp needs a UTC offset"):
        run([bad])
    with pytest.raises(RecordError, match="programme: no policy for programme 'other'"):
        run([rec(both(), programme="other")])
    with pytest.raises(RecordError, match="duplicate 's1'"):
        run([rec(both()), rec(both())])
    with pytest.raises(RecordError, match=r"evidence\.s1\[0\]\.video_frames"):
        run([rec(both())], {"s1": [{**row("t1", "18:00"), "video_frames": -1}]})


def test_json_and_csv_shapes() -> None:
    records = [
        rec(both(MON, "17:30", "19:00"), sid="x1", publishing={}),
        rec({"t1": [span("2022-03-08", "18:00", "19:00")], "l1": []}, sid="x2"),
    ]
    flags = run(records)
    assert kinds(flags) == ["instructor_not_publishing", "outside_open_hours",
                            "no_media_evidence", "alone"]
    assert set(kinds(flags)) <= set(KINDS)
    report = report_json(flags, sessions=2, rules={"training": SupervisionRules()},
                         window=(date(2022, 3, 7), date(2022, 3, 8)))
    assert report["from"] == "2022-03-07" and report["sessions"] == 2
    assert report["counts"] == {"instructor_not_publishing": 1, "no_media_evidence": 1,
                                "alone": 1, "outside_open_hours": 1}
    assert report["rules"]["training"]["alone_min_minutes"] == 10
    json.dumps(report)  # serialisable as is
    first = report["flags"][0]
    assert set(first) == {"session_id", "kind", "people", "summary", "evidence"}
    table = list(csv.reader(flags_csv(flags).splitlines()))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == 1 + len(flags)
    assert table[1][:3] == ["x1", "instructor_not_publishing", "t1"]
    assert json.loads(table[1][4])["active_minutes"] == 90
    assert table[3][2] == "t1"
