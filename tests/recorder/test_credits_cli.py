"""The credits CLI, run as a real subprocess (python -m recorder.credits.credits_cli)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from credits_builders import at, feedback, one_to_one, span

from recorder.credits.calendar import SAMPLE_CALENDAR

ROOT = Path(__file__).resolve().parents[2]
MON = "2022-03-07"


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recorder.credits.credits_cli", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )


def record(sid: str = "s1", day: str = MON) -> dict[str, Any]:
    return one_to_one([span(day, "18:00", "19:00")], sid=sid, fb=feedback(at(day, "20:00"), 4))


CAL = str(SAMPLE_CALENDAR)


def test_session_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(record(), ensure_ascii=False, indent=2), encoding="utf-8")
    done = cli("session", "--policy", "training", "--calendar", CAL, str(path))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["people"]["t1"]["points"] == "15.00"
    assert result["people"]["t1"]["pay_cny"] == "150.00"


def test_session_from_stdin_with_the_credits_prefix() -> None:
    done = cli("credits", "session", "--policy", "training", "--calendar", CAL, "-",
               stdin=json.dumps(record()))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["effective_minutes"] == 60


def test_statement_reads_json_lines() -> None:
    lines = "\n".join(json.dumps(record(f"s{i}", d))
                      for i, d in enumerate(["2022-03-07", "2022-03-08", "2022-03-09"]))
    done = cli("statement", "--policy", "training", "--calendar", CAL, stdin=lines + "\n\n")
    assert done.returncode == 0, done.stderr
    t1 = json.loads(done.stdout)["people"]["t1"]
    # Third one_to_one of the term earns nothing: 2 × 15 = 30 points; 3 × 60 min = 4 学时.
    assert t1["terms"]["2022-spring"] == {"points": "30.00", "pay_cny": "300.00", "sessions": 3}
    assert t1["years"]["2022"] == {"study_hours": 4, "credits": 0}


def test_invalid_record_exits_2_and_prints_nothing() -> None:
    bad = record("s2")
    bad["people"][1]["role"] = "guest"
    lines = json.dumps(record("s1")) + "\n" + json.dumps(bad) + "\n"
    done = cli("statement", "--policy", "training", "--calendar", CAL, stdin=lines)
    assert done.returncode == 2
    assert done.stdout == ""
    assert 'line 2: people[1].role: must be "instructor" or "learner"' in done.stderr


def test_bad_json_policy_and_calendar_exit_2(tmp_path: Path) -> None:
    done = cli("session", "--policy", "training", "--calendar", CAL, stdin="{not json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    done = cli("session", "--policy", "nosuch", "--calendar", CAL, stdin=json.dumps(record()))
    assert done.returncode == 2 and "not a built-in policy" in done.stderr
    missing = str(tmp_path / "missing.toml")
    done = cli("session", "--policy", "training", "--calendar", missing,
               stdin=json.dumps(record()))
    assert done.returncode == 2 and "cannot read calendar" in done.stderr
    done = cli("session", "--policy", "training", stdin=json.dumps(record()))
    assert done.returncode == 2 and "--calendar" in done.stderr  # required


def test_session_rejects_several_records() -> None:
    lines = json.dumps(record("a")) + "\n" + json.dumps(record("b")) + "\n"
    done = cli("session", "--policy", "training", "--calendar", CAL, stdin=lines)
    assert done.returncode == 2 and "use 'credits statement'" in done.stderr


def test_policy_from_a_file(tmp_path: Path) -> None:
    """An operator changes a number in a copy of the policy, not in code."""
    text = (ROOT / "recorder/credits/policies/training.toml").read_text(encoding="utf-8")
    custom = tmp_path / "training-8.toml"
    custom.write_text(text.replace("duration_points_per_hour = 6", "duration_points_per_hour = 8"),
                      encoding="utf-8")
    done = cli("session", "--policy", str(custom), "--calendar", CAL, stdin=json.dumps(record()))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["people"]["t1"]["points"] == "17.00"


def test_timeline_writes_svg(tmp_path: Path) -> None:
    src = tmp_path / "s.json"
    src.write_text(json.dumps(record()), encoding="utf-8")
    out = tmp_path / "t.svg"
    done = cli("timeline", str(src), "--calendar", CAL, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("<svg")
