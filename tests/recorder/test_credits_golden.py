"""Golden test: the credits engine gives exactly the figures of the fixture.

``fixtures/credits_golden.json.gz`` holds a fixed, seeded sample of varied records (both
programmes, every form, valid and invalid feedback, same school/district, term caps,
term boundaries, holidays, vacations, outside open hours, several offsets, messy
intervals) together with the engine's output *as computed before the speed work*
(issue 15, item 4): every session's result with the term caps applied, its interval
sets, every session's uncapped ``compute_session`` result, and the statements, both
from :func:`compute_statement` and from a streaming :class:`StatementBuilder`.

Issue 9 changed the rules on purpose and the fixture was regenerated: its records are the
same sessions as before, with realistic texts, and a share of them given record v2
fields (codes, media evidence, ended_at, report texts, marks).

The records are stored in the fixture, so the test does not depend on the generator
staying the same. Regenerate only on purpose, when a rule changes::

    .venv/bin/python -m tests.recorder.test_credits_golden --write
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from recorder.credits import records
from recorder.credits.policy import Policy
from recorder.credits.rules import compute_session
from recorder.credits.statement import (
    StatementBuilder,
    compute_sessions,
    compute_statement,
    validate_batch,
)
from tests.recorder.credits_builders import CALENDAR, TRAINING, TUTORING_RICH, golden_records

FIXTURE = Path(__file__).parent / "fixtures" / "credits_golden.json.gz"
SAMPLE = {"training": (15, 2400, TRAINING), "tutoring": (16, 1400, TUTORING_RICH)}


def _sets(sets: Any) -> dict[str, list[list[int]]]:
    return {name: [list(iv) for iv in getattr(sets, name)]
            for name in ("open", "raw", "effective", "counted")}


def _uncapped(
    records: list[dict[str, Any]], policy: Policy, capped: list[dict[str, Any]]
) -> dict[str, Any]:
    by_id = {s["session_id"]: s for s in capped}
    out = {}
    for record in records:
        result = compute_session(record, policy, CALENDAR)
        same = by_id[result["session_id"]]
        if result != {key: same[key] for key in result}:
            out[result["session_id"]] = result
    return out


def compute(records: list[dict[str, Any]], policy: Policy) -> dict[str, Any]:
    """Everything the engine says about ``records``, as plain JSON data."""
    sessions = []
    for outcome in compute_sessions(records, policy, CALENDAR):
        sessions.append({**outcome.to_json(), "start": outcome.start, "year": outcome.year,
                         "sets": _sets(outcome.sets)})
    builder = StatementBuilder(policy, CALENDAR)
    ordered = validate_batch(enumerate(records, start=1), policy)  # record start order
    for record in ordered:
        builder.add(record)
    # The decoded JSON, fed in the same order: the fast lane where it applies (issue 15).
    by_id = {r["session_id"]: r for r in records}
    fed = StatementBuilder(policy, CALENDAR)
    for record in ordered:
        fed.feed(by_id[record.session_id])
    return {
        "sessions": sessions,
        # Uncapped results, kept only where they differ from the capped ones (small fixture).
        "single": _uncapped(records, policy, sessions),
        "statement": compute_statement(records, policy, CALENDAR),
        "streamed": builder.result(),
        "fed": fed.result(),
    }


def _load() -> dict[str, Any]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return _load()


@pytest.mark.parametrize("programme", sorted(SAMPLE))
def test_same_figures_as_before(golden: dict[str, Any], programme: str) -> None:
    _, count, policy = SAMPLE[programme]
    expected = golden[programme]
    records = expected["records"]
    assert len(records) == count
    actual = compute(records, policy)
    assert len(actual["sessions"]) == count
    for got, want in zip(actual["sessions"], expected["sessions"], strict=True):
        assert got == want, f"session {want['session_id']} differs"
    assert actual["single"] == expected["single"]
    assert actual["statement"] == expected["statement"]
    assert actual["streamed"] == expected["statement"]
    assert actual["fed"] == expected["statement"]


def test_fast_parse_builds_what_the_checked_parse_builds(golden: dict[str, Any]) -> None:
    """records.parse_record's fast path gives up or agrees with the field-by-field path."""
    fast_count = 0
    memo: records.PeopleMemo = {}
    both = golden["training"]["records"] + golden["tutoring"]["records"]
    for record in both + both:  # twice, so the second time the people come from the memo
        checked = records._parse_checked(record, 3)
        fast = records._parse_plain(record, 3)
        if fast is not None:
            fast_count += 1
            assert fast == checked, record["session_id"]
        assert records.parse_record_memo(record, 3, memo) == checked, record["session_id"]
    assert fast_count == 2 * len(both)
    # A person validated for tutoring (no school needed) is not taken as valid for training.
    tutoring = golden["tutoring"]["records"][0]
    training = {**tutoring, "programme": "training", "form": "one_to_one"}
    training["people"] = [{k: v for k, v in p.items() if k != "school"} for p in tutoring["people"]]
    records.parse_record_memo({**tutoring, "people": training["people"]}, 3, memo)
    with pytest.raises(records.RecordError, match="school"):
        records.parse_record_memo(training, 3, memo)


def test_the_sample_covers_the_rules(golden: dict[str, Any]) -> None:
    """The sample is only worth something if it exercises the reductions."""
    text = json.dumps(golden, ensure_ascii=False)
    for note in ("same school", "same district", "this term: no points", "term cap 5000.00",
                 "outside open hours", "below minimum", "above maximum", "feedback after 7 days",
                 "feedback before the session started", "no feedback",
                 "replay outside open hours", "no report submitted", "viewing above",
                 "not both present", "not all present", "no active time",
                 # issue 9
                 "feedback needs at least 200 visible characters",
                 "feedback needs at least 20 different characters", "report needs at least",
                 "report without a text", "report from a reviewer who did not take part",
                 "compared by name (no codes)", "no media evidence in the record",
                 "instructor not publishing: ", "instructor not publishing and no conversation",
                 "fewer than 1 learner receiving", "no one voiced in the discussion",
                 "already credited by an earlier session", '"basis": "evidence"',
                 '"basis": "presence"'):
        assert note in text, note
    for programme in SAMPLE:
        assert golden[programme]["statement"]["overlaps"], programme
    assert golden["tutoring"]["statement"]["marks"]
    sessions = golden["training"]["sessions"] + golden["tutoring"]["sessions"]
    terms = {s["term"] for s in sessions}
    assert None in terms and len(terms) >= 4
    assert {s["year"] for s in sessions} >= {2021, 2022, 2023}


def write() -> None:
    data = {}
    for programme, (seed, count, policy) in SAMPLE.items():
        # As the test will read them back: the fixture stores keys sorted.
        records = json.loads(json.dumps(golden_records(seed, count, programme), sort_keys=True))
        data[programme] = {"records": records, **compute(records, policy)}
        del data[programme]["streamed"], data[programme]["fed"]
    FIXTURE.parent.mkdir(exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with gzip.GzipFile(FIXTURE, "wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    print(f"{FIXTURE}: {FIXTURE.stat().st_size:,} bytes ({len(text):,} characters)")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
