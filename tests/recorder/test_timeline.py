"""The session timeline SVG: well-formed, one row per person, open hours and counted set."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from credits_builders import CALENDAR, TRAINING, at, one_to_one, person, span

from recorder.credits.calendar import to_us
from recorder.credits.rules import evaluate
from recorder.credits.timeline import Minute, _media, _minutes, minute_table, render_timeline

NS = "{http://www.w3.org/2000/svg}"


def test_timeline_shows_people_open_hours_and_counted_set() -> None:
    # 17:30–18:40 on a Monday: the open band starts at 18:00, 40 min count.
    rec = one_to_one([span("2022-03-07", "17:30", "18:40")])
    svg = render_timeline(rec, TRAINING, CALENDAR)
    root = ET.fromstring(svg)  # well-formed XML
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    assert any("t1 · 指导教师 instructor" in t for t in texts)
    assert any("l1 · 学员 learner" in t for t in texts)
    assert any("有效时长 effective: 40 min" in t for t in texts)
    titles = [t.text or "" for t in root.iter(f"{NS}title")]
    assert any(t.startswith("开放时段 open hours 03-07 18:00:00–22:00:00") for t in titles)
    counted = "计入时段 counted: 03-07 18:00:00–18:40:00 (40 min 0 s)"
    assert any(t.startswith(counted) for t in titles)
    assert any(t.endswith("17:30:00–18:40:00 (70 min 0 s)") for t in titles)


def test_timeline_escapes_ids_and_handles_nobody_present() -> None:
    rec = {
        "session_id": "<s&1>",
        "programme": "training",
        "form": "lecture",
        "people": [person("t<1>", "instructor", "S1", "D1")],
        "active": {},
    }
    root = ET.fromstring(render_timeline(rec, TRAINING, CALENDAR))
    texts = " ".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert "<s&1>" in texts and "no active time recorded" in texts


def test_counted_set_is_the_first_maximum_minutes() -> None:
    # 18:00–19:30 one_to_one: 90 min effective, the first 60 count.
    svg = render_timeline(one_to_one([span("2022-03-07", "18:00", "19:30")]), TRAINING, CALENDAR)
    assert "计入时段 counted: 03-07 18:00:00–19:00:00 (60 min 0 s)" in svg


# --- per minute: present, voiced, video, counted or why not (issue 9, item 8) ----------

MON = "2022-03-07"


def statuses(minutes: list[Minute]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in minutes:
        counts[m.status] = counts.get(m.status, 0) + 1
    return counts


def evidence_row(pid: str, clock: str, *, level: int | None = None,
                 fps: int = 0) -> dict[str, Any]:
    return {
        "person": pid, "minute": at(MON, clock), "video_frames": fps * 60,
        "video_keyframes": 0, "video_bytes": fps * 60 * 900, "audio_level": [level] * 60,
        "frames": [fps] * 60, "voiced_s": 60 if level is not None and level < 50 else 0,
    }


@pytest.mark.parametrize(("record", "expected"), [
    # 17:30–18:40 on a Monday: 30 min before the open hours, 40 counted.
    (one_to_one([span(MON, "17:30", "18:40")]), {"outside_open_hours": 30, "counted": 40}),
    # 90 min of a one-to-one: the first 60 count, the rest is above the maximum.
    (one_to_one([span(MON, "18:00", "19:30")]), {"counted": 60, "above_maximum": 30}),
    # The learner away for 10 min.
    (one_to_one([span(MON, "18:00", "19:00")],
                [span(MON, "18:00", "18:20"), span(MON, "18:30", "19:00")]),
     {"counted": 50, "not_both_present": 10}),
    # 8 min: below the one-to-one's 10-minute minimum.
    (one_to_one([span(MON, "18:00", "18:08")]), {"below_minimum": 8}),
    # A lecture: 30 min taught (under its 60-minute minimum), then the learner alone.
    ({"session_id": "L", "programme": "training", "form": "lecture",
      "people": [person("t1", "instructor"), person("l1", "learner")],
      "active": {"t1": [span(MON, "18:00", "18:30")], "l1": [span(MON, "18:00", "18:45")]}},
     {"below_minimum": 30, "instructor_absent": 15}),
])
def test_minutes_counted_and_why_not(record: dict[str, Any], expected: dict[str, int]) -> None:
    assert statuses(minute_table(record, TRAINING, CALENDAR)) == expected


def test_the_picture_lists_the_reasons_with_their_minutes() -> None:
    svg = render_timeline(one_to_one([span(MON, "17:30", "18:40")]), TRAINING, CALENDAR)
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    assert "开放时段外 outside open hours 30 min" in texts
    assert "计入 counted 40 min" in texts
    assert "03-07 17:30–18:00 开放时段外 outside open hours (30 min)" in texts
    titles = [t.text or "" for t in root.iter(f"{NS}title")]
    assert "03-07 17:45 开放时段外 outside open hours" in titles
    assert "03-07 18:10 计入 counted" in titles
    assert any("no media evidence: presence only" in t for t in texts)


def test_voiced_and_video_per_minute_from_the_evidence_rows() -> None:
    record = one_to_one([span(MON, "18:00", "18:20")])
    rows = [evidence_row("t1", f"18:0{m}", level=30, fps=25) for m in range(3)]
    rows += [evidence_row("t1", f"18:0{m}", level=127, fps=1) for m in range(3, 6)]
    rows += [evidence_row("l1", "18:00", level=20)]
    minutes = minute_table(record, TRAINING, CALENDAR, rows)
    assert len(minutes) == 20
    first, fourth = minutes[0], minutes[3]
    assert first.present == {"t1", "l1"} and first.voiced == {"t1", "l1"}
    assert first.video == {"t1": "live"} and fourth.video == {"t1": "low"}
    assert fourth.voiced == frozenset() and minutes[10].video == {}
    root = ET.fromstring(render_timeline(record, TRAINING, CALENDAR, rows))
    titles = [t.text or "" for t in root.iter(f"{NS}title")]
    assert "t1 发言 voiced: 03-07 18:00–18:03" in titles
    assert "l1 发言 voiced: 03-07 18:00–18:01" in titles
    assert "t1 视频 video: 03-07 18:00–18:03" in titles
    assert "t1 视频帧率过低 video below live rate: 03-07 18:03–18:06" in titles


def test_voiced_and_publishing_from_the_record_without_rows() -> None:
    record = one_to_one([span(MON, "18:00", "18:30")])
    record["voiced"] = {"l1": [span(MON, "18:05", "18:07")]}
    record["publishing"] = {"t1": [span(MON, "18:00", "18:10")]}
    minutes = minute_table(record, TRAINING, CALENDAR)
    assert [m.voiced for m in minutes[4:8]] == [frozenset(), {"l1"}, {"l1"}, frozenset()]
    svg = render_timeline(record, TRAINING, CALENDAR)
    assert "t1 授课 publishing: 03-07 18:00:00–18:10:00 (10 min 0 s)" in svg
    assert "basis: media evidence" in svg


def test_evidence_reasons_for_the_minutes_the_rules_left_out() -> None:
    # The engine's sets as the media-evidence rules give them (issue 9, item 2): a
    # lecture whose instructor taught 18:00–19:00 but published only until 18:40, and
    # whose learners received nothing after 18:50: E = 18:00–18:40, 40 min under the
    # lecture's 60-minute minimum. The reasons are read from the record.
    record: dict[str, Any] = {
        "session_id": "L1", "programme": "training", "form": "lecture",
        "people": [person("t1", "instructor"), person("l1", "learner")],
        "active": {"t1": [span(MON, "18:00", "19:00")], "l1": [span(MON, "18:00", "19:00")]},
        "publishing": {"t1": [span(MON, "18:00", "18:40"), span(MON, "18:50", "19:00")]},
        "receiving": {"l1": [span(MON, "18:00", "18:50")]},
    }
    outcome = evaluate(record, TRAINING, CALENDAR)
    effective = ((to_us(datetime.fromisoformat(at(MON, "18:00"))),
                  to_us(datetime.fromisoformat(at(MON, "18:40")))),)
    outcome.sets = replace(outcome.sets, effective=effective, counted=())
    media = _media(record, None)
    counts = statuses(_minutes(outcome, media, TRAINING))
    assert counts == {"below_minimum": 40, "instructor_not_publishing": 10,
                      "nobody_receiving": 10}


def test_evidence_reasons_from_the_credit_rules() -> None:
    # A lecture on the evidence basis, through the credit rules themselves: the
    # instructor stops publishing 19:00–19:10, the learner stops receiving at 19:20.
    record: dict[str, Any] = {
        "session_id": "L2", "programme": "training", "form": "lecture",
        "people": [person("t1", "instructor"), person("l1", "learner")],
        "active": {"t1": [span(MON, "18:00", "19:30")], "l1": [span(MON, "18:00", "19:30")]},
        "publishing": {"t1": [span(MON, "18:00", "19:00"), span(MON, "19:10", "19:30")]},
        "receiving": {"l1": [span(MON, "18:00", "19:20")]},
    }
    counts = statuses(minute_table(record, TRAINING, CALENDAR))
    assert counts == {"counted": 70, "instructor_not_publishing": 10, "nobody_receiving": 10}
    svg = render_timeline(record, TRAINING, CALENDAR)
    assert "03-07 19:00–19:10 教师未授课 instructor not publishing (10 min)" in svg
    assert "03-07 19:20–19:30 无人接收 nobody receiving (10 min)" in svg
