"""Presence tracker: full transition lists for the issue's scenarios, plus a
property test against a brute-force reading of the rule. Times are plain floats
(seconds from an arbitrary epoch); no clock, no sleeping."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.presence.tracker import (
    Kind,
    Observation,
    PresenceTracker,
    Transition,
    merge,
    pair_intervals,
)

T0 = 1_772_445_600.0  # 2026-03-02T10:00:00Z

Step = tuple[float, str, str] | tuple[float, str, str, str]


def run(steps: list[Step], *, ticks: Sequence[float] = (), window: float = 5.0) -> list[Transition]:
    """Feed observations (offsets from T0) and ticks in time order, as the journal
    would; ticks at the same instant go after the observations."""
    tracker = PresenceTracker(window)
    timeline: list[tuple[float, int, Step | None]] = [(s[0], 0, s) for s in steps]
    timeline += [(t, 1, None) for t in ticks]
    out: list[Transition] = []
    for at, _, step in sorted(timeline, key=lambda x: (x[0], x[1])):
        if step is None:
            out += tracker.tick(T0 + at)
        else:
            detail = step[3] if len(step) == 4 else ""
            out += tracker.observe(T0 + step[0], step[1], step[2], detail)
    return out


def tr(person: str, at: float, active: bool, cause: str) -> Transition:
    return Transition(person, T0 + at, active, cause)


def every(
    person: str, start: float, stop: float, step: float = 1.0, detail: str = ""
) -> list[Step]:
    n = round((stop - start) / step)
    return [(start + i * step, person, "traffic", detail) for i in range(n + 1)]


def seconds(n: float) -> list[float]:
    return [float(i) for i in range(int(n) + 1)]


def test_normal_session() -> None:
    steps: list[Step] = [
        (0.0, "t1", "signal_up"),
        (0.4, "t1", "transport_up"),
        (0.5, "t1", "media_up", "video"),
        (0.5, "t1", "media_up", "audio"),
        *every("t1", 0.5, 59.5),
        (2.0, "s1", "signal_up"),
        (3.0, "s1", "transport_up"),
        (3.2, "s1", "media_up", "audio"),
        *every("s1", 3.2, 69.2),
        (60.0, "t1", "signal_down"),
        (60.1, "t1", "transport_down"),
        (70.0, "", "session_end"),
        (71.0, "s1", "signal_down"),  # after the end: ignored
    ]
    assert run(steps, ticks=seconds(75)) == [
        tr("t1", 0.5, True, "traffic"),
        tr("s1", 3.2, True, "traffic"),
        tr("t1", 60.0, False, "signal_down"),
        tr("s1", 70.0, False, "session_end"),
    ]


def test_receive_only_phone_kept_alive_by_rtcp_and_ice_consent() -> None:
    # A phone that publishes nothing: RTCP receiver reports every second, then only
    # ICE consent checks (every ~4 s); it stays active until 5 s after the last one.
    steps: list[Step] = [
        (0.0, "p", "signal_up"),
        (1.0, "p", "transport_up"),
        *every("p", 1.5, 30.5, detail="rtcp_rr"),
        (34.0, "p", "traffic", "ice_consent"),
        (38.0, "p", "traffic", "ice_consent"),
    ]
    assert run(steps, ticks=seconds(50)) == [
        tr("p", 1.5, True, "traffic"),
        tr("p", 43.0, False, "timeout"),
    ]


def test_twelve_second_network_stall() -> None:
    # Packets at 1..20, nothing from 20 to 32, packets again from 32.
    steps: list[Step] = [
        (0.0, "t", "signal_up"),
        (0.5, "t", "transport_up"),
        *every("t", 1.0, 20.0),
        *every("t", 32.0, 40.0),
        (40.5, "t", "signal_down"),
    ]
    expected = [
        tr("t", 1.0, True, "traffic"),
        tr("t", 25.0, False, "timeout"),  # the last instant the rule holds is 20 + 5
        tr("t", 32.0, True, "traffic"),
        tr("t", 40.5, False, "signal_down"),
    ]
    assert run(steps, ticks=seconds(45)) == expected
    # Without any tick the next observation discovers the lapse: same transitions.
    assert run(steps) == expected


def test_signaling_up_but_no_media_transport_is_never_active() -> None:
    steps: list[Step] = [
        (0.0, "s", "signal_up"),
        (1.0, "s", "media_up", "audio"),
        *every("s", 1.0, 30.0),  # whatever arrives, no transport means no evidence
        (31.0, "s", "signal_down"),
    ]
    assert run(steps, ticks=seconds(40)) == []


def test_transport_up_but_socket_down() -> None:
    steps: list[Step] = [
        (0.0, "s", "transport_up"),
        *every("s", 0.5, 30.5),
        (10.0, "s", "signal_up"),  # the socket arrives late: active from then
        (20.0, "s", "signal_down"),  # the socket drops: inactive although RTP still flows
    ]
    assert run(steps, ticks=seconds(40)) == [
        tr("s", 10.0, True, "signal_up"),
        tr("s", 20.0, False, "signal_down"),
    ]


def test_traffic_before_transport_up_does_not_count() -> None:
    steps: list[Step] = [
        (0.0, "s", "signal_up"),
        (1.0, "s", "traffic"),
        (2.0, "s", "traffic"),
        (2.5, "s", "transport_up"),  # earlier packets are not evidence: not active yet
        *every("s", 2.6, 9.6),
        (10.0, "s", "signal_down"),
    ]
    assert run(steps, ticks=seconds(12)) == [
        tr("s", 2.6, True, "traffic"),
        tr("s", 10.0, False, "signal_down"),
    ]


def test_reconnect_within_seconds_gives_two_intervals() -> None:
    steps: list[Step] = [
        (0.0, "s", "signal_up"),
        (0.5, "s", "transport_up"),
        *every("s", 1.0, 29.0),
        (30.0, "s", "signal_down"),
        (30.0, "s", "transport_down"),
        (33.0, "s", "signal_up"),
        (33.5, "s", "transport_up"),  # ICE restart; traffic from before the drop is gone
        *every("s", 33.75, 50.75),
    ]
    out = run(steps, ticks=seconds(60))
    assert out == [
        tr("s", 1.0, True, "traffic"),
        tr("s", 30.0, False, "signal_down"),
        tr("s", 33.75, True, "traffic"),
        tr("s", 55.75, False, "timeout"),
    ]
    assert pair_intervals(out) == {"s": [(T0 + 1.0, T0 + 30.0), (T0 + 33.75, T0 + 55.75)]}


def test_socket_reconnect_with_transport_kept_resumes_at_signal_up() -> None:
    steps: list[Step] = [
        (0.0, "s", "signal_up"),
        (0.0, "s", "transport_up"),
        *every("s", 0.0, 20.0),
        (8.0, "s", "signal_down"),
        (9.5, "s", "signal_up"),
    ]
    assert run(steps, ticks=seconds(30)) == [
        tr("s", 0.0, True, "traffic"),
        tr("s", 8.0, False, "signal_down"),
        tr("s", 9.5, True, "signal_up"),
        tr("s", 25.0, False, "timeout"),
    ]


def test_out_of_order_timestamps_are_clamped() -> None:
    t = PresenceTracker()
    t.observe(T0, "s", "signal_up")
    t.observe(T0, "s", "transport_up")
    assert t.observe(T0 + 10, "s", "traffic") == [tr("s", 10, True, "traffic")]
    # A down event stamped in the past still closes the interval, at the latest time.
    assert t.observe(T0 + 9, "s", "signal_down") == [tr("s", 10, False, "signal_down")]
    assert t.clamped == 1
    assert t.now == T0 + 10
    assert t.tick(T0 + 3) == []  # a tick from the past does nothing and is not counted
    assert t.clamped == 1


def test_traffic_exactly_at_the_deadline_does_not_split_the_interval() -> None:
    steps: list[Step] = [
        (0.0, "s", "signal_up"),
        (0.0, "s", "transport_up"),
        (0.0, "s", "traffic"),
        (5.0, "s", "traffic"),  # the window is half-open, but this packet renews it now
        (5.0, "s", "media_up", "audio"),
    ]
    assert run(steps, ticks=[20.0]) == [
        tr("s", 0.0, True, "traffic"),
        tr("s", 10.0, False, "timeout"),
    ]


def test_lapse_discovered_late_is_dated_at_the_deadline_and_ordered() -> None:
    t = PresenceTracker(window=2.0)
    for p in ("a", "b"):
        t.observe(T0, p, "signal_up")
        t.observe(T0, p, "transport_up")
    t.observe(T0 + 1, "b", "traffic")
    t.observe(T0 + 0.5, "a", "traffic")  # clamped to T0 + 1
    assert t.observe(T0 + 1, "a", "traffic") == []
    # Nothing for 10 s; a media event for someone else reveals both lapses.
    assert t.observe(T0 + 11, "c", "media_up", "video") == [
        Transition("a", T0 + 3, False, "timeout"),
        Transition("b", T0 + 3, False, "timeout"),
    ]


def test_end_and_live_view() -> None:
    t = PresenceTracker()
    t.observe(T0, "s", "signal_up")
    t.observe(T0, "s", "transport_up")
    t.observe(T0 + 1, "s", "traffic")
    assert t.is_active("s")
    assert t.open_intervals(T0 + 3) == {"s": (T0 + 1, T0 + 3)}
    assert t.open_intervals(T0 + 30) == {"s": (T0 + 1, T0 + 6)}  # lapsed, not yet ticked
    assert t.end(T0 + 4, "shutdown") == [tr("s", 4, False, "shutdown")]
    assert t.ended and not t.is_active("s")
    assert t.observe(T0 + 5, "s", "traffic") == []
    assert t.tick(T0 + 6) == []
    assert t.open_intervals(T0 + 7) == {}


def test_bad_input() -> None:
    t = PresenceTracker()
    with pytest.raises(ValueError):
        t.observe(T0, "s", "i_am_here")  # client claims are not even a kind
    with pytest.raises(ValueError):
        t.observe(math.nan, "s", "traffic")
    with pytest.raises(ValueError):
        t.observe(T0, "", "signal_up")
    with pytest.raises(ValueError):
        PresenceTracker(window=0)
    assert t.observe(T0, "", "session_end") == []


def test_merge() -> None:
    assert merge([(5, 6), (1, 2), (2, 3), (4, 4), (1.5, 2.5)]) == [(1, 3), (5, 6)]


# -- property test: the tracker agrees with a brute-force reading of the rule -----

KINDS = [k for k in Kind if k is not Kind.SESSION_END]
obs_st = st.tuples(
    st.integers(0, 40),
    st.sampled_from(["a", "b"]),
    st.sampled_from([*KINDS, Kind.TRAFFIC, Kind.TRAFFIC, "tick", "session_end"]),
)


def oracle(steps: list[tuple[int, str, str]], window: int, person: str, t: float) -> bool:
    """Replay every step up to instant t (times clamped to the running maximum)
    and apply the rule literally at t."""
    signal = transport = False
    last: float | None = None
    now = -math.inf
    for at, who, kind in steps:
        now = max(now, at)
        if now > t:
            break
        if kind == "session_end":
            return False
        if who != person or kind == "tick":
            continue
        if kind == "signal_up":
            signal = True
        elif kind == "signal_down":
            signal = False
        elif kind == "transport_up":
            transport = True
        elif kind == "transport_down":
            transport, last = False, None
        elif kind == "traffic" and transport:
            last = now
    return signal and transport and last is not None and t < last + window


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(obs_st, max_size=60), window=st.sampled_from([1, 2, 5]))
def test_matches_the_rule_at_every_instant(steps: list[tuple[int, str, str]], window: int) -> None:
    tracker = PresenceTracker(float(window))
    out: list[Transition] = []
    for at, who, kind in steps:
        if kind == "tick":
            out += tracker.tick(float(at))
        else:
            out += tracker.feed(Observation(float(at), who, Kind(kind)))
    out += tracker.tick(100.0)  # everything has lapsed by then
    assert not tracker.open_intervals(100.0)

    # Transitions are in time order and alternate per person, starting with a start.
    assert [x.at for x in out] == sorted(x.at for x in out)
    for person in ("a", "b"):
        flags = [x.active for x in out if x.person == person]
        assert flags == [i % 2 == 0 for i in range(len(flags))]

    intervals = pair_intervals(out)
    for person in ("a", "b"):
        ivs = intervals.get(person, [])
        for k in range(100):
            t = k + 0.5  # integer event times and windows: never on a boundary
            inside = any(s <= t < e for s, e in ivs)
            assert inside == oracle(steps, window, person, t), (person, t, ivs)
