"""The session timeline SVG: well-formed, one row per person, open hours and counted set."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from credits_builders import CALENDAR, TRAINING, one_to_one, person, span

from recorder.credits.timeline import render_timeline

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
