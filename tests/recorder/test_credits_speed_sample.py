"""The statement of the bench's kind of records is exactly what it was before the speed
work of issue 15, item 4.

``fixtures/credits_speed_sample.json.gz`` holds, for a seeded sample of 3,000 records
shaped like the bench's (``bench.credits.make_session``: the shapes the fast paths are
for) and varied where the fast paths give up (media evidence with gaps, texts that fail
the text rules, late or early feedback, people double-booked in overlapping sessions, a
small pool of teachers so the term caps bite, same school or district, replays, review
reports without text, observers, several offsets and messy intervals), the statement
computed by the engine at commit 3098bfb (before the speed work), from
:func:`compute_statement` and from a streaming :class:`StatementBuilder`, and a digest of
every session's final outcome (:func:`compute_sessions`, in chunks of 100, so that a
difference points at its sessions). The records are not stored (they would not fit in a
small fixture): they are generated here, and the fixture keeps a digest of them, so a
change of the generator is told apart from a change of the figures.

Regenerate only on purpose, when a rule changes, with the engine whose figures are the
reference::

    .venv/bin/python -m tests.recorder.test_credits_speed_sample --write
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench.credits import _iso, make_session, open_starts
from recorder.credits.fastlane import quick
from recorder.credits.policy import Policy
from recorder.credits.statement import (
    StatementBuilder,
    compute_sessions,
    compute_statement,
    validate_batch,
)
from tests.recorder.credits_builders import CALENDAR, TRAINING, TUTORING_RICH

FIXTURE = Path(__file__).parent / "fixtures" / "credits_speed_sample.json.gz"
SAMPLE: dict[str, tuple[int, int, Policy]] = {
    "training": (41, 2000, TRAINING), "tutoring": (42, 1000, TUTORING_RICH)}
CHUNK = 100
_TEXTS = ("\u200b" * 210, "a" * 200, "好 " * 200 + "a", "短", "", "ｶﾞ" * 120 + "é" * 90)


def _remap(record: dict[str, Any], teachers: int, learners: int) -> dict[str, Any] | None:
    """The record with its people drawn from a small pool (so that people meet again:
    term caps, double-booking); a person mapped onto someone already in it is dropped."""
    ids: dict[str, str] = {}
    taken = set()
    for p in record["people"]:
        pool = teachers if p["role"] == "instructor" else learners
        new = f"{p['id'][0]}{int(p['id'][1:]) % pool}"
        if new not in taken:
            ids[p["id"]] = new
            taken.add(new)
    people = [{**p, "id": ids[p["id"]]} for p in record["people"] if p["id"] in ids]
    roles = [p["role"] for p in people]
    if record["form"] != "lecture" and len(people) != len(record["people"]):
        return None
    if "instructor" not in roles or ("learner" not in roles and record["form"] != "lecture"):
        return None
    out = {**record, "people": people}
    for key in ("active", "replay", "feedback", "reports", "publishing", "voiced",
                "receiving"):
        if key in record:
            out[key] = {ids[pid]: v for pid, v in record[key].items() if pid in ids}
    return out


def _shift(rng: random.Random, iso: str) -> str:
    """The same instant in another spelling (offset, no fraction) now and then."""
    if rng.random() < 0.9 or not iso.endswith("Z"):
        return iso
    whole = iso[:19]
    return whole + rng.choice(("+00:00", ".000000Z", "Z"))


def _vary(rng: random.Random, record: dict[str, Any], programme: str) -> dict[str, Any]:
    """Where the fast paths give up: everything else the engine can meet."""
    record["programme"] = programme
    if programme == "tutoring":
        if record["form"] == "review":
            record["form"] = "one_to_one"
            record["people"] = record["people"][:2]
            record["people"][0], record["people"][1] = (
                {**record["people"][1], "role": "instructor"}, {**record["people"][0]})
            record.pop("reports", None)
            record["feedback"] = {}
            kept = {p["id"] for p in record["people"]}
            record["active"] = {k: v for k, v in record["active"].items() if k in kept}
        elif record["form"] == "lecture":
            record["form"] = "classroom"
            record.pop("replay", None)
        for p in record["people"]:
            if rng.random() < 0.3:
                p.pop("school", None)
                p.pop("district", None)
    people = {p["id"]: p for p in record["people"]}
    active = record["active"]
    for pid in list(active):
        if rng.random() < 0.05:
            del active[pid]  # never present
        elif rng.random() < 0.08 and active[pid]:
            (a, b), = active[pid][:1]
            active[pid] = [[b, b], [a, b], [a, a]]  # messy: empty pieces, duplicates
        else:
            active[pid] = [[_shift(rng, a), _shift(rng, b)] for a, b in active[pid]]
    for fb in record.get("feedback", {}).values():
        roll = rng.random()
        if roll < 0.1:
            fb["text"] = rng.choice(_TEXTS)
        elif roll < 0.15:
            fb["submitted_at"] = "2030-01-01T00:00:00Z"  # after the window
        elif roll < 0.18:
            fb["submitted_at"] = "2020-01-01T00:00:00+08:00"  # before the session
    for report in record.get("reports", {}).values():
        roll = rng.random()
        if roll < 0.1:
            del report["text"]
        elif roll < 0.2:
            report["text"] = rng.choice(_TEXTS)
    if rng.random() < 0.15:  # same school and district as the instructor
        first = record["people"][0]
        for p in record["people"][1:]:
            if "school" in first:
                p["school"], p["district"] = first["school"], first["district"]
    roll = rng.random()
    if roll < 0.4:  # media evidence, the instructor with a gap
        teacher = record["people"][0]["id"]
        publishing = {pid: list(v) for pid, v in active.items()}
        if teacher in active and active[teacher] and rng.random() < 0.7:
            a, b = (datetime.fromisoformat(t).timestamp() for t in active[teacher][0])
            pause, resume = a + rng.uniform(0, 1800), a + rng.uniform(600, 2400)
            if pause < resume < b:
                publishing[teacher] = [[_iso(a), _iso(pause)], [_iso(resume), _iso(b)]]
        record["publishing"] = publishing
        record["voiced"] = {pid: v for pid, v in active.items() if rng.random() < 0.8}
        record["receiving"] = {pid: v for pid, v in active.items()
                               if pid != teacher and rng.random() < 0.9}
        if rng.random() < 0.5 and active.get(teacher):
            record["started_at"] = active[teacher][0][0]
            record["ended_at"] = active[teacher][-1][1]
        for p in record["people"]:
            if "school" in p and rng.random() < 0.5:
                p["school_id"], p["district_code"] = "id-" + p["school"], p["district"]
    if rng.random() < 0.1:
        record["observers"] = [{"staff": "office", "joined": record["active"].get(
            record["people"][0]["id"], [["2022-03-01T10:00:00Z"]])[0][0], "left": None}]
    if programme == "tutoring" and rng.random() < 0.2:
        record["marks"] = {p["id"]: {"problem": "配方法", "subject": "数学"}
                           for p in record["people"][1:2] if p["role"] == "learner"}
    assert set(people) == {p["id"] for p in record["people"]}
    return record


def sample_records(seed: int, count: int, programme: str) -> list[dict[str, Any]]:
    """``count`` varied records of one programme, in start order."""
    rng = random.Random(seed)
    # The bench's records over a twentieth of the term: busy days, people meeting again.
    starts = open_starts(CALENDAR, 20 * count)
    out: list[dict[str, Any]] = []
    n = 0
    while len(out) < count:
        start = next(starts)
        record = make_session(n, start, rng)
        n += 1
        remapped = _remap(record, 60 if programme == "training" else 6, 600)
        if remapped is None:
            continue
        # A few sessions start at once, for the same people: double-booking.
        out.append(_vary(rng, json.loads(json.dumps(remapped)), programme))
        if rng.random() < 0.05 and len(out) < count:
            twin = json.loads(json.dumps(remapped))
            twin["session_id"] += "x"
            out.append(_vary(rng, twin, programme))
    return out


def _digest(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute(records: list[dict[str, Any]], policy: Policy) -> dict[str, Any]:
    sessions = [o.to_json() for o in compute_sessions(records, policy, CALENDAR)]
    builder = StatementBuilder(policy, CALENDAR)
    ordered = validate_batch(enumerate(records, start=1), policy)  # in start order
    for record in ordered:
        builder.add(record)
    # The same records as decoded JSON, fed: the fast lane where it applies.
    by_id = {r["session_id"]: r for r in records}
    fed = StatementBuilder(policy, CALENDAR)
    for parsed in ordered:
        fed.feed(by_id[parsed.session_id])
    return {
        "records": _digest(records),
        "statement": compute_statement(records, policy, CALENDAR),
        "streamed": builder.result(),
        "fed": fed.result(),
        "sessions": [_digest(sessions[i:i + CHUNK]) for i in range(0, len(sessions), CHUNK)],
    }


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.mark.parametrize("programme", sorted(SAMPLE))
def test_statement_identical_to_the_engine_before_the_speed_work(
    expected: dict[str, Any], programme: str
) -> None:
    seed, count, policy = SAMPLE[programme]
    records = sample_records(seed, count, programme)
    want = expected[programme]
    assert _digest(records) == want["records"], "the generator changed, not the figures"
    got = compute(records, policy)
    assert got["sessions"] == want["sessions"], [
        f"sessions {CHUNK * i}–{CHUNK * (i + 1) - 1}"
        for i, (a, b) in enumerate(zip(got["sessions"], want["sessions"], strict=True))
        if a != b]
    assert got["statement"] == want["statement"]
    assert got["streamed"] == want["statement"]
    assert got["fed"] == want["statement"]


@pytest.mark.parametrize("programme", sorted(SAMPLE))
def test_the_fast_lane_takes_the_plain_records(programme: str) -> None:
    """The comparison above means something for the fast lane only if it takes many of
    the sample's records (and gives the rest to the general way)."""
    seed, count, policy = SAMPLE[programme]
    engine = StatementBuilder(policy, CALENDAR)._engine
    taken = sum(quick(engine, record, None) is not None
                for record in sample_records(seed, count, programme))
    assert count * 0.2 < taken < count * 0.9, taken


def test_the_sample_is_varied(expected: dict[str, Any]) -> None:
    """Worth something only if the reductions happen in it."""
    training = expected["training"]["statement"]
    tutoring = expected["tutoring"]["statement"]
    assert training["overlaps"] and tutoring["overlaps"]
    assert tutoring["marks"]
    notes = json.dumps([o.to_json() for o in compute_sessions(
        sample_records(*SAMPLE["training"][:2], "training"), TRAINING, CALENDAR)],
        ensure_ascii=False)
    for note in ("this term: no points", "same school", "visible characters",
                 "different characters", "instructor not publishing", "already credited",
                 "no media evidence", "feedback after 7 days", "report without a text",
                 "replay"):
        assert note in notes, note


def write() -> None:
    data = {}
    for programme, (seed, count, policy) in SAMPLE.items():
        data[programme] = compute(sample_records(seed, count, programme), policy)
        assert data[programme].pop("streamed") == data[programme]["statement"]
        assert data[programme].pop("fed") == data[programme]["statement"]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with gzip.GzipFile(FIXTURE, "wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    print(f"{FIXTURE}: {FIXTURE.stat().st_size:,} bytes ({len(text):,} characters)")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
