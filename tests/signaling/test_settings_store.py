"""The settings versions store (signaling.admin.settings_store) on SQLite and on a real
PostgreSQL: versions are numbered across kinds, a stale base is refused (also two edits
racing from one base), the database itself refuses UPDATE and DELETE, and the history
reads newest first."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signaling.admin.settings_store import SettingsStore, StaleBase, open_settings

AT = "2026-12-04T18:00:00.000Z"


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[SettingsStore]:
    opened = open_settings(database_url, tmp_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_versions_chain_per_kind_and_number_across_kinds(store: SettingsStore) -> None:
    assert await store.latest_seq() == 0 and await store.latest("calendar") is None
    first = await store.append("calendar", 0, "a = 1\n", AT, "city-office", "加校庆日")
    policy = await store.append("policy:training", 0, "b = 2\n", AT, "city-office", "why")
    second = await store.append("calendar", first.seq, "a = 2\n", AT, "city-2", "改学期")
    assert first.seq < policy.seq < second.seq == await store.latest_seq()
    assert await store.latest("calendar") == second
    assert await store.version("calendar", first.seq) == first
    assert await store.version("calendar", policy.seq) is None  # another kind's number
    assert [v.seq for v in await store.history("calendar", 10)] == [second.seq, first.seq]
    assert [v.seq for v in await store.history("calendar", 1)] == [second.seq]
    assert (second.base, second.who, second.note) == (first.seq, "city-2", "改学期")


async def test_a_stale_base_is_refused_and_nothing_written(store: SettingsStore) -> None:
    first = await store.append("calendar", 0, "a = 1\n", AT, "a", "n")
    for stale in (0, first.seq + 5):
        with pytest.raises(StaleBase) as refused:
            await store.append("calendar", stale, "a = 9\n", AT, "b", "n")
        assert refused.value.latest == first.seq
    assert [v.seq for v in await store.history("calendar", 10)] == [first.seq]


async def test_two_edits_from_one_base_keep_only_one(store: SettingsStore) -> None:
    results = await asyncio.gather(
        *(store.append("policy:tutoring", 0, f"x = {i}\n", AT, f"officer-{i}", "n")
          for i in range(4)), return_exceptions=True)
    saved = [r for r in results if not isinstance(r, BaseException)]
    assert len(saved) == 1 and all(isinstance(r, StaleBase) for r in results if r not in saved)
    assert len(await store.history("policy:tutoring", 10)) == 1


async def test_the_database_refuses_rewriting_a_version(
    store: SettingsStore, database_url: str, tmp_path: Path
) -> None:
    await store.append("calendar", 0, "a = 1\n", AT, "a", "n")
    if database_url:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            for sql in ("UPDATE settings_versions SET note='x'", "DELETE FROM settings_versions",
                        "TRUNCATE settings_versions"):
                with pytest.raises(psycopg.Error, match="append-only"):
                    conn.execute(sql.encode())
    else:
        db = sqlite3.connect(tmp_path / "settings.sqlite")
        try:
            for sql in ("UPDATE settings_versions SET note='x'", "DELETE FROM settings_versions"):
                with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                    db.execute(sql)
        finally:
            db.close()
    assert (await store.latest("calendar") or pytest.fail()).note == "n"
