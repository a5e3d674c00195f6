"""rtc.bitrate against aiortc's own estimator, side by side on the same inputs: every
return value and the state after every call are the same (pure, no clock, no sockets)."""

from __future__ import annotations

import random

import pytest
from aiortc import rate

from rtc import bitrate


def aiortc_state(counter: rate.RateCounter) -> tuple[object, ...]:
    return (
        [(b.count, b.value) for b in counter._buckets],
        (counter._total.count, counter._total.value),
        counter._origin_index,
        counter._origin_ms,
    )


def our_state(counter: bitrate.RateCounter) -> tuple[object, ...]:
    return (
        counter.buckets(),
        (counter._total_count, counter._total_value),
        counter._origin_index,
        counter._origin_ms,
    )


@pytest.mark.parametrize(
    ("steps_ms", "why"),
    [
        ([0, 0, 1, 2, 3], "packets within a few milliseconds: bucket by bucket"),
        ([0, 40, 40, 80, 120, 999, 1000, 1001], "video frames: emptied by slices"),
        ([0, 500, 1700, 1700, 1701], "the whole window went by"),
        ([0, 990, 1010, 2005], "a slice that wraps past the end of the buckets"),
        ([500, 400, 300, 1500, 1200], "the clock going backwards (wall time, in aiortc)"),
    ],
)
def test_rate_counter_is_aiortcs_call_for_call(steps_ms: list[int], why: str) -> None:
    theirs, ours = rate.RateCounter(1000, 8000), bitrate.RateCounter(1000, 8000)
    for n, t in enumerate(steps_ms):
        assert ours.rate(10_000 + t) == theirs.rate(10_000 + t), why
        theirs.add(1000 + n, 10_000 + t)
        ours.add(1000 + n, 10_000 + t)
        assert our_state(ours) == aiortc_state(theirs), why


def test_rate_counter_on_random_traffic_and_resets() -> None:
    rng = random.Random(7)
    for window in (1000, 50):
        theirs, ours = rate.RateCounter(window, 8000), bitrate.RateCounter(window, 8000)
        now = 1_000_000
        for _ in range(4000):
            now += rng.choice((0, 0, 1, 3, 7, 16, 33, 66, 250, 1400, -20, -900))
            op = rng.random()
            if op < 0.01:
                theirs.reset()
                ours.reset()
            elif op < 0.4:
                assert ours.rate(now) == theirs.rate(now)
            else:
                size = rng.randrange(20, 1300)
                theirs.add(size, now)
                ours.add(size, now)
            assert our_state(ours) == aiortc_state(theirs)


def test_min_frame_period_is_aiortcs() -> None:
    rng = random.Random(3)
    theirs, ours = rate.OveruseEstimator(), bitrate.OveruseEstimator()
    for _ in range(500):
        delta = rng.choice((33.3, 66.6, 0.0, 12.5, rng.uniform(0, 200)))
        assert ours.update_min_frame_period(delta) == theirs.update_min_frame_period(delta)
        assert ours.ts_delta_hist == theirs.ts_delta_hist


def traffic(seed: int, frames: int) -> list[tuple[int, int, int, int]]:
    """(arrival ms, abs-send-time, size, ssrc) of a video stream: frames of 1-5 packets
    at 15-30 fps, arrival jitter, a congested stretch (queueing delay growing, then
    draining), reordering and a burst after a stall."""
    rng = random.Random(seed)
    out = []
    send_ms = 0.0
    queue_ms = 0.0
    for f in range(frames):
        send_ms += rng.choice((33.3, 66.7, 33.3, 40.0))
        if 300 <= f < 360:
            queue_ms += rng.uniform(0, 6)  # the link is overused: delay builds
        elif queue_ms > 0:
            queue_ms = max(0.0, queue_ms - 4)
        stall = 400.0 if f == 500 else 0.0
        for p in range(rng.randrange(1, 6)):
            sent = send_ms + p * 0.3
            abs_send_time = int(sent / 1000 * (1 << 18)) & 0xFFFFFF  # 6.18 fixed point
            arrival = int(sent + 20 + queue_ms + stall + rng.uniform(0, 3))
            out.append((arrival, abs_send_time, rng.randrange(300, 1200), 0xABC))
    for i in range(5, len(out) - 1, 97):  # some packets reordered
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def estimator_state(e: rate.RemoteBitrateEstimator) -> tuple[object, ...]:
    return (
        e.estimator.E, e.estimator.offset(), e.estimator.slope, e.estimator.var_noise,
        e.estimator.avg_noise, e.estimator.num_of_deltas(), e.detector.state(),
        e.detector.threshold, e.rate_control.current_bitrate, e.incoming_bitrate.rate(
            e.last_update_ms or 0),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_estimator_sends_the_remb_aiortcs_would(seed: int) -> None:
    theirs, ours = rate.RemoteBitrateEstimator(), bitrate.estimator()
    assert isinstance(ours.incoming_bitrate, bitrate.RateCounter)
    sent = 0
    states = set()
    for arrival, abs_send_time, size, ssrc in traffic(seed, 900):
        a = theirs.add(arrival_time_ms=arrival, abs_send_time=abs_send_time,
                       payload_size=size, ssrc=ssrc)
        b = ours.add(arrival_time_ms=arrival, abs_send_time=abs_send_time,
                     payload_size=size, ssrc=ssrc)
        assert a == b
        sent += a is not None
        states.add(theirs.detector.state())
    assert estimator_state(ours) == estimator_state(theirs)
    assert sent > 10  # REMBs went out, and the congestion was seen
    assert rate.BandwidthUsage.OVERUSING in states


def test_our_estimator_has_aiortcs_fields_and_makes_no_buckets() -> None:
    theirs, ours = rate.RemoteBitrateEstimator(), bitrate.RemoteBitrateEstimator()
    replaced = {"incoming_bitrate": bitrate.RateCounter, "estimator": bitrate.OveruseEstimator}
    assert vars(ours).keys() == vars(theirs).keys()  # an upgrade adding one fails here
    for name, value in vars(theirs).items():
        mine = vars(ours)[name]
        assert isinstance(mine, replaced.get(name, type(value))), name
        if name not in replaced and not hasattr(value, "__dict__"):
            assert mine == value, name
        elif name not in replaced:
            assert vars(mine) == vars(value), name


async def test_installed_every_video_receiver_gets_it() -> None:
    from aiortc import RTCPeerConnection, rtcrtpreceiver

    before = vars(rtcrtpreceiver)["RemoteBitrateEstimator"]
    pc = RTCPeerConnection()
    try:
        bitrate.install()
        bitrate.install()  # idempotent
        video = pc.addTransceiver("video").receiver
        audio = pc.addTransceiver("audio").receiver
        estimator = video._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        assert isinstance(estimator, bitrate.RemoteBitrateEstimator)
        assert audio._RTCRtpReceiver__remote_bitrate_estimator is None  # type: ignore[attr-defined]
    finally:
        vars(rtcrtpreceiver)["RemoteBitrateEstimator"] = before
        await pc.close()
