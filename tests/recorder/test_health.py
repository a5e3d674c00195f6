"""recorder/presence/health.py alone: seconds in, the Now page's words out."""

from __future__ import annotations

from recorder.presence.evidence import Second, Thresholds
from recorder.presence.health import WINDOW_S, LiveRing, health

T = Thresholds()  # voiced louder than -50 dBov, live video from 5 fps
NOW = 1_000


def talking(level: int = 20, frames: int = 15) -> Second:
    return Second(audio_packets=50, audio_bytes=4000, audio_level=level, video_packets=40,
                  video_bytes=60_000, video_frames=frames, forwarded_packets=80,
                  forwarded_bytes=50_000, confirmed=True, rr_loss=0.02, rr_jitter_ms=4.0)


def seconds(s: Second, n: int = WINDOW_S) -> list[tuple[int, Second]]:
    return [(NOW - 1 - i, s) for i in range(n)]


def test_voiced_with_live_video_and_rates() -> None:
    h = health(seconds(talking()), NOW, T)
    assert (h.audio, h.video, h.fps, h.receiving, h.seconds) == ("voiced", "live", 15.0, True, 10)
    assert h.loss_pct == 2.0 and h.jitter_ms == 4.0
    assert h.kbps_in == 512.0  # 64,000 bytes a second
    assert h.kbps_out == 400.0


def test_muted_microphone_and_camera_off() -> None:
    h = health(seconds(talking(level=127, frames=1)), NOW, T)
    assert (h.audio, h.video) == ("silent", "camera_off")


def test_nothing_sent_nothing_known() -> None:
    h = health(seconds(Second()), NOW, T)
    assert (h.audio, h.video, h.receiving, h.loss_pct) == ("off", "camera_off", False, None)
    empty = health([], NOW, T)
    assert (empty.seconds, empty.audio, empty.kbps_in) == (0, "off", 0.0)


def test_audio_without_level_headers_is_unknown() -> None:
    h = health(seconds(Second(audio_packets=50, audio_level=None)), NOW, T)
    assert h.audio == "unknown"


def test_only_the_window_counts() -> None:
    old = [(NOW - WINDOW_S - 5, talking())]  # voiced, but fifteen seconds ago
    recent = [(NOW - 1, talking(level=127, frames=0))]
    h = health(old + recent, NOW, T)
    assert (h.audio, h.video, h.seconds) == ("silent", "camera_off", 1)


def test_one_voiced_second_is_enough_but_the_threshold_decides() -> None:
    quiet = [*seconds(talking(level=90), 9), (NOW - 10, talking(level=40))]
    assert health(quiet, NOW, T).audio == "voiced"
    assert health(quiet, NOW, Thresholds(voiced_dbov=-30)).audio == "silent"


def test_ring_is_bounded_and_forgets() -> None:
    ring = LiveRing(window_s=3)
    for i in range(100):
        ring.add("s1", "t1", i, Second(audio_packets=i))
    assert [at for at, _ in ring.samples("s1", "t1")] == [97, 98, 99]
    ring.joined("s1", "t1", 5.0)
    ring.joined("s1", "t1", 9.0)  # a replacing tab: the first join stays
    assert ring.joined_at("s1", "t1") == 5.0
    ring.left("s1", "t1")
    assert ring.joined_at("s1", "t1") is None and ring.samples("s1", "t1") == []
    ring.add("s1", "l1", 1, Second())
    ring.add("s2", "l2", 1, Second())
    ring.keep_only(["s2"])
    assert ring.sessions == {"s2"}
    ring.forget("s2")
    assert ring.sessions == frozenset()
