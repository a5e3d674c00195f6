"""Which staff store: SQLite in the data directory unless ``--database-url`` names
PostgreSQL (then the staff tables sit beside the session store's)."""

from __future__ import annotations

from pathlib import Path

from recorder.database import is_postgres_url, redacted
from signaling.admin.base import StaffStore
from signaling.admin.sqlite import SqliteStaffStore

SQLITE_FILE = "staff.sqlite"


def open_staff_store(database_url: str, data_dir: Path) -> StaffStore:
    """The store for ``database_url`` ("": ``staff.sqlite`` in ``data_dir``), not yet
    open: ``await store.open()`` runs its migrations."""
    if not database_url:
        return SqliteStaffStore(data_dir / SQLITE_FILE)
    if not is_postgres_url(database_url):
        raise ValueError(f"not a postgresql:// URL: {redacted(database_url)}")
    from signaling.admin.postgres import PostgresStaffStore  # no driver for SQLite

    return PostgresStaffStore(database_url)
