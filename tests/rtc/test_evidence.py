"""Media evidence from real aiortc peers (issue 9, item 1): the server reads the RFC
6464 audio level from the packet headers (no decoder), counts video frames, and sees
the receiver reports of a receive-only subscriber confirm what it forwards."""

from __future__ import annotations

import asyncio
import fractions
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc.mediastreams import AudioStreamTrack
from av import AudioFrame

from rtc.contract import StreamInfo
from rtc.room import MediaRoom
from tests.rtc.clients import Client, Events, until


class ToneAudio(AudioStreamTrack):
    """A 440 Hz tone at about -10 dBov, or digital silence while ``muted`` (what a
    browser sends for a disabled microphone track)."""

    def __init__(self) -> None:
        super().__init__()
        self.muted = False
        self._phase = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # paces at 20 ms: silence, mono s16
        rate, n = frame.sample_rate, frame.samples
        if not self.muted:
            t = (np.arange(n) + self._phase) / rate
            wave = (0.3 * 32767 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
            tone = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
            tone.sample_rate = rate
            tone.pts = frame.pts
            tone.time_base = fractions.Fraction(1, rate)
            frame = tone
        self._phase += n
        return frame


def _offers_audio_level(sdp: str) -> bool:
    return "urn:ietf:params:rtp-hdrext:ssrc-audio-level" in sdp


async def test_voiced_then_muted_then_voiced_is_read_from_the_headers(
    room: MediaRoom, events: Events, client: Callable[..., Client]
) -> None:
    teacher = client("teacher")
    tone = ToneAudio()
    teacher.pc.addTrack(tone)
    room.set_publish("teacher", frozenset({"audio"}))
    learner = client("learner")
    await teacher.negotiate()
    assert _offers_audio_level(teacher.answers[-1]), "the answer must negotiate audio level"
    await learner.negotiate([StreamInfo("teacher", "audio")])
    await until(lambda: learner.frames("teacher", "audio") > 20, 10, "audio at the learner")

    def levels() -> list[Any]:
        return [s.audio_level for s in events.samples_of("teacher")]

    await until(lambda: len(levels()) >= 3, 6, "three samples")
    loud = len(levels())
    await asyncio.sleep(2.2)
    tone.muted = True
    await asyncio.sleep(0.5)  # the second in which it changed is mixed
    quiet = len(levels())
    await asyncio.sleep(2.5)
    tone.muted = False
    await asyncio.sleep(0.5)
    back = len(levels())
    await asyncio.sleep(2.0)

    voiced = [lvl for lvl in levels()[loud - 1 : quiet - 1] if lvl is not None]
    muted = [lvl for lvl in levels()[quiet + 1 : back - 1] if lvl is not None]
    again = [lvl for lvl in levels()[back + 1 :] if lvl is not None]
    assert voiced and all(lvl <= 30 for lvl in voiced), levels()
    assert muted and all(lvl == 127 for lvl in muted), levels()
    assert again and all(lvl <= 30 for lvl in again), levels()
    # Audio packets were counted every second, muted or not (50 packets a second).
    counts = [s.audio_packets for s in events.samples_of("teacher")[1:-1]]
    assert counts and min(counts) >= 30, counts


async def test_a_receive_only_learner_is_confirmed_by_its_receiver_reports(
    room: MediaRoom, events: Events, client: Callable[..., Client]
) -> None:
    teacher = client("teacher", video=True)
    room.set_publish("teacher", frozenset({"video"}))
    learner = client("learner")
    await teacher.negotiate()
    await learner.negotiate([StreamInfo("teacher", "video")])
    await until(lambda: learner.frames("teacher", "video") > 10, 10, "video at the learner")
    await asyncio.sleep(4.5)

    got = events.samples_of("learner")
    assert sum(s.forwarded_packets for s in got) > 0
    assert any(s.confirmed for s in got), "aiortc sends receiver reports about every second"
    assert all(s.audio_packets == 0 and s.video_packets == 0 for s in got)  # receive-only
    sent = events.samples_of("teacher")
    frames = [s.video_frames for s in sent[1:-1]]
    assert frames and max(frames) >= 15, frames  # PatternVideo runs at 30 fps
    assert sum(s.video_keyframes for s in sent) >= 1

    # The learner stops receiving: nothing more is forwarded, nothing confirmed.
    await learner.close()
    await asyncio.sleep(2.5)
    tail = events.samples_of("learner")[len(got) + 1 :]
    assert all(s.forwarded_packets == 0 or not s.confirmed for s in tail[1:])
