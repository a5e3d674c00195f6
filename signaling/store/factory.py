"""Which store: SQLite in the data directory unless ``--database-url`` names PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from recorder.database import is_postgres_url, redacted
from signaling.store.base import SessionStore
from signaling.store.sqlite import Store

SQLITE_FILE = "opentutor.sqlite"


def open_store(database_url: str, data_dir: Path) -> SessionStore:
    """The store for ``database_url`` ("": the SQLite file in ``data_dir``), not yet
    open: ``await store.open()`` runs its migrations."""
    if not database_url:
        return Store(data_dir / SQLITE_FILE)
    if not is_postgres_url(database_url):
        raise ValueError(f"not a postgresql:// URL: {redacted(database_url)}")
    # Imported here: the SQLite default needs no PostgreSQL driver loaded.
    from signaling.store.postgres import PostgresStore

    return PostgresStore(database_url)
