"""Presence tracker: server observations in, active/inactive transitions out.

Teachers are paid from effective online minutes, so this module decides, from
what the *server* observed, when a person was present. The rule (issue 2, item 7):

    A person is **active** at an instant when (1) their signaling connection is
    up, (2) their media transport (ICE+DTLS) is up, and (3) the server has seen
    traffic from their device within the last 5 seconds (RTP from a publisher;
    RTCP receiver reports or ICE consent from a receive-only phone). Client
    claims never count.

Intervals are half-open ``[start, end)`` in server UTC seconds. When traffic
stops at ``T`` (and nothing else went down) the interval ends at ``T + window``;
when signaling or transport goes down at ``D`` it ends at ``D``; a session end
closes everything.

Decisions this module takes (and tests pin down):

* **Evidence must arrive over an up transport.** A ``traffic`` observation made
  while the person's transport is down is ignored, and ``transport_down`` forgets
  earlier traffic. Before DTLS completes nothing proves that the packets come from
  the authenticated device, and traffic from before a transport drop says nothing
  about the new transport. In practice this delays a start by the few
  milliseconds between "transport up" and the first packet.
* **Out-of-order timestamps are clamped, not rejected.** An observation stamped
  earlier than the latest one already seen is treated as happening at that latest
  time. Rejecting would be worse for money: a dropped ``signal_down`` would leave
  someone paid until the timeout. Clamping keeps transitions monotonic, so no
  interval ever has a negative length. ``clamped`` counts how often it happened.
* A zero-length interval can be emitted (up and down at the same instant);
  :func:`pair_intervals` drops it.

Pure: standard library only, no asyncio, no I/O, no clock. Every time is an
argument, so tests drive it with plain floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_WINDOW_S = 5.0


class Kind(StrEnum):
    """What the server observed. ``media_up``/``media_down`` (a track kind in
    ``detail``) are kept for the audit trail and never change activity."""

    SIGNAL_UP = "signal_up"
    SIGNAL_DOWN = "signal_down"
    TRANSPORT_UP = "transport_up"
    TRANSPORT_DOWN = "transport_down"
    TRAFFIC = "traffic"
    MEDIA_UP = "media_up"
    MEDIA_DOWN = "media_down"
    SESSION_END = "session_end"


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing the server saw, stamped with the server's clock."""

    at: float
    person: str
    kind: Kind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """``person`` became active (``active=True``) or stopped being active at ``at``.
    ``cause`` says why: the observation kind, ``"timeout"`` (no traffic for a window)
    or whatever cause :meth:`PresenceTracker.end` was given."""

    person: str
    at: float
    active: bool
    cause: str = ""


@dataclass(slots=True)
class _Person:
    signal: bool = False
    transport: bool = False
    last_traffic: float | None = None  # only traffic seen while the transport was up
    active: bool = False
    since: float = 0.0  # start of the current active interval, when active

    def deadline(self, window: float) -> float:
        """First instant at which condition (3) no longer holds."""
        return -math.inf if self.last_traffic is None else self.last_traffic + window

    def rule_holds(self, at: float, window: float) -> bool:
        return self.signal and self.transport and at < self.deadline(window)


class PresenceTracker:
    """Presence of the people in one session. Feed it observations in (roughly)
    time order and call :meth:`tick` periodically; each call returns the
    transitions it caused, in time order, alternating per person and starting
    with ``active=True``."""

    def __init__(self, window: float = DEFAULT_WINDOW_S) -> None:
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a positive number of seconds, got {window!r}")
        self._window = float(window)
        self._people: dict[str, _Person] = {}
        self._now: float | None = None
        self._ended = False
        self._next_due = math.inf  # no active deadline falls before this
        self.clamped = 0  # observations stamped before an earlier-seen one

    @property
    def window(self) -> float:
        return self._window

    @property
    def now(self) -> float | None:
        """The latest time this tracker has processed (None before the first)."""
        return self._now

    @property
    def ended(self) -> bool:
        return self._ended

    def is_active(self, person: str) -> bool:
        """Whether ``person`` was active at :attr:`now`, as far as transitions go
        (a lapsed timeout shows up only after the next tick or observation)."""
        p = self._people.get(person)
        return p is not None and p.active

    def observe(
        self, at: float, person: str, kind: Kind | str, detail: str = ""
    ) -> list[Transition]:
        """Apply one observation; see :meth:`feed`."""
        return self.feed(Observation(at, person, Kind(kind), detail))

    def feed(self, obs: Observation) -> list[Transition]:
        """Apply one observation at ``obs.at`` and return the transitions it causes,
        including timeouts that lapsed before it. Ignored after the session ended."""
        kind = Kind(obs.kind)  # a plain string from a caller still gets validated
        if kind is not Kind.SESSION_END and not obs.person:
            raise ValueError(f"{kind} needs a person")
        if self._ended:
            return []
        at = self._advance(obs.at)
        if kind is Kind.SESSION_END:
            return self._expire(at, inclusive=False) + self._close_all(at, str(kind))
        out = self._expire(at, inclusive=False)
        p = self._people.setdefault(obs.person, _Person())
        if kind is Kind.SIGNAL_UP:
            p.signal = True
        elif kind is Kind.SIGNAL_DOWN:
            p.signal = False
        elif kind is Kind.TRANSPORT_UP:
            p.transport = True
        elif kind is Kind.TRANSPORT_DOWN:
            p.transport = False
            p.last_traffic = None  # evidence from the old transport proves nothing later
        elif kind is Kind.TRAFFIC and p.transport:
            p.last_traffic = at
        # MEDIA_UP / MEDIA_DOWN: audit only.
        if p.active and not p.rule_holds(at, self._window):
            # Down events name themselves; otherwise the window ran out exactly now.
            down = kind in (Kind.SIGNAL_DOWN, Kind.TRANSPORT_DOWN)
            out.append(self._set(obs.person, p, at, False, str(kind) if down else "timeout"))
        elif not p.active and p.rule_holds(at, self._window):
            out.append(self._set(obs.person, p, at, True, str(kind)))
        # Others whose window closes exactly now: half-open, so inactive at `at`.
        out += self._expire(at, inclusive=True)
        return out

    def tick(self, now: float) -> list[Transition]:
        """Apply the traffic timeout up to ``now``: anyone whose last traffic is
        ``window`` seconds old or older stops being active at last traffic + window
        ("ends at T + 5 s, the last instant the rule still holds")."""
        if self._ended:
            return []
        if not math.isfinite(now):
            raise ValueError(f"tick time must be finite, got {now!r}")
        if self._now is not None and now < self._now:
            return []  # a tick from the past has nothing left to expire; not an observation
        self._now = now
        return self._expire(now, inclusive=True)

    def end(self, at: float, cause: str = str(Kind.SESSION_END)) -> list[Transition]:
        """Close every open interval at ``at`` and ignore everything afterwards
        ("a session end closes everything"). The journal also uses it on shutdown."""
        if self._ended:
            return []
        at = self._advance(at)
        return self._expire(at, inclusive=False) + self._close_all(at, cause)

    def open_intervals(self, now: float) -> dict[str, tuple[float, float]]:
        """Live view without changing state: each active person's current interval
        ``[since, end)``, with ``end`` = ``now`` or the lapsed traffic deadline,
        whichever is earlier (never before ``since``)."""
        out: dict[str, tuple[float, float]] = {}
        for person, p in self._people.items():
            if p.active:
                out[person] = (p.since, max(p.since, min(now, p.deadline(self._window))))
        return out

    # -- internals ---------------------------------------------------------------

    def _advance(self, at: float) -> float:
        if not math.isfinite(at):
            raise ValueError(f"observation time must be finite, got {at!r}")
        if self._now is not None and at < self._now:
            self.clamped += 1
            return self._now
        self._now = at
        return at

    def _expire(self, at: float, *, inclusive: bool) -> list[Transition]:
        """Timeouts lapsed by ``at`` (strictly before it unless ``inclusive``), in
        time order. Each lapsed after the previously processed time, because that
        time already expired everything due then."""
        # Fast path: traffic arrives hundreds of times a second in a big lecture,
        # so only scan everyone when the earliest possible deadline has come.
        if at < self._next_due or (at == self._next_due and not inclusive):
            return []
        due: list[tuple[float, str]] = []
        next_due = math.inf
        for person, p in self._people.items():
            if p.active:
                d = p.deadline(self._window)
                if d < at or (inclusive and d == at):
                    due.append((d, person))
                else:
                    next_due = min(next_due, d)
        self._next_due = next_due
        due.sort()
        return [self._set(person, self._people[person], d, False, "timeout") for d, person in due]

    def _close_all(self, at: float, cause: str) -> list[Transition]:
        out = [
            self._set(n, p, at, False, cause) for n, p in sorted(self._people.items()) if p.active
        ]
        self._people.clear()
        self._ended = True
        return out

    def _set(self, person: str, p: _Person, at: float, active: bool, cause: str) -> Transition:
        p.active = active
        if active:
            p.since = at
            # A lower bound on every active deadline stays valid: traffic only ever
            # pushes a deadline later, and anything else that lowers it deactivates.
            self._next_due = min(self._next_due, p.deadline(self._window))
        return Transition(person, at, active, cause)


def merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, non-overlapping half-open intervals; touching ones are joined and
    empty ones dropped."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def pair_intervals(
    transitions: Iterable[Transition], *, open_end: float | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Turn one tracker's transitions into merged intervals per person. A repeated
    start or end is ignored; an interval still open is closed at ``open_end``
    (dropped when it is None)."""
    opened: dict[str, float] = {}
    raw: dict[str, list[tuple[float, float]]] = {}
    for t in transitions:
        raw.setdefault(t.person, [])
        if t.active:
            opened.setdefault(t.person, t.at)
        elif t.person in opened:
            raw[t.person].append((opened.pop(t.person), t.at))
    if open_end is not None:
        for person, start in opened.items():
            raw[person].append((start, max(start, open_end)))
    return {person: merge(ivs) for person, ivs in raw.items()}
