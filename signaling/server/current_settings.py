"""The calendar and policies the server computes with *now* (issue 16): the latest
version of each kind in the settings store, else the configured file (version 0).

Every figure of pay goes through one accessor: :func:`calendar_of` and
:func:`policy_of` (handlers), :meth:`CurrentSettings.policy` (code that has only the
:class:`~signaling.server.services.Services`). They read a cache, never the database:
a request costs nothing more than before.

Freshness: several nodes share PostgreSQL, and an edit made on one must reach the
others within seconds. Each node checks ``MAX(seq)`` every :data:`REFRESH_S` seconds
(one index lookup) and re-reads the documents only when it moved; the node that made
an edit installs it at once. A node that cannot reach the database keeps computing
with what it has (and says so in its log) rather than refusing every statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.credits.calendar import SAMPLE_CALENDAR, Calendar, loads_calendar
from recorder.credits.editing import (
    CALENDAR,
    KINDS,
    SettingError,
    calendar_doc,
    check_calendar,
    check_policy,
    policy_kind,
)
from recorder.credits.policy import BUILT_IN, POLICY_DIR, Policy, load_policy, parse_policy
from recorder.database import DatabaseUnavailable
from signaling.admin.settings_store import SettingsStore, SettingsVersion
from signaling.server.http_util import SERVICES

log = logging.getLogger(__name__)
# The calendar loaded at start (version 0), for an app without a settings store.
CONFIGURED_CALENDAR = web.AppKey("calendar", Calendar)
REFRESH_S = 2.0  # how stale another node's edit may be here, at most (plus one query)


class SettingsBroken(RuntimeError):
    """The latest stored version no longer loads (a newer parser is stricter): the
    server refuses to start rather than compute pay with something else."""


@dataclass(frozen=True)
class InEffect:
    """One kind's version in effect: ``seq`` 0 is the configured file."""

    seq: int
    document: str
    value: Calendar | Policy
    at: str = ""
    who: str = ""
    note: str = ""

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at or None, "who": self.who, "note": self.note}


def configured_documents(calendar_path: Path | None) -> dict[str, str]:
    """Version 0 of each kind: the ``--calendar`` file (or the shipped sample) and the
    built-in policy files, as text."""
    texts = {CALENDAR: (calendar_path or SAMPLE_CALENDAR).read_text(encoding="utf-8")}
    for name in BUILT_IN:
        texts[policy_kind(name)] = (POLICY_DIR / f"{name}.toml").read_text(encoding="utf-8")
    return texts


def _load(kind: str, document: str) -> Calendar | Policy:
    """A stored or configured document as the engine's object (the parsers only: the
    stricter console rules apply to edits, and a configured file predates them)."""
    if kind == CALENDAR:
        return loads_calendar(document)
    return parse_policy(tomllib.loads(document))


def check(kind: str, document: str) -> Calendar | Policy:
    """An edited document through every rule (:class:`SettingError` when refused)."""
    if kind == CALENDAR:
        return check_calendar(calendar_doc(document))[1]
    return check_policy(document)


class CurrentSettings:
    def __init__(self, store: SettingsStore, configured: Mapping[str, str]) -> None:
        self.store = store
        self.configured = dict(configured)
        self._now = {kind: InEffect(0, text, _load(kind, text))
                     for kind, text in self.configured.items()}
        self._seen = -1  # the MAX(seq) the cache reflects
        self._task: asyncio.Task[None] | None = None
        self._warned = False

    # -- reading (no I/O)

    def in_effect(self, kind: str) -> InEffect:
        return self._now[kind]

    @property
    def calendar(self) -> Calendar:
        value = self._now[CALENDAR].value
        assert isinstance(value, Calendar)
        return value

    def policy(self, programme: str) -> Policy:
        found = self._now.get(policy_kind(programme))
        if found is None:  # not a built-in programme: as before, a path or an error
            return load_policy(programme)
        assert isinstance(found.value, Policy)
        return found.value

    def seq(self, kind: str) -> int:
        found = self._now.get(kind)
        return found.seq if found is not None else 0

    # -- keeping up with the store

    async def refresh(self) -> bool:
        """Re-read the documents if any version was added since the last look; whether
        anything was."""
        latest = await self.store.latest_seq()
        if latest == self._seen:
            return False
        fresh = dict(self._now)
        for kind in KINDS:
            version = await self.store.latest(kind)
            if version is not None and version.seq != fresh[kind].seq:
                fresh[kind] = self._installable(version)
        self._now, self._seen = fresh, latest
        return True

    def _installable(self, version: SettingsVersion) -> InEffect:
        try:
            value = _load(version.kind, version.document)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise SettingsBroken(f"{version.kind} version {version.seq} does not load: "
                                 f"{exc}") from exc
        return InEffect(version.seq, version.document, value, version.at, version.who,
                        version.note)

    def install(self, version: SettingsVersion) -> None:
        """A version this node just wrote: in effect here at once."""
        if version.seq > self._now[version.kind].seq:
            self._now = {**self._now, version.kind: self._installable(version)}

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await self.refresh()
                self._warned = False
            except DatabaseUnavailable as exc:
                if not self._warned:  # once per outage, not every two seconds
                    log.warning("settings: cannot check for new versions (%s); computing "
                                "with the versions in effect", exc)
                    self._warned = True
            except SettingsBroken as exc:
                log.error("settings: %s; computing with the versions in effect", exc)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


# -- the accessors handlers use


def settings_of(request: web.Request) -> CurrentSettings | None:
    return request.app[SERVICES].settings


def calendar_of(request: web.Request) -> Calendar:
    """The calendar in effect."""
    current = settings_of(request)
    return current.calendar if current is not None else request.app[CONFIGURED_CALENDAR]


def policy_of(request: web.Request, programme: str) -> Policy:
    """The programme's policy in effect."""
    current = settings_of(request)
    return current.policy(programme) if current is not None else built_in(programme)


def policies_of(request: web.Request) -> dict[str, Policy]:
    return {name: policy_of(request, name) for name in BUILT_IN}


def calendar_version(request: web.Request) -> int:
    """The seq of the calendar in effect (0: the configured file): outputs of pay state
    it, so a figure can be recomputed from that version's export."""
    current = settings_of(request)
    return current.seq(CALENDAR) if current is not None else 0


def policy_version(request: web.Request, programme: str) -> int:
    current = settings_of(request)
    return current.seq(policy_kind(programme)) if current is not None else 0


def versions_of(request: web.Request, programme: str) -> dict[str, int]:
    """``{"policy_version", "calendar_version"}`` of one programme's figures."""
    return {"policy_version": policy_version(request, programme),
            "calendar_version": calendar_version(request)}


@cache
def built_in(programme: str) -> Policy:
    """A shipped policy file, read once (version 0: what an app without a settings
    store, and the offline commands, compute with)."""
    return load_policy(programme)


__all__ = [
    "CONFIGURED_CALENDAR", "REFRESH_S", "CurrentSettings", "InEffect", "SettingError",
    "SettingsBroken", "calendar_of", "calendar_version", "check", "configured_documents",
    "policies_of", "policy_of", "policy_version", "versions_of",
]
