"""aiortc's bitrate estimator (the REMB a receiver sends its publisher), with its two
per-packet loops taken out and its arithmetic left as it is: :func:`estimator` makes a
``aiortc.rate.RemoteBitrateEstimator`` whose rate window is :class:`RateCounter` and
whose Kalman filter is :class:`OveruseEstimator`.

Why: in a one-to-one, every incoming video packet runs the estimator, and it was ~10 %
of the server's time (README, "Where a one-to-one packet's time goes"). Two loops in it
cost most of that, and neither is needed to get the same numbers:

``aiortc.rate.RateCounter`` keeps 1,000 one-millisecond buckets as objects and, on every packet,
walks forward one bucket per millisecond since the last one to empty them: a video
packet every ~10-40 ms costs that many Python iterations, twice (``rate()`` and
``add()``), on every video packet a server receives. Here the buckets are two lists of
ints and the milliseconds that fell out of the window are emptied by slices, which
``sum()`` and slice assignment do in C. Bucket for bucket, the state after every call
is aiortc's (``tests/rtc/test_bitrate.py`` runs both side by side, clock going
backwards included), so the REMB figures sent are unchanged. It also replaces 1,000
``RateBucket`` objects per incoming video stream with two lists (issue 11's soak).

``OveruseEstimator.update_min_frame_period`` walks its 60-entry history calling
``min()`` once per entry, for every timestamp group (about every video frame); one
``min()`` over the list gives the same value.

Pure: no I/O, no clock; the caller passes the time.
"""

from __future__ import annotations

from aiortc import rate, rtcrtpreceiver

# The history aiortc keeps (its own constant, read so that both stay in step).
HISTORY = rate.MIN_FRAME_PERIOD_HISTORY_LENGTH


class RemoteBitrateEstimator(rate.RemoteBitrateEstimator):
    """aiortc's estimator with the loops taken out. Built field by field as aiortc 1.16's
    ``__init__`` builds it (``tests/rtc/test_bitrate.py`` checks the fields against
    aiortc's, so an upgrade that adds one fails there), because that ``__init__`` makes
    aiortc's rate window, 1,000 ``RateBucket`` objects, which would only be dropped."""

    def __init__(self) -> None:  # not super().__init__(): that is what is avoided
        self.incoming_bitrate = RateCounter(1000, 8000)  # type: ignore[assignment]
        self.incoming_bitrate_initialized = True
        self.inter_arrival = rate.InterArrival(
            (rate.TIMESTAMP_GROUP_LENGTH_MS << rate.INTER_ARRIVAL_SHIFT) // 1000,
            rate.TIMESTAMP_TO_MS,
        )
        self.estimator = OveruseEstimator()
        self.detector = rate.OveruseDetector()
        self.rate_control = rate.AimdRateControl()
        self.last_update_ms: int | None = None
        self.ssrcs: dict[int, int] = {}


def estimator() -> rate.RemoteBitrateEstimator:
    """aiortc's estimator with the loops taken out (what a receiver is given at hook
    time, before its first packet)."""
    return RemoteBitrateEstimator()


def install() -> None:
    """Make every aiortc video receiver created from now on use :class:`RemoteBitrate
    Estimator` (``aiortc.rtcrtpreceiver`` builds one per video transceiver, the
    server's sending slots included, which never receive a packet). aiortc's own keeps
    1,000 ``RateBucket`` objects per receiver for the connection's life: at the soak's
    50 rooms that was ~206,000 objects (~20 MiB), and each new peer connection made and
    dropped a few thousand more. The same figures, call for call (the tests). Idempotent;
    the one module attribute of aiortc this project replaces."""
    vars(rtcrtpreceiver)["RemoteBitrateEstimator"] = RemoteBitrateEstimator


class OveruseEstimator(rate.OveruseEstimator):
    """aiortc's Kalman filter; only the smallest recent frame period is found by one
    ``min()`` rather than a Python loop (the same value: a minimum is a minimum)."""

    def update_min_frame_period(self, ts_delta: float) -> float:
        history = self.ts_delta_hist
        if len(history) >= HISTORY:
            history.pop(0)
        smallest = min(min(history), ts_delta) if history else ts_delta
        history.append(ts_delta)
        return smallest


ZEROS = (0,) * 4096  # slices of it empty buckets (a window is 1,000 here)


class RateCounter:
    """The amount received in the last ``window_size`` milliseconds, in 1 ms buckets:
    ``aiortc.rate.RateCounter``'s state and arithmetic, buckets as two lists of ints."""

    __slots__ = ("_counts", "_origin_index", "_origin_ms", "_scale", "_total_count",
                 "_total_value", "_values", "_window_size")

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self._counts: list[int] = []
        self._values: list[int] = []
        self._origin_index = 0
        self._origin_ms: int | None = None
        self._total_count = 0
        self._total_value = 0
        self.reset()

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total_count += 1
        self._total_value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window_size = now_ms - self._origin_ms + 1
            if self._total_count > 0 and active_window_size > 1:
                return round(self._scale * self._total_value / active_window_size)
        return None

    def reset(self) -> None:
        self._counts = [0] * self._window_size
        self._values = [0] * self._window_size
        self._origin_index = 0
        self._origin_ms = None
        self._total_count = 0
        self._total_value = 0

    def buckets(self) -> list[tuple[int, int]]:
        """(count, value) per bucket, in aiortc's order: for comparing with it."""
        return list(zip(self._counts, self._values, strict=True))

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        steps = now_ms - self._window_size + 1 - self._origin_ms
        if steps <= 0:
            return
        size = self._window_size
        if steps >= size:  # the whole window went by: every bucket emptied
            self._counts = [0] * size
            self._values = [0] * size
            self._total_count = self._total_value = 0
        else:
            counts, values = self._counts, self._values
            start = self._origin_index
            end = start + steps
            if steps <= 8:  # a few buckets: cheaper one by one than by slices
                for i in range(start, end):
                    i %= size
                    self._total_count -= counts[i]
                    self._total_value -= values[i]
                    counts[i] = values[i] = 0
            elif end <= size:
                self._total_count -= sum(counts[start:end])
                self._total_value -= sum(values[start:end])
                counts[start:end] = values[start:end] = ZEROS[:steps]
            else:
                end -= size
                self._total_count -= sum(counts[start:]) + sum(counts[:end])
                self._total_value -= sum(values[start:]) + sum(values[:end])
                counts[start:] = values[start:] = ZEROS[:size - start]
                counts[:end] = values[:end] = ZEROS[:end]
        self._origin_index = (self._origin_index + steps) % size
        self._origin_ms += steps
