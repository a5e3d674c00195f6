"""The session store, the same scenarios on both back ends (``database_url``: SQLite
files and a real PostgreSQL server): what is written reads back the same, the
transactions hold under concurrency (the upload quota, first feedback wins, the
latest mark wins), migrations are versioned, and a database that is down is a fast,
clear, retryable error rather than a hang."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recorder.database import DatabaseUnavailable
from signaling.session.spec import RecordingChoice, parse_new_session
from signaling.session.whiteboard import BoardOp
from signaling.store.base import SessionStore
from signaling.store.factory import open_store
from tests.conftest import free_port
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = open_store(database_url, tmp_path)
    await opened.open()
    yield opened
    await opened.close()


async def test_session_and_people_read_back(store: SessionStore) -> None:
    body = copy.deepcopy(ONE_TO_ONE)
    body["people"][0].update(school_id="110101001", district_code="110112")
    spec = parse_new_session(body)
    await store.create_session("s_1", spec, "2026-03-02T08:00:00Z")
    got = await store.session("s_1")
    assert got is not None
    assert got.spec == spec and got.created_at == "2026-03-02T08:00:00Z"
    assert (got.started_at, got.ended_at) == (None, None)
    assert [p.id for p in got.spec.people] == ["t1", "s1"]  # as given
    assert got.spec.people[0].district_code == "110112"
    assert await store.session("s_missing") is None
    assert await store.sessions_of("s1") == ["s_1"]

    await store.mark_started("s_1", "2026-03-02T08:01:00Z")
    await store.mark_started("s_1", "2026-03-02T09:00:00Z")  # the first start stays
    await store.mark_ended("s_1", "2026-03-02T08:40:00Z")
    await store.mark_ended("s_1", "2026-03-02T09:40:00Z")
    got = await store.session("s_1")
    assert got is not None
    assert (got.started_at, got.ended_at) == ("2026-03-02T08:01:00Z", "2026-03-02T08:40:00Z")


async def test_a_session_is_written_whole_or_not_at_all(store: SessionStore) -> None:
    spec = parse_new_session(copy.deepcopy(ONE_TO_ONE))
    await store.create_session("s_1", spec, "2026-03-02T08:00:00Z")
    with pytest.raises(Exception):  # noqa: B017 (sqlite3 and psycopg name it differently)
        await store.create_session("s_1", spec, "2026-03-02T08:00:00Z")
    assert await store.sessions_of("t1") == ["s_1"]  # no second set of people


async def test_sessions_between_compare_like_text(store: SessionStore) -> None:
    """Both spellings of a time (with and without milliseconds) compare right against
    the window's ``.000Z`` bounds, on either back end."""
    for n, start in enumerate(("2026-03-01T15:59:59Z", "2026-03-01T16:00:00Z",
                               "2026-03-02T10:00:00Z", "2026-03-02T16:00:00Z")):
        body = copy.deepcopy(ONE_TO_ONE)
        body["scheduled_start"] = start
        body["scheduled_end"] = start.replace("00Z", "59Z").replace(":59:59Z", ":59:58Z")
        body["scheduled_end"] = start[:14] + "59:59Z" if start[14:16] == "00" else (
            "2026-03-01T16:59:59Z")
        await store.create_session(f"s_{n}", parse_new_session(body), start)
    await store.mark_started("s_0", "2026-03-02T09:00:00.250Z")  # started inside: counts
    await store.mark_started("s_3", "2026-03-02T15:59:59.999Z")
    ids = await store.session_ids_between("2026-03-01T16:00:00.000Z", "2026-03-02T16:00:00.000Z")
    assert ids == ["s_0", "s_1", "s_2", "s_3"]
    assert await store.session_ids_between("2026-03-02T16:00:00.000Z",
                                           "2026-03-03T16:00:00.000Z") == []


async def test_chat_and_board_log_in_order(store: SessionStore) -> None:
    for n in range(5):
        await store.add_chat("s_1", {"id": f"m{n}", "from": "t1", "text": f"第{n}条",
                                     "ts": "2026-03-02T08:00:00Z"})
    await store.add_chat("s_2", {"id": "m0", "text": "elsewhere"})
    last = await store.chat("s_1", limit=3)
    assert [m["id"] for m in last] == ["m2", "m3", "m4"]
    assert last[0]["text"] == "第2条"
    ops = [BoardOp(n, f"2026-03-02T08:00:0{n}Z", "t1", {"type": "stroke", "id": f"st{n}",
                                                        "points": [[0.1, 0.2]]})
           for n in (1, 2, 3)]
    for op in reversed(ops):
        await store.add_board_op("s_1", op)
    assert await store.board_log("s_1") == ops
    assert await store.board_log("s_2") == []


async def test_upload_quota_holds_under_concurrent_uploads(store: SessionStore) -> None:
    await store.create_session("s_1", parse_new_session(copy.deepcopy(ONE_TO_ONE)),
                               "2026-03-02T08:00:00Z")

    async def upload(n: int) -> str | None:
        return await store.add_upload_within(
            f"u_{n}", "s_1", "s1", "image/png", 100, "2026-03-02T08:00:00Z",
            max_files=3, max_bytes=10_000)

    results = await asyncio.gather(*(upload(n) for n in range(10)))
    assert results.count(None) == 3 and results.count("quota_exceeded") == 7
    assert await store.upload_usage("s_1", "s1") == (3, 300)
    assert await store.upload_usage("s_1", "t1") == (0, 0)
    stored = [n for n, r in enumerate(results) if r is None]
    assert await store.upload(f"u_{stored[0]}") == {
        "session_id": "s_1", "person": "s1", "content_type": "image/png", "bytes": 100}
    assert await store.upload("u_missing") is None
    # Bytes count too, and an ended session takes uploads only when allowed.
    assert await store.add_upload_within("u_big", "s_1", "t1", "image/png", 20_000, "x",
                                         max_files=3, max_bytes=10_000) == "quota_exceeded"
    await store.mark_ended("s_1", "2026-03-02T09:00:00Z")
    assert await store.add_upload_within("u_late", "s_1", "t1", "image/png", 1, "x",
                                         max_files=3, max_bytes=10_000) == "session_ended"
    assert await store.add_upload_within("u_late", "s_1", "t1", "image/png", 1, "x",
                                         max_files=3, max_bytes=10_000, after_end=True) is None


async def test_first_submission_stays_latest_mark_wins(store: SessionStore) -> None:
    first = await asyncio.gather(*(
        store.put_submission("feedback", "s_1", "s1", f"2026-03-02T09:0{n}:00Z",
                             {"rating": n, "text": "很好"}) for n in range(5)))
    assert first.count(True) == 1
    kept = (await store.submissions("feedback", "s_1"))["s1"]
    assert kept["rating"] == first.index(True) and kept["text"] == "很好"
    assert await store.put_submission("reports", "s_1", "s1", "t", {"text": "r"})
    assert set(await store.submissions("reports", "s_1")) == {"s1"}
    assert await store.submissions("feedback", "s_other") == {}

    for n in range(3):
        await store.put_mark("s_1", "s1", {"problem": f"p{n}", "subject": "数学",
                                           "knowledge_point": "函数", "marked_at": f"t{n}",
                                           "by": "t1"})
    await store.put_mark("s_1", "s0", {"problem": "q", "subject": "语文",
                                       "knowledge_point": "k", "marked_at": "t", "by": "t1"})
    marks = await store.marks("s_1")
    assert list(marks) == ["s0", "s1"]
    assert marks["s1"] == {"problem": "p2", "subject": "数学", "knowledge_point": "函数",
                           "marked_at": "t2", "by": "t1"}


async def test_recording_choice_latest_wins(store: SessionStore) -> None:
    assert await store.recording_choice("s_1") is None
    await store.set_recording_choice("s_1", RecordingChoice(True, "t1", "2026-03-02T08:00:00Z"))
    await store.set_recording_choice("s_1", RecordingChoice(False, "t2", "2026-03-02T08:05:00Z"))
    assert await store.recording_choice("s_1") == RecordingChoice(
        False, "t2", "2026-03-02T08:05:00Z")


async def test_reopening_keeps_data_and_version(database_url: str, tmp_path: Path) -> None:
    first = open_store(database_url, tmp_path)
    await first.open()
    version = first.schema_version
    assert version >= 1
    await first.add_chat("s_1", {"id": "m1", "text": "kept"})
    await first.close()
    again = open_store(database_url, tmp_path)
    await again.open()  # migrations again: nothing to do
    try:
        assert again.schema_version == version
        assert [m["text"] for m in await again.chat("s_1")] == ["kept"]
    finally:
        await again.close()


# -- PostgreSQL only: a database that is away


async def test_unreachable_postgres_fails_fast_with_a_clear_error() -> None:
    url = f"postgresql://opentutor:secret-pw@127.0.0.1:{free_port()}/opentutor"
    store = open_store(url, Path("/nonexistent"))
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as caught:
        await store.open()
    assert time.monotonic() - started < 8
    assert "127.0.0.1" in str(caught.value) and "secret-pw" not in str(caught.value)


async def test_postgres_gone_mid_way_is_unavailable_not_a_hang(postgres_url: str) -> None:
    """The store's connections die (the server ends them, as a restart would): the
    next call fails at once with DatabaseUnavailable or succeeds on a new connection;
    it never hangs."""
    import psycopg

    from tests.conftest import create_database

    url = create_database(postgres_url)
    store = open_store(url, Path("/nonexistent"))
    await store.open()
    try:
        await store.add_chat("s_1", {"id": "m1", "text": "before"})
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname=%s AND pid <> pg_backend_pid()", (name,))
        started = time.monotonic()
        # The pool checks a connection before handing it out: the dead one is replaced.
        assert [m["text"] for m in await store.chat("s_1")] == ["before"]
        assert time.monotonic() - started < 8
    finally:
        await store.close()


# -- SQLite: databases from before versioned migrations upgrade in place

# The store's schema as the last unversioned release created it (its SCHEMA text), and
# the first release's people table, before school_id and district_code.
UNVERSIONED = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, programme TEXT NOT NULL, form TEXT NOT NULL, title TEXT NOT NULL,
    scheduled_start TEXT NOT NULL, scheduled_end TEXT NOT NULL, record INTEGER NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT
);
CREATE TABLE people (
    session_id TEXT NOT NULL REFERENCES sessions(id), id TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, school TEXT NOT NULL, district TEXT NOT NULL, ord INTEGER NOT NULL,
    school_id TEXT NOT NULL DEFAULT '', district_code TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, id)
);
CREATE INDEX people_by_person ON people(id);
CREATE TABLE chat (
    session_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, id)
);
CREATE TABLE board_ops (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, by TEXT NOT NULL,
    op TEXT NOT NULL, PRIMARY KEY (session_id, seq)
);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, person TEXT NOT NULL,
    content_type TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX uploads_by_person ON uploads(session_id, person);
CREATE TABLE feedback (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE reports (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE marks (
    session_id TEXT NOT NULL, learner TEXT NOT NULL, problem TEXT NOT NULL,
    subject TEXT NOT NULL, knowledge_point TEXT NOT NULL, marked_at TEXT NOT NULL,
    by TEXT NOT NULL, PRIMARY KEY (session_id, learner)
);
CREATE TABLE recording_choice (
    session_id TEXT PRIMARY KEY, record INTEGER NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL
);
"""
FIRST_RELEASE_PEOPLE = """
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


@pytest.mark.parametrize("layout", ["unversioned", "first_release"])
async def test_sqlite_database_of_an_earlier_layout_upgrades(
    layout: str, tmp_path: Path
) -> None:
    import sqlite3

    from recorder.database import sqlite_version
    from signaling.store import migrations

    path = tmp_path / "opentutor.sqlite"
    db = sqlite3.connect(path)
    db.executescript(UNVERSIONED if layout == "unversioned" else FIRST_RELEASE_PEOPLE)
    db.execute("INSERT INTO sessions VALUES ('s_old','training','one_to_one','旧课',"
               "'2026-01-05T08:00:00Z','2026-01-05T09:00:00Z',1,'2026-01-04T00:00:00Z',"
               "'2026-01-05T08:01:00Z',NULL)")
    db.execute("INSERT INTO people (session_id, id, name, role, school, district, ord) VALUES "
               "('s_old','t1','王老师','instructor','S1','通州',0),"
               "('s_old','s1','李同学','learner','S7','密云',1)")
    db.commit()
    db.close()

    store = open_store("", tmp_path)
    await store.open()
    try:
        assert store.schema_version == len(migrations.SQLITE)
        old = await store.session("s_old")
        assert old is not None and old.spec.title == "旧课" and old.spec.record
        assert [(p.id, p.school, p.school_id) for p in old.spec.people] == [
            ("t1", "S1", ""), ("s1", "S7", "")]
        assert old.started_at == "2026-01-05T08:01:00Z"
        # Everything of today's layout works on it, the later tables included.
        await store.put_mark("s_old", "s1", {"problem": "p", "subject": "s",
                                             "knowledge_point": "k", "marked_at": "t",
                                             "by": "t1"})
        assert (await store.marks("s_old"))["s1"]["problem"] == "p"
        await store.create_session("s_new", parse_new_session(copy.deepcopy(ONE_TO_ONE)), "t")
        assert await store.sessions_of("t1") == ["s_new", "s_old"]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert sqlite_version(db, "store") == len(migrations.SQLITE)
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "sessions_by_start" in indexes


async def test_a_database_newer_than_the_code_is_refused(database_url: str,
                                                         tmp_path: Path) -> None:
    from recorder.database import SchemaTooNew

    store = open_store(database_url, tmp_path)
    await store.open()
    await store.close()
    if database_url:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = 99 WHERE component='store'")
    else:
        import sqlite3

        with sqlite3.connect(tmp_path / "opentutor.sqlite") as db:
            db.execute("UPDATE schema_version SET version = 99 WHERE component='store'")
    with pytest.raises(SchemaTooNew, match="99"):
        await open_store(database_url, tmp_path).open()


# -- opentutor db upgrade


def test_db_upgrade_command_prints_each_version(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recorder.certificates.registry import SQLITE_MIGRATIONS as CERTIFICATES
    from recorder.media.recording_index import MIGRATIONS as SQLITE_INDEX
    from recorder.media.recording_index_pg import MIGRATIONS as POSTGRES_INDEX
    from recorder.presence.journal_db import SQLITE_VERSION as SQLITE_JOURNAL
    from recorder.presence.journal_pg import STEPS as POSTGRES_JOURNAL
    from signaling.admin import migrations as admin_migrations
    from signaling.admin import reviews
    from signaling.admin import settings_store as settings
    from signaling.server import cli
    from signaling.store import migrations

    data = tmp_path / "data"
    args = ["db", "upgrade", "--data-dir", str(data)]
    if database_url:
        args += ["--database-url", database_url]
    for _ in range(2):  # the second time: nothing to do, the same versions
        assert cli.main(args) == 0
        out = capsys.readouterr().out
        store, index = ((migrations.POSTGRES, POSTGRES_INDEX) if database_url
                        else (migrations.SQLITE, SQLITE_INDEX))
        journal = len(POSTGRES_JOURNAL) if database_url else SQLITE_JOURNAL
        staff = len(admin_migrations.POSTGRES if database_url else admin_migrations.SQLITE)
        assert out == (f"store: schema version {len(store)}\n"
                       f"recordings: schema version {len(index)}\n"
                       f"journal: schema version {journal}\n"
                       f"staff: schema version {staff}\n"
                       f"certificates: schema version {len(CERTIFICATES)}\n"
                       f"reviews: schema version "
                       f"{len(reviews.POSTGRES if database_url else reviews.SQLITE)}\n"
                       f"settings: schema version "
                       f"{len(settings.POSTGRES if database_url else settings.SQLITE)}\n"
                       f"oncall: schema version 1\n"
                       f"booking: schema version 1\n"
                       f"qa: schema version 1\n"
                       f"microlessons: schema version 1\n")
    if not database_url:
        assert (data / "opentutor.sqlite").stat().st_mode & 0o077 == 0  # private


def test_db_upgrade_refuses_an_unreachable_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from signaling.server import cli

    url = f"postgresql://opentutor:pw@127.0.0.1:{free_port()}/x"
    assert cli.main(["db", "upgrade", "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "unavailable" in err and ":pw@" not in err
    with pytest.raises(SystemExit, match="not a postgresql"):
        cli.main(["db", "upgrade", "--database-url", "mysql://x/y"])
    with pytest.raises(SystemExit, match="bogus") as refused:
        cli.main(["db", "upgrade", "--database-url", "postgresql://u:pw@h/x?bogus=1"])
    assert ":pw@" not in str(refused.value)
