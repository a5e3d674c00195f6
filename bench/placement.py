"""Placement simulation: an evening's rooms placed onto N server processes.

    python -m bench.placement                                # the evening peak of issue 11
    python -m bench.placement --cascade                      # lectures split over processes
    python -m bench.placement --viewers-per-core 342         # voice + whiteboard lectures
    python -m bench.placement --cores 8 --seed 2

Pure simulation (standard library only, seeded, deterministic): no server runs. Each
room has a cost in *core-fractions* taken from the measured per-core figures
(``docs/capacity.md``): a one-to-one costs ``1 / --one-to-one-per-core`` cores, a
lecture ``viewers / --viewers-per-core`` plus one published person's ingest (half a
one-to-one). A room lives in one ``opentutor serve`` process, and one process uses one
core (one event loop), so the bin is a process with a capacity of 1.0 core; a node is a
machine of ``--cores`` cores running ``--cores - 1`` processes (one core left for the
kernel's network work and the OS).

The evening (17:00-23:00, one-minute steps):

- **one-to-ones**: booked on the half hour from 17:00 to 21:30 (weights
  :data:`SLOTS`: most at 19:00-20:00), joined 3 min early to 5 min late, lasting 30, 45
  or 60 min (30/40/30 %), plus 15 % walk-ins spread over 17:00-22:00. The number of
  sessions is scaled so that the peak concurrency is ``--one-to-ones`` (5,000). Both
  people are in within the session's first minute: full cost from its arrival.
- **lectures**: ``--lectures`` (50) of ``--viewers`` (300), 60 % at 19:00 and 40 % at
  19:30, 90 min each (all 50 run together 19:30-20:30). The teacher opens the room 5 min
  early; the viewers join over the 10 minutes around the start, so the room's cost
  grows after it was placed.

Policies:

- ``first-join`` (today, ``signaling/router/redis.py``): the room runs on the process
  that the first join reached, i.e. wherever the HTTP load balancer sent that browser
  (modelled as uniformly random); no process refuses a room for load (only a draining
  one redirects).
- ``sysload`` (LiveKit's ``sysload`` selector): among the processes whose load is below
  ``--limit`` pick one at random (LiveKit's ``sort_by: random``); if none is, any
  process (LiveKit does not refuse). The load seen is as of the previous minute (load
  is reported by heartbeats and is an average), so a burst of arrivals is placed on a
  stale view.
- ``reserve``: the session's form and roster are known when it is created, so its full
  expected cost is reserved at claim time (in Redis, next to the ``load`` hash the
  router already keeps): the least-loaded process where it fits below ``--limit``;
  if none, the join is refused ``unavailable`` and retried every minute for
  ``--queue-minutes``, then counted as rejected.
- ``best-fit``: as ``reserve``, but the *fullest* process where the room still fits
  below ``--limit`` (bin packing): small rooms fill processes up and leave whole ones
  free for the lectures that come later.

With ``--cascade``, a lecture that does not fit one process at ``--limit`` is spread
over k processes (each receives the teacher's stream once, forwarded from the first,
and serves viewers/k): not built today, an option this simulation prices.

Per policy and N: rooms rejected (or waited), the peak of the busiest process, the
cluster's utilisation at its busiest minute, overloaded process-minutes (load > 1.0:
the process falls behind, as ``bench/fanout.py`` shows beyond one core) and the
person-minutes spent in rooms on such processes. The search prints the smallest N (in
whole nodes) with no rejection and no overload per policy (a binary search over N,
which assumes more nodes never do worse: true on average, not for every seed).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field

START, END = 17 * 60, 23 * 60  # minutes since midnight
# One-to-one booking slots (minutes since midnight) → relative weight.
SLOTS: dict[int, float] = {
    17 * 60: 0.20, 17 * 60 + 30: 0.30, 18 * 60: 0.55, 18 * 60 + 30: 0.75, 19 * 60: 1.00,
    19 * 60 + 30: 1.00, 20 * 60: 0.90, 20 * 60 + 30: 0.60, 21 * 60: 0.30, 21 * 60 + 30: 0.10,
}  # fmt: skip
DURATIONS = ((30, 0.3), (45, 0.4), (60, 0.3))
WALK_IN = 0.15
LECTURE_TIMES = ((19 * 60, 0.6), (19 * 60 + 30, 0.4))
LECTURE_MINUTES = 90
POLICIES = ("first-join", "sysload", "reserve", "best-fit")


@dataclass
class Room:
    rid: int
    form: str  # "one_to_one" | "lecture" | "lecture-part"
    arrive: int  # minute of the first join (placement)
    end: int
    people: int
    full_cost: float
    ramp: tuple[int, int] = (0, 0)  # lecture: viewers join between these minutes
    base_cost: float = 0.0  # the cost before the viewers (the teacher)

    def cost(self, minute: int) -> float:
        if not self.arrive <= minute < self.end:
            return 0.0
        a, b = self.ramp
        if b <= a or minute >= b:
            return self.full_cost
        if minute < a:
            return self.base_cost
        return self.base_cost + (self.full_cost - self.base_cost) * (minute - a + 1) / (b - a + 1)


@dataclass
class Costs:
    one_to_one_per_core: float
    viewers_per_core: float

    @property
    def one_to_one(self) -> float:
        return 1.0 / self.one_to_one_per_core

    @property
    def ingest(self) -> float:  # one published person's audio + video arriving
        return 0.5 / self.one_to_one_per_core

    def lecture(self, viewers: int) -> float:
        return viewers / self.viewers_per_core + self.ingest


def one_to_one_rooms(rng: random.Random, count: int, cost: float, first_id: int) -> list[Room]:
    rooms: list[Room] = []
    slots = list(SLOTS)
    weights = [SLOTS[s] for s in slots]
    for i in range(count):
        if rng.random() < WALK_IN:
            arrive = rng.randrange(START, 22 * 60)
        else:
            arrive = rng.choices(slots, weights)[0] + rng.randint(-3, 5)
        minutes = rng.choices([d for d, _ in DURATIONS], [w for _, w in DURATIONS])[0]
        rooms.append(Room(first_id + i, "one_to_one", arrive, arrive + minutes, 2, cost))
    return rooms


def peak_concurrency(rooms: list[Room]) -> tuple[int, int]:
    """(the most rooms running at once, the minute it happens)."""
    delta = [0] * (END - START + 120)
    for r in rooms:
        delta[r.arrive - START] += 1
        delta[min(len(delta) - 1, r.end - START)] -= 1
    best = (0, START)
    running = 0
    for i, d in enumerate(delta):
        running += d
        best = max(best, (running, START + i))
    return best


def lecture_rooms(args: argparse.Namespace, costs: Costs, first_id: int) -> list[Room]:
    rooms: list[Room] = []
    counts = [round(args.lectures * share) for _, share in LECTURE_TIMES]
    counts[-1] = args.lectures - sum(counts[:-1])
    rid = first_id
    for (start, _), n in zip(LECTURE_TIMES, counts, strict=True):
        for _ in range(n):
            full = costs.lecture(args.viewers)
            parts = 1
            if args.cascade and full > args.limit:
                # viewers spread over k processes, each ingesting the teacher's stream once
                parts = math.ceil(args.viewers / (args.viewers_per_core
                                                   * (args.limit - costs.ingest)))
            for p in range(parts):
                viewers = args.viewers // parts + (1 if p < args.viewers % parts else 0)
                rooms.append(Room(
                    rid, "lecture" if parts == 1 else "lecture-part", start - 5,
                    start + LECTURE_MINUTES, viewers + (1 if p == 0 else 0),
                    costs.lecture(viewers), ramp=(start - 2, start + 8), base_cost=costs.ingest,
                ))
                rid += 1
    return rooms


def evening(args: argparse.Namespace, costs: Costs) -> list[Room]:
    """The rooms of the evening, one-to-ones scaled to the wanted peak."""
    count = args.one_to_ones * 2
    for _ in range(4):  # concurrency is ~linear in the count: a few corrections
        rooms = one_to_one_rooms(random.Random(args.seed), count, costs.one_to_one, 0)
        peak, _ = peak_concurrency(rooms)
        if peak == args.one_to_ones:
            break
        count = max(1, round(count * args.one_to_ones / max(1, peak)))
    rooms = one_to_one_rooms(random.Random(args.seed), count, costs.one_to_one, 0)
    return rooms + lecture_rooms(args, costs, len(rooms))


@dataclass
class Outcome:
    policy: str
    processes: int
    rejected: int = 0
    waited: int = 0
    over_limit_placements: int = 0
    peak_process_load: float = 0.0
    peak_utilisation: float = 0.0
    peak_minute: int = START
    overloaded_process_minutes: int = 0
    overloaded_person_minutes: int = 0
    cannot_fit: int = 0  # rooms costlier than one process at the limit
    per_minute: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.overloaded_process_minutes == 0


def simulate(rooms: list[Room], processes: int, policy: str, limit: float, seed: int,
             queue_minutes: int) -> Outcome:
    rng = random.Random(seed * 7919 + processes)
    out = Outcome(policy, processes)
    placed: list[list[Room]] = [[] for _ in range(processes)]
    reserved = [0.0] * processes  # reserve: the full expected cost of the rooms placed
    by_minute: dict[int, list[Room]] = {}
    for r in rooms:
        by_minute.setdefault(r.arrive, []).append(r)
    seen = [0.0] * processes  # the load the sysload selector sees: last minute's
    waiting: list[tuple[Room, int]] = []  # reserve: refused rooms retrying, first refusal
    end = max(r.end for r in rooms)
    for minute in range(min(by_minute), end + 1):
        arrivals = by_minute.get(minute, [])
        rng.shuffle(arrivals)
        retry, waiting = waiting, []
        for room, since in retry + [(r, minute) for r in arrivals]:
            if room.end <= minute:
                continue
            if policy == "first-join":
                p = rng.randrange(processes)
            elif policy == "sysload":
                below = [i for i in range(processes) if seen[i] < limit]
                if not below:
                    out.over_limit_placements += 1
                p = rng.choice(below or list(range(processes)))
            else:
                if room.full_cost > limit:
                    out.cannot_fit += 1
                    out.rejected += 1
                    continue
                fit = [i for i in range(processes) if reserved[i] + room.full_cost <= limit]
                if policy == "best-fit":
                    p = max(fit, key=lambda i: reserved[i], default=-1)
                else:
                    p = min(range(processes), key=lambda i: reserved[i])
                    p = p if p in fit else -1
                if p < 0:
                    if minute - since < queue_minutes:
                        waiting.append((room, since))
                    else:
                        out.rejected += 1
                    continue
                if minute > since:
                    out.waited += 1
                # the room starts late: shift it, keeping its length
                late = minute - since
                if late:
                    room = Room(room.rid, room.form, minute, room.end + late, room.people,
                                room.full_cost, (room.ramp[0] + late, room.ramp[1] + late),
                                room.base_cost)
                reserved[p] += room.full_cost
            placed[p].append(room)
        loads = []
        for i in range(processes):
            live = [r for r in placed[i] if r.end > minute]
            if len(live) != len(placed[i]):
                for r in placed[i]:
                    if r.end <= minute:
                        reserved[i] -= r.full_cost
                placed[i] = live
            load = sum(r.cost(minute) for r in live)
            loads.append(load)
            if load > 1.0:
                out.overloaded_process_minutes += 1
                out.overloaded_person_minutes += sum(r.people for r in live
                                                     if r.cost(minute) > 0)
        seen = loads
        total = sum(loads) / processes
        out.per_minute.append(total)
        if total > out.peak_utilisation:
            out.peak_utilisation, out.peak_minute = total, minute
        out.peak_process_load = max(out.peak_process_load, max(loads, default=0.0))
    if policy in ("first-join", "sysload"):
        out.cannot_fit = sum(1 for r in rooms if r.full_cost > 1.0)
    return out


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.placement",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--one-to-ones", type=int, default=5000, help="peak concurrent sessions")
    p.add_argument("--lectures", type=int, default=50)
    p.add_argument("--viewers", type=int, default=300)
    # Measured 2026-12-04 (docs/capacity.md): bench.one_to_one, bench.fanout.
    p.add_argument("--one-to-one-per-core", type=float, default=32.0)
    p.add_argument("--viewers-per-core", type=float, default=178.0)
    p.add_argument("--limit", type=float, default=0.8, help="sysload_limit, of one core")
    p.add_argument("--cores", type=int, default=16, help="cores per node")
    p.add_argument("--processes-per-node", type=int, default=None,
                   help="serve processes per node (default: cores - 1)")
    p.add_argument("--cascade", action="store_true",
                   help="spread a lecture too big for one process over several")
    p.add_argument("--queue-minutes", type=int, default=5)
    p.add_argument("--policies", default=",".join(POLICIES))
    p.add_argument("--max-nodes", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    per_node = args.processes_per_node or max(1, args.cores - 1)
    costs = Costs(args.one_to_one_per_core, args.viewers_per_core)
    rooms = evening(args, costs)
    o2o = [r for r in rooms if r.form == "one_to_one"]
    peak, when = peak_concurrency(o2o)
    lecture = costs.lecture(args.viewers)
    demand = max(sum(r.cost(m) for r in rooms) for m in range(START, END))
    print(f"evening: {len(o2o)} one-to-ones (peak {peak} at {hhmm(when)}), "
          f"{args.lectures} lectures × {args.viewers} viewers; seed {args.seed}")
    print(f"costs: one-to-one {costs.one_to_one:.4f} cores ({args.one_to_one_per_core:g}/core), "
          f"lecture of {args.viewers} {lecture:.2f} cores ({args.viewers_per_core:g} viewers/core)"
          f"; peak demand {demand:.1f} cores")
    if lecture > 1.0 and not args.cascade:
        print(f"note: one lecture needs {lecture:.2f} cores, one process has 1.0: it cannot "
              "run without falling behind on any N (--cascade spreads it)")
    print(f"nodes: {args.cores} cores, {per_node} serve processes each; limit {args.limit}")
    print()
    head = (f"{'policy':<11} {'nodes':>5} {'procs':>5} {'rejected':>8} {'waited':>6} "
            f"{'peak proc':>9} {'util':>5} {'at':>5} {'overl. proc-min':>15} "
            f"{'person-min':>10}")
    print(head)
    print("-" * len(head))
    lowest = math.ceil(demand / (args.limit * per_node))
    for policy in [p.strip() for p in args.policies.split(",") if p.strip()]:
        found: Outcome | None = None
        last: Outcome | None = None
        fits = lecture <= 1.0 or args.cascade  # else no N can carry the lectures
        lo, hi = max(1, lowest), args.max_nodes
        while fits and lo <= hi:  # binary search: more nodes, less harm (roughly)
            mid = (lo + hi) // 2
            o = simulate(rooms, mid * per_node, policy, args.limit, args.seed,
                         args.queue_minutes)
            if o.ok:
                found, hi = o, mid - 1
            else:
                last, lo = o, mid + 1
        # Also show the smallest plausible N, to see how the policy fails there.
        first = simulate(rooms, max(1, lowest) * per_node, policy, args.limit, args.seed,
                         args.queue_minutes)
        rows: list[tuple[Outcome | None, str]] = [
            (first, "at the lower bound"), (found, "smallest with no harm")]
        for row, tag in rows:
            if row is None:
                continue
            print(f"{policy:<11} {row.processes // per_node:>5} {row.processes:>5} "
                  f"{row.rejected:>8} {row.waited:>6} {row.peak_process_load:>9.2f} "
                  f"{row.peak_utilisation:>5.0%} {hhmm(row.peak_minute):>5} "
                  f"{row.overloaded_process_minutes:>15} {row.overloaded_person_minutes:>10}"
                  f"  {tag}")
        if not fits:
            print(f"{policy:<11} no N: the lectures cannot fit one process")
        elif found is None and last is not None:
            why = (f"{last.cannot_fit} lectures cannot fit one process"
                   if last.cannot_fit else "overload or refusals remain")
            print(f"{policy:<11} none up to {args.max_nodes} nodes: {why} "
                  f"(at {args.max_nodes}: rejected {last.rejected}, overloaded "
                  f"process-minutes {last.overloaded_process_minutes})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
