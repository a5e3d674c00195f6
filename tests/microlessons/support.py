"""A small H.264/AAC MP4 made on the spot (PyAV), standing in for a recording's export
where a test needs a lesson file but not a recorded session."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np


def make_mp4(path: Path, seconds: float = 12.0, fps: int = 15, keyframe_s: int = 2) -> None:
    out = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    video.codec_context.options = {"preset": "ultrafast", "crf": "23",
                                   "g": str(fps * keyframe_s)}
    audio = out.add_stream("aac", rate=48000)
    audio.codec_context.layout = "mono"
    rng = np.random.default_rng(1)
    for i in range(int(seconds * fps)):
        # Noise, so that the file has a real bitrate (bytes spread over its time).
        image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
        out.mux(video.encode(frame))
    for start in range(0, int(seconds * 48000), 1024):
        wave = (np.sin(np.arange(start, start + 1024) / 10) * 0.2).astype(np.float32)
        sound = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="flt", layout="mono")
        sound.sample_rate, sound.pts = 48000, start
        sound.time_base = fractions.Fraction(1, 48000)
        out.mux(audio.encode(sound))
    out.mux(video.encode(None))
    out.mux(audio.encode(None))
    out.close()
