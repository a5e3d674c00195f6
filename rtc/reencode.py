"""Benchmark-only baseline: aiortc's stock relay, one encoder per subscriber.

``OPENTUTOR_MEDIA_MODE=reencode`` (read here, once, and nowhere else) makes the server
do what aiortc does out of the box: the publisher's receiver decodes, a ``MediaRelay``
hands each decoded frame to every subscriber's ``RTCRtpSender``, and each sender
encodes it again. ``python -m bench.fanout`` sets it to measure the baseline that the
forward path (the default, ``forward``) is compared with; nothing else should. It is
not a CLI flag on purpose: nobody should run a lecture like this.
"""

from __future__ import annotations

import os
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay

MODE_ENV = "OPENTUTOR_MEDIA_MODE"
MODES = ("forward", "reencode")


def _mode() -> str:
    mode = os.environ.get(MODE_ENV, "forward").strip() or "forward"
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV} must be one of {MODES}, not {mode!r}")
    return mode


REENCODE = _mode() == "reencode"


class Feed:
    """One published track decoded once and relayed to per-subscriber encoders."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self._relay = MediaRelay()

    def subscribe(self) -> MediaStreamTrack:
        proxy: Any = self._relay.subscribe(self.track)  # aiortc's default: buffered
        return proxy  # type: ignore[no-any-return]
