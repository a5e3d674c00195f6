"""``opentutor db upgrade``: run the schema migrations of every component now and say
which version each is at (the server runs them at start too; this is for an operator
who upgrades before starting several nodes, or checks a database).

    opentutor db upgrade --database-url postgresql://opentutor@db.internal/opentutor
    opentutor db upgrade --data-dir /var/lib/opentutor        # the SQLite files

Exit 0 with ``<component>: schema version N`` lines on stdout; 1 with the reason on
stderr when the database is unreachable or newer than this opentutor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from recorder.certificates.registry import open_registry
from recorder.database import DatabaseUnavailable, SchemaTooNew
from recorder.media.recording_index import open_index
from recorder.presence.journal import journal_db
from signaling.admin.factory import open_staff_store
from signaling.admin.reviews import open_reviews
from signaling.admin.settings_store import open_settings
from signaling.booking.store import open_bookings
from signaling.microlessons.store import open_lessons
from signaling.oncall.journal import open_calls
from signaling.qa.store import open_qa
from signaling.server.config import database_url
from signaling.store.factory import open_store


async def _store(url: str, data_dir: Path) -> int:
    store = open_store(url, data_dir)
    await store.open()
    await store.close()
    return store.schema_version


async def _recordings(url: str, data_dir: Path) -> int:
    index = open_index(url, data_dir / "recordings.sqlite")
    await index.open()
    await index.close()
    return index.schema_version


async def _journal(url: str, data_dir: Path) -> int:
    return await asyncio.to_thread(journal_db(url, data_dir).upgrade)


async def _certificates(url: str, data_dir: Path) -> int:
    registry = open_registry(url, data_dir)
    await registry.open()
    await registry.close()
    return registry.schema_version


async def _staff(url: str, data_dir: Path) -> int:
    staff = open_staff_store(url, data_dir)
    await staff.open()
    await staff.close()
    return staff.schema_version


async def _reviews(url: str, data_dir: Path) -> int:
    reviews = open_reviews(url, data_dir)
    await reviews.open()
    await reviews.close()
    return reviews.schema_version


async def _settings(url: str, data_dir: Path) -> int:
    settings = open_settings(url, data_dir)
    await settings.open()
    await settings.close()
    return settings.schema_version


async def _oncall(url: str, data_dir: Path) -> int:
    calls = open_calls(url, data_dir)
    await calls.open()
    await calls.close()
    return calls.schema_version


class _Opens(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...


def _opened(factory: Callable[[str, Path], _Opens]
            ) -> Callable[[str, Path], Coroutine[Any, Any, int]]:
    """The upgrade of a store whose opening migrates it: open, close, its version."""
    async def upgrade(url: str, data_dir: Path) -> int:
        store = factory(url, data_dir)
        await store.open()
        await store.close()
        return store.schema_version
    return upgrade


# component → upgrade(database_url, data_dir) → version reached.
COMPONENTS: dict[str, Callable[[str, Path], Coroutine[Any, Any, int]]] = {
    "store": _store,
    "recordings": _recordings,
    "journal": _journal,
    "staff": _staff,
    "certificates": _certificates,
    "reviews": _reviews,
    "settings": _settings,
    "oncall": _oncall,
    "booking": _opened(open_bookings),
    "qa": _opened(open_qa),
    "microlessons": _opened(open_lessons),
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database upkeep: schema migrations",
                             description="Database upkeep.")
    sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = sub.add_parser(
        "upgrade", help="run the schema migrations now and print each component's version",
        description="Bring every component's schema (the store, the recordings index, the "
        "presence journal, the staff accounts, the certificates, the supervision reviews, the "
        "calendar and policy versions, the on-demand calls, the bookings, the Q&A centre, the "
        "micro-lessons) to this opentutor's version, and "
        "print it. PostgreSQL with --database-url, else the SQLite files of --data-dir.")
    upgrade.add_argument("--database-url", default=os.environ.get("OPENTUTOR_DATABASE_URL", ""),
                         help="postgresql://… (default: OPENTUTOR_DATABASE_URL; none: SQLite)")
    upgrade.add_argument("--data-dir", default=os.environ.get("OPENTUTOR_DATA_DIR", "data"),
                         help="the SQLite files' folder (default: OPENTUTOR_DATA_DIR or ./data)")
    upgrade.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    data_dir = Path(args.data_dir)
    umask = os.umask(0o077)  # as `opentutor serve`: the SQLite files hold minors' records
    try:
        if not url:
            data_dir.mkdir(parents=True, exist_ok=True)
        for name, upgrade in COMPONENTS.items():
            version = asyncio.run(upgrade(url, data_dir))
            print(f"{name}: schema version {version}", flush=True)
    except (DatabaseUnavailable, SchemaTooNew, OSError) as exc:
        print(f"opentutor db upgrade: {exc}", file=sys.stderr)
        return 1
    finally:
        os.umask(umask)
    return 0
