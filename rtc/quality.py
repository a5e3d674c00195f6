"""What each subscriber's network can take: full video, reduced video or audio only.

A pure state machine per subscriber (issue 13, item 2), no I/O and no clock of its own:
:meth:`LinkQuality.observe` takes what the subscriber's browser said since the last call
(the worst receiver-report loss and jitter over its slots, its latest REMB estimate) and
``now`` (monotonic seconds), and returns the level to forward at. The room calls it from
its owner task twice a second (``rtc.room``) and applies a change to the person's video
slots (:meth:`rtc.fanout.ForwardTrack.set_level`).

Why it is shaped like this:

* **Down fast, up slowly.** A phone on 150 kbit/s whose video freezes also loses ~40 %
  of its audio and, after ~30 s of a full queue, its ICE consent checks: stepping down
  within ``down_after`` (2 s) of bad reports saves the call. Stepping up too early only
  fills the link again, so it waits ``up_hold`` of good reports, one level at a time.
* **Hysteresis in the thresholds.** The "good" figures that allow a step up are clearly
  better than the "bad" ones that force a step down (2 % vs 5 % loss), so a link that
  sits at one edge does not flap.
* **Back-off after a failed probe.** With video off, the link carries audio alone and
  looks perfect; only sending video again shows whether it fits. When a step up is
  followed by a step down within ``probe_window``, the next hold doubles (up to
  ``max_up_hold``): a link capped at 150 kbit/s is probed at 8, 16, 32, 64, 120 s, and
  each probe costs a couple of seconds of audio loss at most. A level kept for
  ``stable_after`` forgives the back-off.
* **Silence is no news.** Chromium reports on audio only every ~5 s; with video off,
  those are the only reports. A tick without a report changes no timer; a step up
  needs a good report no older than ``fresh_report``.
* **REMB only while video flows.** Chromium's receive-side estimate comes from the video
  it gets: with video off it decays to a few kbit/s, and right after video resumes it
  starts low; both would hold a recovered link down, so REMB is ignored at audio only,
  under data saver and for ``remb_grace`` after a step up (loss and jitter still count).
* **Loss that video did not cause is not held against it.** Stepping down to audio only
  cures congestion (a capped link's loss falls to ~0) but not a lossy radio (random
  loss stays). What stays while no video is sent is learnt as the link's own loss
  (``loss_floor``) and only loss above it counts, so a link losing 10 % at random gets
  video back (with NACKs, FEC and keyframes doing their part) instead of audio for good.
* **Data saver** (the student's choice: audio and the whiteboard only) overrides the
  network's level without touching its history: turning it off goes back to what the
  network allows at once (and the publisher is asked for a keyframe, as on any resume).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """Ordered worst first, so ``min``/``<`` read as "worse"."""

    AUDIO_ONLY = 0
    REDUCED = 1
    FULL = 2

    @property
    def wire(self) -> str:
        return ("audio_only", "reduced", "full")[self]


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """The thresholds and hold times (seconds; loss as a fraction 0…1; bits per second)."""

    # Step down when a report is this bad, for ``down_after`` seconds.
    reduced_loss: float = 0.05
    # Audio only takes heavy loss: a capped link drops most of what does not fit (150 or
    # 300 kbit/s against ~0.8 Mbit/s of video: well over half), while a lossy radio's
    # 5–20 % at random is better served by video with NACKs and keyframes than by none
    # (measured: at 15 % the baseline's video kept moving, adaptation turned it off).
    audio_only_loss: float = 0.30
    reduced_jitter_ms: float = 60.0
    audio_only_jitter_ms: float = 150.0
    # REMB under these, with some loss (> ``up_loss``), steps down. Off (0) by default:
    # Chromium's estimate of our forwarded video (no abs-send-time on it) starts near
    # 200 kbit/s and ramps ~8 %/s on any link, so with 5 % random loss it sent a student
    # with a wide link to audio only (bench/network.py); loss and jitter decide instead.
    reduced_bps: float = 0.0
    audio_only_bps: float = 0.0
    down_after: float = 2.0
    # Step up (one level) after ``up_hold`` seconds of reports at least this good.
    up_loss: float = 0.02
    up_jitter_ms: float = 30.0
    up_hold: float = 8.0
    max_up_hold: float = 120.0
    probe_window: float = 10.0  # a step down this soon after a step up: the probe failed
    stable_after: float = 60.0  # a level held this long resets the back-off
    fresh_report: float = 6.0  # Chromium's audio RTCP interval is ~5 s
    remb_stale: float = 6.0  # an estimate older than this is not used
    remb_grace: float = 6.0  # after video resumes, the browser's estimate ramps up first
    floor_weight: float = 0.3  # of each audio-only report in the link's own loss


DEFAULT_POLICY = QualityPolicy()


@dataclass(frozen=True, slots=True)
class Report:
    """What a subscriber's browser said since the last :meth:`LinkQuality.observe`:
    ``loss``/``jitter_ms`` ``None`` when no receiver report came, ``remb_bps`` ``None``
    when no REMB came (the last one is remembered)."""

    loss: float | None = None
    jitter_ms: float | None = None
    remb_bps: float | None = None


class LossWindow:
    """One slot's loss over a tick, from its receiver report blocks: each block's
    ``fraction_lost`` weighted by the packets it covers (the extended highest sequence
    number's advance since the block before). Why not the worst block: Chromium sends a
    compound RR with every NACK, so at 10 % random loss many blocks cover a handful of
    packets and one of them says 33 % (1 of 3): measured, the worst block sent a student
    with 10 % random loss to audio only within 3 s, while the loss over the tick is 10 %."""

    __slots__ = ("_expected", "_highest", "_lost")

    def __init__(self) -> None:
        self._highest: int | None = None  # the last block's, across ticks
        self._lost = 0.0
        self._expected = 0

    def add(self, fraction_lost: int, highest: int) -> None:
        """One block: ``fraction_lost`` as on the wire (x/256), ``highest`` extended."""
        before = self._highest
        if before is None or highest > before:
            self._highest = highest
        if before is None:
            return  # the first block: the packets it covers are not known
        span = highest - before
        if 0 < span <= 1 << 16:  # an older or repeated block covers nothing new
            self._lost += fraction_lost / 256 * span
            self._expected += span

    def take(self) -> float | None:
        """The loss since the last call (``None``: no block covered a new packet)."""
        if not self._expected:
            return None
        out = self._lost / self._expected
        self._lost, self._expected = 0.0, 0
        return out


class LinkQuality:
    """One subscriber's level. ``level`` is what is forwarded; ``network`` what their
    link allows (they differ under data saver). ``changes`` counts level changes."""

    def __init__(self, policy: QualityPolicy = DEFAULT_POLICY, now: float = 0.0) -> None:
        self.policy = policy
        self.network = Level.FULL
        self.saver = False
        self.changes = 0
        self.last_loss = 0.0
        self.last_jitter_ms = 0.0
        self._remb: float | None = None
        self._remb_at = 0.0
        self._bad_since: float | None = None
        self._bad_target = Level.FULL
        self._good_since: float | None = None
        self._report_at: float | None = None
        self._changed_at = now
        self._stepped_up_at: float | None = None
        self._hold = policy.up_hold
        self.loss_floor = 0.0  # loss that stopping video did not cure (see observe)

    @property
    def level(self) -> Level:
        return Level.AUDIO_ONLY if self.saver else self.network

    @property
    def reason(self) -> str:
        """Why video is not full: ``"saver"``, ``"network"`` or ``""``."""
        if self.saver:
            return "saver"
        return "network" if self.network < Level.FULL else ""

    @property
    def remb_bps(self) -> float | None:
        return self._remb

    def set_saver(self, on: bool) -> Level:
        """The subscriber chose data saver (or turned it off). Returns the new level."""
        self.saver = on
        return self.level

    def observe(self, now: float, report: Report) -> Level:
        """Take one tick's report; return the level to forward at from now on."""
        p = self.policy
        new_remb = report.remb_bps is not None and self._remb_counts(now)
        if new_remb:
            self._remb, self._remb_at = report.remb_bps, now
        remb = self._remb if now - self._remb_at <= p.remb_stale else None
        if report.loss is None and report.jitter_ms is None and not new_remb:
            return self.level  # no news: no timer moves
        loss = report.loss or 0.0
        jitter = report.jitter_ms or 0.0
        if report.loss is not None or report.jitter_ms is not None:
            self._report_at = now
            self.last_loss, self.last_jitter_ms = loss, jitter
            if report.loss is not None:
                self._learn_floor(loss)
        # Only loss above what the link loses anyway is ours to cure by sending less.
        loss = max(0.0, loss - self.loss_floor)
        target = self._target(loss, jitter, remb)
        if now - self._changed_at >= p.stable_after:
            self._hold = p.up_hold
        if target < self.network:
            self._good_since = None
            if self._bad_since is None:
                self._bad_since, self._bad_target = now, target
            self._bad_target = min(self._bad_target, target)
            if now - self._bad_since >= p.down_after:
                self._step_down(now, self._bad_target)  # the worst seen while bad
            return self.level
        self._bad_since = None
        if self.network < Level.FULL and self._good(loss, jitter):
            if self._good_since is None:
                self._good_since = now
            fresh = self._report_at is not None and now - self._report_at <= p.fresh_report
            if fresh and now - self._good_since >= self._hold:
                self.network = Level(self.network + 1)
                self._stepped_up_at = self._changed_at = now
                self._good_since = None
                self._remb = None
                self.changes += 1
        else:
            self._good_since = None
        return self.level

    def _learn_floor(self, loss: float) -> None:
        """Loss that stays while no video is sent is the link's own (a lossy radio), not
        congestion: learnt at audio only (a moving average), forgotten slowly elsewhere
        as reports come in lower. Without it, 10 % random loss would keep a student at
        audio only for good, every probe failing on loss that video did not cause."""
        p = self.policy
        if self.level == Level.AUDIO_ONLY:
            self.loss_floor += p.floor_weight * (loss - self.loss_floor)
        elif loss < self.loss_floor:
            self.loss_floor += p.floor_weight * (loss - self.loss_floor) / 3

    def _remb_counts(self, now: float) -> bool:
        """Chromium estimates from the video it receives: with none (audio only, data
        saver) its REMB decays to a few kbit/s and says nothing about the link, and right
        after video resumes it starts low and ramps up for a few seconds."""
        if self.level == Level.AUDIO_ONLY:
            return False
        return self._stepped_up_at is None or now - self._stepped_up_at >= self.policy.remb_grace

    def _step_down(self, now: float, to: Level) -> None:
        p = self.policy
        if self._stepped_up_at is not None and now - self._stepped_up_at <= p.probe_window:
            self._hold = min(self._hold * 2, p.max_up_hold)  # the probe failed: wait longer
        self.network = to
        self._changed_at = now
        self._bad_since = None
        self._stepped_up_at = None
        self._remb = None  # measured on more video than is sent from now on
        self.changes += 1

    def _target(self, loss: float, jitter: float, remb: float | None) -> Level:
        """The best level this report alone allows (the step-down test)."""
        p = self.policy
        # A low REMB counts only with some loss: Chromium's estimate starts near
        # 200 kbit/s and ramps up ~8 % a second on any link (measured: bench/network.py).
        low = remb if remb is not None and loss > p.up_loss else None
        if (
            loss >= p.audio_only_loss
            or jitter >= p.audio_only_jitter_ms
            or (low is not None and low < p.audio_only_bps)
        ):
            return Level.AUDIO_ONLY
        if (
            loss >= p.reduced_loss
            or jitter >= p.reduced_jitter_ms
            or (low is not None and low < p.reduced_bps)
        ):
            return Level.REDUCED
        return Level.FULL

    def _good(self, loss: float, jitter: float) -> bool:
        """Is this report clearly good enough for a step up? (REMB is not asked: with
        video off there is none worth reading, and after it resumes it ramps up slowly.)"""
        p = self.policy
        return loss <= p.up_loss and jitter <= p.up_jitter_ms
