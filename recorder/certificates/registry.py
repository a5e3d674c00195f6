"""Issued certificates: one row per verification code, so ``/verify/{code}`` can say
whom and what a code certifies (a 16-letter code cannot carry the figures itself; see
:mod:`recorder.certificates.codes`).

Two back ends like the other components: a SQLite file in the data directory
(``certificates.sqlite``, the default) or the shared PostgreSQL database
(``--database-url``), with versioned migrations of component ``certificates``, run at
start (:mod:`recorder.database`). Issuing the same certificate again (same figures, same
day: the same code) keeps the first row.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread

COMPONENT = "certificates"
_COLUMNS = ("code, person, name, school, district, programme, term, study_hours, credits, "
            "issued_on, issued_at")
_TABLE = """
CREATE TABLE IF NOT EXISTS certificates (
    code TEXT PRIMARY KEY, person TEXT NOT NULL, name TEXT NOT NULL, school TEXT NOT NULL,
    district TEXT NOT NULL, programme TEXT NOT NULL, term TEXT NOT NULL,
    study_hours INTEGER NOT NULL, credits INTEGER NOT NULL, issued_on TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS certificates_by_person ON certificates(person, term)
"""
SQLITE_MIGRATIONS = (Step(1, "certificates", _TABLE),)
POSTGRES_MIGRATIONS = (Step(1, "certificates", _TABLE),)  # the same SQL on both


@dataclass(frozen=True, slots=True)
class Issued:
    code: str
    person: str
    name: str
    school: str
    district: str
    programme: str
    term: str
    study_hours: int
    credits: int
    issued_on: str  # the local date printed on the certificate, YYYY-MM-DD
    issued_at: str  # when first issued, ISO UTC


def _issued(row: Any) -> Issued:
    return Issued(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]),
                  str(row[6]), int(row[7]), int(row[8]), str(row[9]), str(row[10]))


class Registry(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def issue(self, cert: Issued) -> None: ...
    async def find(self, code: str) -> Issued | None: ...


class SqliteRegistry(SqliteThread):
    NAME = "certificates"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE_MIGRATIONS

    async def issue(self, cert: Issued) -> None:
        await self._run(self._issue, cert)

    def _issue(self, cert: Issued) -> None:
        self.db.execute(
            f"INSERT INTO certificates ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(code) DO NOTHING", astuple(cert))

    async def find(self, code: str) -> Issued | None:
        return await self._run(self._find, code)

    def _find(self, code: str) -> Issued | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE code=?", (code,)).fetchone()
        return _issued(row) if row is not None else None


class PostgresRegistry(SmallPostgres):
    """The same table in PostgreSQL; a small pool (a certificate is issued now and then)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, component=COMPONENT, steps=POSTGRES_MIGRATIONS, name="certificates")

    async def issue(self, cert: Issued) -> None:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            await conn.execute(
                f"INSERT INTO certificates ({_COLUMNS}) VALUES "
                "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (code) DO NOTHING",
                astuple(cert))

    async def find(self, code: str) -> Issued | None:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM certificates WHERE code=%s", (code,))
            row = await cursor.fetchone()
        return _issued(row) if row is not None else None


def open_registry(database_url: str, data_dir: Path) -> Registry:
    """PostgreSQL for a ``postgresql://`` URL (loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresRegistry(database_url)
    return SqliteRegistry(data_dir / "certificates.sqlite")
