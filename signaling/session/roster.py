"""Who is here, as each audience is told it: coalesced roster deltas (issue 11).

Pure: person wires (``Participant.wire()`` dicts) in, the payloads of ``roster``
events and welcome snapshots out. No I/O, no clock: the room decides *when* to
:meth:`RosterFeed.take` (once per coalescing window) and sends what it returns.

Two kinds of session:

- **listed** (every one-to-one and review; a lecture or classroom of up to the room's
  threshold of learners): everyone's ``people`` holds the whole roster, and a flush is
  one event to everyone with the people who changed.
- **big** (a lecture or classroom with more learners than that): instructors still get
  every change (they manage hands and the stage); learners get a count of learners
  present, and changes of the people who matter to them (see :func:`notable`), plus
  their own state. A join then costs the others a share of one small event per window
  instead of one event each.

What the feed has made public is its own copy of each wire: a person who joined but
whose ``welcome`` has not gone out yet is *held*, so no delta (nor count, nor snapshot)
mentions them before their own welcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Wire = Mapping[str, Any]


def notable(wire: Wire) -> bool:
    """Whether learners of a big audience are shown this person: the instructors
    (present or not, as today), and learners who are here with a hand up, on stage or
    with the pen. Everyone else is only counted."""
    if wire["role"] == "instructor":
        return True
    return bool(wire["present"] and (wire["hand"] or wire["stage"] or wire["pen"]))


@dataclass(frozen=True)
class Delta:
    """One ``roster`` event: people new to your list, people in it with a new state,
    ids that leave it, and the learners present now."""

    added: tuple[Wire, ...] = ()
    changed: tuple[Wire, ...] = ()
    removed: tuple[str, ...] = ()
    learners: int = 0
    listed: bool = True

    def wire(self) -> dict[str, Any]:
        return {
            "added": [dict(p) for p in self.added],
            "changed": [dict(p) for p in self.changed],
            "removed": list(self.removed),
            "audience": {"learners": self.learners, "listed": self.listed},
        }


@dataclass(frozen=True)
class Flush:
    """What one window's changes cost: ``everyone`` in a listed session; in a big one
    ``instructors`` and ``learners`` (each None when it has nothing new), and
    ``selves``: learners whose own change no learners' delta carried, each told alone."""

    everyone: Delta | None = None
    instructors: Delta | None = None
    learners: Delta | None = None
    selves: tuple[Delta, ...] = field(default=())

    @property
    def events(self) -> int:
        return sum(d is not None for d in (self.everyone, self.instructors, self.learners)) \
            + len(self.selves)


class RosterFeed:
    """The roster as it has been made public, and what changed since the last flush."""

    def __init__(self, people: Iterable[Wire], *, listed: bool) -> None:
        self.listed = listed
        self._current: dict[str, Wire] = {}
        self._order: dict[str, int] = {}
        for i, wire in enumerate(people):
            self._current[wire["id"]] = dict(wire)
            self._order[wire["id"]] = i
        self._dirty: dict[str, None] = {}  # ids changed since the last take, in order
        self._held: set[str] = set()  # joined, welcome not sent yet
        self._self_stale: set[str] = set()  # changed since they were last told their state
        self._present_learners = {
            i for i, w in self._current.items() if w["role"] == "learner" and w["present"]
        }
        self._notable = {i for i, w in self._current.items() if notable(w)}
        self._shown = set(self._notable)  # what big-audience learners were last told
        self._count_sent = len(self._present_learners)

    # -- changes ----------------------------------------------------------------------------
    def hold(self, person: str) -> None:
        """``person`` joined: nothing about them goes out until :meth:`welcomed`."""
        self._held.add(person)

    def welcomed(self, wire: Wire) -> None:
        """Their welcome goes out now (it carries ``wire``): the others may hear of it."""
        person = wire["id"]
        self._held.discard(person)
        self._apply(wire)
        self._self_stale.discard(person)  # the welcome told them

    def update(self, wire: Wire) -> None:
        """``wire`` is this person's state now. While they are held, a change is only
        kept by the room (their welcome carries it); a held person who is gone again
        (disconnected before the welcome) is released."""
        person = wire["id"]
        if person in self._held:
            if wire["present"]:
                return
            self._held.discard(person)
        self._apply(wire)
        self._self_stale.add(person)

    def _apply(self, wire: Wire) -> None:
        person = wire["id"]
        self._current[person] = dict(wire)
        self._dirty[person] = None
        if wire["role"] == "learner" and wire["present"]:
            self._present_learners.add(person)
        else:
            self._present_learners.discard(person)
        if notable(wire):
            self._notable.add(person)
        else:
            self._notable.discard(person)

    # -- reading -----------------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    @property
    def learners_present(self) -> int:
        return len(self._present_learners)

    def lists_all(self, role: str) -> bool:
        """Whether a person of ``role`` is given every person (else notable ones + self)."""
        return self.listed or role == "instructor"

    def snapshot(self, you: str, role: str) -> list[dict[str, Any]]:
        """The ``people`` of a welcome for ``you``, in roster order."""
        if self.lists_all(role):
            return [dict(w) for w in self._current.values()]
        ids = sorted(self._notable | {you}, key=self._order.__getitem__)
        return [dict(self._current[i]) for i in ids]

    def audience(self, role: str) -> dict[str, Any]:
        return {"learners": self.learners_present, "listed": self.lists_all(role)}

    # -- flushing ----------------------------------------------------------------------------
    def take(self) -> Flush:
        """The deltas for everything changed since the last take (then forgotten)."""
        dirty = list(self._dirty)
        self._dirty = {}
        count = self.learners_present
        if not dirty:
            return Flush()
        changed = tuple(self._current[i] for i in dirty)
        if self.listed:
            self._self_stale.clear()
            self._count_sent = count
            return Flush(everyone=Delta(changed=changed, learners=count))
        instructors = Delta(changed=changed, learners=count)
        added: list[Wire] = []
        shown_changed: list[Wire] = []
        removed: list[str] = []
        for i in dirty:
            now, before = i in self._notable, i in self._shown
            if now and not before:
                added.append(self._current[i])
                self._shown.add(i)
            elif now:
                shown_changed.append(self._current[i])
            elif before:
                removed.append(i)
                self._shown.discard(i)
        learners = None
        if added or shown_changed or removed or count != self._count_sent:
            learners = Delta(tuple(added), tuple(shown_changed), tuple(removed), count,
                             listed=False)
        self._count_sent = count
        told = {w["id"] for w in added} | {w["id"] for w in shown_changed}
        selves = tuple(
            Delta(changed=(self._current[i],), learners=count, listed=False)
            for i in dirty
            if i in self._self_stale and i in self._present_learners and i not in told
        )
        self._self_stale.difference_update(dirty)
        return Flush(instructors=instructors, learners=learners, selves=selves)
