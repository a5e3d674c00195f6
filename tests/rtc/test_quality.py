"""The per-subscriber quality state machine (rtc/quality.py): table-driven, fake time.

Each case is a script of ticks ``(seconds since start, report, level expected after)``;
a report is ``(loss, jitter ms, REMB bit/s)`` with ``None`` for "not in this tick"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rtc.quality import Level, LinkQuality, LossWindow, QualityPolicy, Report

F, R, A = Level.FULL, Level.REDUCED, Level.AUDIO_ONLY
GOOD = (0.0, 5.0, None)
LOSSY = (0.08, 10.0, None)  # 8 % loss: reduced
AWFUL = (0.40, 20.0, None)  # 40 % loss: audio only
SILENT = (None, None, None)
JITTERY = (0.0, 200.0, None)

Tick = tuple[float, tuple[float | None, float | None, float | None], Level]


# The REMB cases run with REMB thresholds on (off by default: see QualityPolicy).
WITH_REMB = QualityPolicy(reduced_bps=400_000.0, audio_only_bps=200_000.0)


def run(ticks: list[Tick], policy: QualityPolicy | None = None) -> LinkQuality:
    q = LinkQuality(policy or WITH_REMB)
    for i, (t, (loss, jitter, remb), expected) in enumerate(ticks):
        got = q.observe(t, Report(loss, jitter, remb))
        assert got == expected, f"tick {i} at t={t}: {got.name}, expected {expected.name}"
    return q


def every(start: float, end: float, report: tuple[float | None, ...], level: Level) -> list[Tick]:
    """One tick a second from ``start`` to ``end`` (inclusive), all expecting ``level``."""
    return [(float(t), report, level) for t in range(int(start), int(end) + 1)]  # type: ignore[misc]


CASES: dict[str, list[Tick]] = {
    "a good link stays full": every(0, 30, GOOD, F),
    "one bad report is not enough": [(0, AWFUL, F), (1, GOOD, F), (2, GOOD, F), (3, GOOD, F)],
    "two seconds of heavy loss: audio only": [(0, AWFUL, F), (1, AWFUL, F), (2, AWFUL, A)],
    "moderate loss: reduced": [(0, LOSSY, F), (1, LOSSY, F), (2, LOSSY, R)],
    "jitter alone steps down": [(0, JITTERY, F), (1, JITTERY, F), (2, JITTERY, A)],
    "the worst of the bad window wins": [(0, AWFUL, F), (1, LOSSY, F), (2, LOSSY, A)],
    # A low REMB counts with some loss (3 %: alone, not enough to step down).
    "a low REMB with some loss: audio only": [
        (0, (0.03, 5, 120_000), F),
        (1, (0.03, 5, None), F),
        (2, (0.03, 5, None), A),
    ],
    "a REMB of 300 kbit/s with some loss: reduced": [
        (0, (0.03, 5, 300_000), F),
        (1, (0.03, 5, None), F),
        (2, (0.03, 5, None), R),
    ],
    # Chromium's estimate starts near 200 kbit/s and ramps up on any link: no loss, no step.
    "a low REMB on a clean link is the browser ramping up": every(0, 20, (0, 5, 150_000), F),
    # Up one level after 8 s of good reports, then the next after 8 s more.
    "recovery steps up one level at a time": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        *every(3, 10, GOOD, A),
        (11, GOOD, R),
        *every(12, 19, GOOD, R),
        (20, GOOD, F),
    ],
    # Between the thresholds (3 % loss: not bad enough to go down, not good enough to go up).
    # (At audio only, loss that stays is learnt as the link's own: see the random-loss case.)
    "hysteresis: in between holds the level": [
        (0, LOSSY, F),
        (2, LOSSY, R),
        *every(3, 40, (0.03, 5, None), R),
    ],
    "a bad report restarts the hold": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        *every(3, 8, GOOD, A),
        (9, LOSSY, A),
        *every(10, 17, GOOD, A),
        (18, GOOD, R),
    ],
    # Reports every 5 s (audio only: Chromium's audio RTCP): silence moves no timer, and
    # the step up comes on a fresh good report.
    "sparse reports: silence is no news": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        (5, GOOD, A),
        (6, SILENT, A),
        (9, SILENT, A),
        (10, GOOD, A),
        (13, SILENT, A),
        (15, GOOD, R),
    ],
    "silence alone never steps up": [(0, AWFUL, F), (2, AWFUL, A), *every(3, 60, SILENT, A)],
    # A probe that fails (down again within 10 s) doubles the next hold: 8 → 16 s.
    "a failed probe backs off": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        *every(3, 10, GOOD, A),
        (11, GOOD, R),
        (12, AWFUL, R),
        (14, AWFUL, A),
        *every(15, 30, GOOD, A),
        (31, GOOD, R),
    ],
    # A REMB measured on the video sent before is forgotten when video stops.
    "the REMB that stepped down is not held against the link": [
        (0, (0.03, 5, 100_000), F),
        (2, (0.03, 5, None), A),
        *every(3, 10, GOOD, A),
        (11, GOOD, R),
    ],
    # Chromium's REMB with no video to estimate from decays to a few kbit/s: ignored.
    "REMB while audio only is no news": [
        (0, (0.03, 5, 100_000), F),
        (2, (0.03, 5, 100_000), A),
        *every(3, 10, (0, 5, 8_000), A),
        (11, (0, 5, 5_000), R),
    ],
    "REMB-only ticks while audio only move no timer": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        *every(3, 60, (None, None, 9_000), A),
    ],
    # Right after video resumes the estimate starts low: ignored for 6 s, then it counts
    # (down 2 s later; the probe failed).
    "REMB after a step up: grace, then it counts": [
        (0, AWFUL, F),
        (2, AWFUL, A),
        *every(3, 10, GOOD, A),
        (11, GOOD, R),
        *every(12, 18, (0.03, 5, 50_000), R),  # counted from t=17
        (19, (0.03, 5, 50_000), A),
    ],
}


# A lossy radio (10 % at random, spikes of 20 %) stays lossy with video off: that loss is
# the link's own, learnt at audio only, and video comes back (then full: NACKs, FEC and
# keyframes do their part); it does not go down again on the same 10 %. (With a policy
# whose audio-only line is 15 %: the default's 30 % does not go down on these at all.)
RANDOM = (0.10, 5.0, None)
SPIKE = (0.20, 5.0, None)
LOSS_FLOOR_CASE = [
    (0, SPIKE, F),
    (2, SPIKE, A),
    *every(3, 6, RANDOM, A),  # the floor learns ~0.1: what is left is good news
    *every(7, 10, RANDOM, A),
    *every(11, 14, RANDOM, A),
    (15, RANDOM, R),
    *every(16, 23, RANDOM, R),
    (24, RANDOM, F),
    *every(25, 60, RANDOM, F),
]


def test_random_loss_is_the_links_own_and_video_comes_back() -> None:
    run(LOSS_FLOOR_CASE, replace(WITH_REMB, audio_only_loss=0.15))
# 10–20 % at random (school Wi-Fi) never turns video off: at most reduced (which forwards
# Chromium's VP8 whole: it marks no frame droppable).
CASES["10-20 % random loss keeps video"] = [
    (0, (0.10, 5.0, None), F),
    (2, (0.10, 5.0, None), R),
    *every(3, 30, (0.20, 5.0, None), R),
]
# A capped link's loss falls to 0 without video: the floor stays 0, nothing changes.
CASES["congestion loss is not learnt"] = [
    (0, AWFUL, F),
    (2, AWFUL, A),
    *every(3, 10, GOOD, A),
    (11, GOOD, R),
    (12, AWFUL, R),
    (14, AWFUL, A),
]


@pytest.mark.parametrize("ticks", CASES.values(), ids=CASES.keys())
def test_levels(ticks: list[Tick]) -> None:
    run(ticks)


def test_back_off_is_capped_and_forgiven_after_a_stable_stretch() -> None:
    policy = QualityPolicy(up_hold=2.0, max_up_hold=4.0, stable_after=20.0, down_after=0.0)
    q = LinkQuality(policy)
    t = 0.0
    for expected_hold in (2.0, 4.0, 4.0):  # doubled, then capped
        assert q.observe(t, Report(*AWFUL[:2])) == A
        t += 1
        q.observe(t, Report(*GOOD[:2]))
        t += expected_hold
        assert q.observe(t, Report(*GOOD[:2])) == R
        t += 1  # the probe fails at once
    assert q.observe(t, Report(*AWFUL[:2])) == A
    # 20 s at one level: the next hold is the base one again.
    t += 20
    q.observe(t, Report(*GOOD[:2]))
    t += 2
    assert q.observe(t, Report(*GOOD[:2])) == R


def test_remb_alone_decides_nothing_by_default() -> None:
    q = LinkQuality()
    for t in range(10):
        assert q.observe(t, Report(0.05, 5, 50_000)) == (F if t < 2 else R)  # the loss


def test_data_saver_overrides_without_forgetting_the_network() -> None:
    q = LinkQuality()
    assert q.set_saver(True) == A
    assert q.reason == "saver"
    assert q.observe(0, Report(0, 5)) == A  # a good network does not turn video on
    assert q.network == F
    assert q.set_saver(False) == F and q.reason == ""
    q.observe(1, Report(0.4, 5))
    q.observe(3, Report(0.4, 5))
    assert (q.level, q.reason) == (A, "network")
    assert q.set_saver(True) == A and q.reason == "saver"


def test_changes_are_counted_and_levels_have_wire_names() -> None:
    q = run([(0, AWFUL, F), (2, AWFUL, A), *every(3, 10, GOOD, A), (11, GOOD, R)])
    assert q.changes == 2
    assert [lv.wire for lv in Level] == ["audio_only", "reduced", "full"]
    assert A < R < F


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([], None),  # no report
        ([(26, 100)], None),  # the first block: what it covers is not known
        ([(0, 100), (0, 200)], 0.0),
        # Chromium's compound RR with each NACK: blocks over a few packets. The worst
        # says 1 of 3 (85/256); over the tick it is 10 %.
        ([(0, 100), (26, 190), (85, 193), (0, 197), (26, 297)], (26 * 90 + 85 * 3 + 26 * 100)
         / 256 / 197),
        ([(0, 100), (128, 100)], None),  # a repeated block covers nothing new
        ([(0, 100), (64, 90), (64, 110)], 64 / 256),  # an older one neither
    ],
)
def test_the_loss_over_a_tick_weighs_each_block_by_what_it_covers(
    blocks: list[tuple[int, int]], expected: float | None
) -> None:
    window = LossWindow()
    for fraction, highest in blocks:
        window.add(fraction, highest)
    got = window.take()
    assert got == pytest.approx(expected) if expected is not None else got is None
    assert window.take() is None  # taken: the next tick starts empty


def test_the_window_carries_the_highest_across_ticks() -> None:
    window = LossWindow()
    window.add(0, 100)
    assert window.take() is None
    window.add(51, 200)  # covers 100 packets since the block of the tick before
    assert window.take() == pytest.approx(51 / 256)
