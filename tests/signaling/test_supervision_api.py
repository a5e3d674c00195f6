"""The supervisor report over REST (GET /api/v1/supervision), against the real server:
wired to the same records as GET /sessions/{id}/record; the flags themselves are tested
kind by kind in tests/recorder/test_supervision.py."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from signaling.server.http_util import SERVICES
from signaling.session.timefmt import iso_at
from tests.conftest import free_port
from tests.support import API_KEY, ServerHandle, start_app

BEIJING = ZoneInfo("Asia/Shanghai")


def days_around_now() -> tuple[str, str]:
    today = datetime.now(UTC).astimezone(BEIJING).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


async def get_text(server: ServerHandle, path: str, key: str | None = API_KEY
                   ) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with server.http.get(server.base + path, headers=headers) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_report_lists_a_stored_session_and_its_flags(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    svc = server.app[SERVICES]
    # Feedback of 200 zero-width spaces, stored as it arrived before issue 9's form rules.
    await svc.store.put_submission("feedback", session_id, "s1", iso_at(svc.clock.time()),
                                   {"rating": 5, "text": "\u200b" * 200})
    first, last = days_around_now()
    status, report = await server.api("GET", f"/api/v1/supervision?from={first}&to={last}")
    assert status == 200, report
    assert (report["from"], report["to"]) == (first, last)
    assert report["sessions"] >= 1
    assert set(report["rules"]) == {"training", "tutoring"}
    assert report["rules"]["training"]["alone_min_minutes"] == 10
    mine = [f for f in report["flags"] if f["session_id"] == session_id]
    kinds = {f["kind"] for f in mine}
    assert {"text_rules", "text_window"} <= kinds  # nobody was ever active, either
    text = next(f for f in mine if f["kind"] == "text_rules")
    assert text["people"] == ["s1"] and text["evidence"]["visible_chars"] == 0
    assert text["evidence"]["code_points"] == 200

    status, kind, body = await get_text(
        server, f"/api/v1/supervision?from={first}&to={last}&format=csv")
    assert status == 200 and kind.startswith("text/csv")
    table = list(csv.reader(body.splitlines()))
    assert table[0] == ["session_id", "kind", "people", "summary", "evidence"]
    row = next(r for r in table[1:] if r[0] == session_id and r[1] == "text_rules")
    assert row[2] == "s1" and json.loads(row[4])["visible_chars"] == 0


async def test_a_window_without_sessions(server: ServerHandle) -> None:
    status, report = await server.api("GET", "/api/v1/supervision?from=2001-01-01&to=2001-01-31")
    assert status == 200
    assert report["sessions"] == 0 and report["flags"] == [] and report["counts"] == {}


@pytest.mark.parametrize(("query", "field", "words"), [
    ("", "from", "from is required"),
    ("from=2022-03-07", "to", "to is required"),
    ("from=2022-02-30&to=2022-03-07", "from", "from is not a date"),
    ("from=2022/03/07&to=2022-03-07", "from", "from must be a date like 2022-03-07"),
    ("from=20220307&to=2022-03-07", "from", "from must be a date like"),
    ("from=2022-03-07&to=2022-03-06", "to", "to (2022-03-06) is before from (2022-03-07)"),
    ("from=2022-01-01&to=2022-04-04", "to", "the range is 94 days; at most 93"),
    ("from=2022-03-07&to=2022-03-07&format=xml", "format", "format must be json or csv"),
])
async def test_bad_dates_and_ranges_are_400(
    server: ServerHandle, query: str, field: str, words: str
) -> None:
    status, body = await server.api("GET", f"/api/v1/supervision?{query}")
    assert status == 400, body
    assert body["error"]["field"] == field and words in body["error"]["message"]


async def test_the_longest_range_is_accepted(server: ServerHandle) -> None:
    status, report = await server.api("GET", "/api/v1/supervision?from=2022-01-01&to=2022-04-03")
    assert status == 200 and report["to"] == "2022-04-03"  # 93 days


async def test_only_the_programme_office(server: ServerHandle) -> None:
    _, toks = await server.create()
    path = "/api/v1/supervision?from=2022-03-07&to=2022-03-07"
    status, body = await server.api("GET", path, token=toks["t1"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await server.api("GET", path, key=None))[0] == 401
    assert (await server.api("GET", path, key="wrong"))[0] == 401


async def test_described_in_openapi(server: ServerHandle) -> None:
    status, doc = await server.api("GET", "/api/v1/openapi.json", key=None)
    assert status == 200
    assert {"/supervision", "/sessions/{id}/evidence", "/sessions/{id}/timeline"} <= set(
        doc["paths"])


# --- opentutor supervise (a real subprocess) ------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
MON = "2022-03-07"


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signaling.server.cli", "supervise", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )


def at(day: str, clock: str) -> str:
    return f"{day}T{clock}:00+08:00"


def record(sid: str, day: str = MON, start: str = "18:00", end: str = "19:00",
           **extra: Any) -> dict[str, Any]:
    return {
        "session_id": sid, "programme": "training", "form": "one_to_one",
        "people": [{"id": "t1", "role": "instructor", "school": "S1", "district": "D1"},
                   {"id": "l1", "role": "learner", "school": "S2", "district": "D2"}],
        "active": {"t1": [[at(day, start), at(day, end)]], "l1": [[at(day, start), at(day, end)]]},
        **extra,
    }


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_cli_reads_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(jsonl(
        record("silent", publishing={}),  # evidence basis, published nothing
        record("early", "2022-03-08", "17:00", "18:30", publishing={
            "t1": [[at("2022-03-08", "17:00"), at("2022-03-08", "18:30")]]}),
        record("later", "2022-03-21"),  # outside the window: not read
    ), encoding="utf-8")
    done = cli("--from", "2022-03-07", "--to", "2022-03-08", "--records", str(path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sessions"] == 2 and (report["from"], report["to"]) == (MON, "2022-03-08")
    # t1 and l1 met on both days of a two-day window: "every open day of the window".
    assert [(f["session_id"], f["kind"]) for f in report["flags"]] == [
        ("silent", "instructor_not_publishing"), ("early", "same_pair_daily"),
        ("early", "outside_open_hours")]
    assert report["flags"][2]["evidence"]["outside_minutes"] == 60

    done = cli("--from", MON, "--to", "2022-03-08", "--records", "-", "--format", "csv",
               stdin=path.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[0] == ["session_id", "kind", "people", "summary", "evidence"]
    assert [r[:3] for r in rows[1:]] == [["silent", "instructor_not_publishing", "t1"],
                                         ["early", "same_pair_daily", "t1 l1"],
                                         ["early", "outside_open_hours", "t1 l1"]]


def test_cli_with_evidence_rows(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(jsonl(record("s1", publishing={
        "t1": [[at(MON, "18:00"), at(MON, "19:00")]]})), encoding="utf-8")
    rows = [{"person": "t1", "minute": at(MON, f"18:0{m}"), "video_frames": 60,
             "video_keyframes": 0, "video_bytes": 60_000, "frames": [1] * 60,
             "audio_level": [30] * 60, "voiced_s": 60} for m in range(4)]
    evidence = tmp_path / "e.jsonl"
    evidence.write_text(json.dumps({"session_id": "s1", "rows": rows}) + "\n", encoding="utf-8")
    done = cli("--from", MON, "--to", MON, "--records", str(records), "--evidence",
               str(evidence))
    assert done.returncode == 0, done.stderr
    kinds = [f["kind"] for f in json.loads(done.stdout)["flags"]]
    assert "black_video" in kinds and "publishing_unsupported" in kinds


def test_cli_thresholds_from_a_policy_file(tmp_path: Path) -> None:
    training = (ROOT / "recorder/credits/policies/training.toml").read_text(encoding="utf-8")
    policy = tmp_path / "strict.toml"
    policy.write_text(training + "\n[supervision]\nalone_min_minutes = 2\n", encoding="utf-8")
    records = tmp_path / "r.jsonl"
    alone = record("s1")
    alone["active"]["l1"] = [[at(MON, "18:05"), at(MON, "19:00")]]
    records.write_text(jsonl(alone), encoding="utf-8")
    base = ("--from", MON, "--to", MON, "--records", str(records))
    assert [f["kind"] for f in json.loads(cli(*base).stdout)["flags"]] == ["no_media_evidence"]
    done = cli(*base, "--policy", str(policy))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rules"]["training"]["alone_min_minutes"] == 2
    assert [f["kind"] for f in report["flags"]] == ["no_media_evidence", "alone"]
    policy.write_text(training + "\n[supervision]\nalone_minutes = 2\n", encoding="utf-8")
    done = cli(*base, "--policy", str(policy))
    assert done.returncode == 2 and done.stdout == ""
    assert "supervision.alone_minutes: unknown key" in done.stderr


@pytest.mark.parametrize(("args", "stdin", "words"), [
    (("--from", MON, "--to", MON, "--records", "-"),
     jsonl(record("s1")) + '{"session_id": "s2", "programme": "training"}\n',
     "error: line 2: form: must be a non-empty string"),
    (("--from", MON, "--to", MON, "--records", "-"), "{not json\n",
     "error: line 1: records: not valid JSON"),
    (("--from", MON, "--to", MON, "--records", "-"), jsonl(record("s1"), record("s1")),
     "line 2: session_id: duplicate 's1' (first on line 1)"),
    (("--from", "2022-02-30", "--to", MON, "--records", "-"), "",
     "argument --from: the date is not a date: '2022-02-30'"),
    (("--from", "2022-03-08", "--to", MON, "--records", "-"), "",
     "error: --to (2022-03-07) is before --from (2022-03-08)"),
    (("--from", MON, "--to", MON, "--records", "/nonexistent/r.jsonl"), "",
     "error: /nonexistent/r.jsonl: No such file or directory"),
    (("--from", MON, "--to", MON, "--data-dir", "/nonexistent/data"), "",
     "error: no opentutor data in /nonexistent/data"),
])
def test_cli_bad_input_exits_2_without_a_traceback(
    args: tuple[str, ...], stdin: str, words: str
) -> None:
    done = cli(*args, stdin=stdin)
    assert done.returncode == 2 and done.stdout == ""
    assert words in done.stderr and "Traceback" not in done.stderr


async def test_cli_reads_the_servers_data_directory(tmp_path: Path) -> None:
    handle = await start_app(tmp_path / "data", port=free_port())
    try:
        session_id, _ = await handle.create()
        svc = handle.app[SERVICES]
        await svc.store.put_submission("feedback", session_id, "s1", iso_at(svc.clock.time()),
                                       {"rating": 5, "text": "a" * 200})
        first, last = days_around_now()
        # Alongside the running server: SQLite in WAL mode.
        done = await asyncio.to_thread(cli, "--from", first, "--to", last,
                                       "--data-dir", str(tmp_path / "data"))
    finally:
        await handle.stop()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sessions"] == 1
    flags = {(f["session_id"], f["kind"]) for f in report["flags"]}
    assert (session_id, "text_rules") in flags
