"""What an H.264 RTP payload says, read without decoding (RFC 6184, packetization-mode 1),
and which H.264 the server negotiates.

The forward path needs two facts per publisher packet, as it does for VP8
(:func:`rtc.payloads.vp8_frame_start`): does this packet start a picture, and does that
picture decode on its own (an IDR access unit)? A new subscriber, or one that dropped
packets, is let in only at such a packet (the keyframe gate, :mod:`rtc.rtp_munger`).

Packet shapes a browser sends in packetization-mode 1:

* a single NAL unit (types 1–23): the NAL header is the payload's first byte;
* STAP-A (24): several NAL units, each after a 16-bit size. libwebrtc puts SPS + PPS
  (+ the IDR slice when small) in one STAP-A before every IDR;
* FU-A (28): one NAL unit cut in pieces; the FU header's S bit marks the first piece,
  and its low 5 bits are the cut NAL unit's type.

A packet *starts a picture* when its first NAL unit is an access unit delimiter (9),
SEI (6), SPS (7), PPS (8), or a slice (1, 5) whose ``first_mb_in_slice`` is 0 (the
slice header's first Exp-Golomb number: 0 is the single bit ``1``, so the byte after
the NAL header has its top bit set). It *starts an IDR picture* when it holds an SPS
or PPS (libwebrtc sends parameter sets only right before an IDR, and a decoder needs
them first) or begins an IDR slice (5) at macroblock 0: the gate opens there, so a
subscriber never gets the second slice of an IDR without its first.

Pure: standard library only, no I/O. Runs once per publisher packet, so it indexes
bytes, builds nothing, and never raises: a short or malformed payload is "not a start".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SLICE, IDR, SEI, SPS, PPS, AUD = 1, 5, 6, 7, 8, 9
STAP_A, FU_A = 24, 28
_STARTS = frozenset({SEI, SPS, PPS, AUD})  # a picture's leading NAL units (no slice)
_KEYS = frozenset({SPS, PPS})

# Constrained Baseline (profile_idc 0x42 = 66, constraint_set1 set): what every WebRTC
# H.264 encoder and decoder supports, hardware ones included; level 3.1 (1f) covers
# 1280×720 at 30 fps, more than the lecture's 640×480.
PROFILE_LEVEL_ID = "42e01f"


def _nal_start(nal_type: int, next_byte: int) -> tuple[bool, bool]:
    """(starts a picture, starts an IDR picture) for a NAL unit of ``nal_type`` whose
    first byte after the header is ``next_byte`` (-1 when there is none)."""
    if nal_type in (SLICE, IDR):
        start = next_byte >= 0x80  # first_mb_in_slice == 0
        return start, start and nal_type == IDR
    if nal_type in _STARTS:
        return True, nal_type in _KEYS
    return False, False


def frame_start(payload: bytes) -> tuple[bool, bool]:
    """(first packet of a picture, that picture is an IDR) from one H.264 RTP payload."""
    n = len(payload)
    if n < 2 or payload[0] & 0x80:  # too short, or the forbidden_zero_bit is set
        return False, False
    nal_type = payload[0] & 0x1F
    if nal_type < STAP_A:
        return _nal_start(nal_type, payload[1])
    if nal_type == FU_A:
        fu = payload[1]
        if not fu & 0x80:  # not the first fragment
            return False, False
        return _nal_start(fu & 0x1F, payload[2] if n > 2 else -1)
    if nal_type == STAP_A:
        pos = 1
        start = key = False
        first = True
        while pos + 2 < n:  # a size and at least the NAL header
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if size == 0 or pos + size > n:
                break  # malformed: what was read so far stands
            t = payload[pos] & 0x1F
            s, k = _nal_start(t, payload[pos + 1] if size > 1 else -1)
            if first:
                start = s
                first = False
            key = key or k
            pos += size
        return start, start and key
    return False, False  # STAP-B, MTAP, FU-B: not sent in packetization-mode 1


def is_constrained_baseline(parameters: Mapping[str, Any]) -> bool:
    """Whether an ``a=fmtp`` of H.264 is what the server forwards: Constrained Baseline
    (profile_idc 0x42 with constraint_set1, as ``42e0xx`` or ``42c0xx``) in
    packetization-mode 1. Unreadable parameters are not."""
    if str(parameters.get("packetization-mode", "0")) != "1":
        return False
    pli = str(parameters.get("profile-level-id", "")).lower()
    if len(pli) != 6:
        return False
    try:
        profile_idc, constraints = int(pli[0:2], 16), int(pli[2:4], 16)
    except ValueError:
        return False
    return profile_idc == 0x42 and bool(constraints & 0x40)


def publish_codec(offered: list[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The video codec the server receives on a browser's camera line, from the offer's
    codecs in its order (``(mime type, fmtp)``): ``"video/h264"`` when the browser put
    Constrained Baseline H.264 first (the client asked for it with
    ``setCodecPreferences``: ``&codec=h264``), else ``"video/vp8"`` when offered (every
    browser's default order puts VP8 first, so today's behaviour stays), else H.264 when
    offered (a phone without VP8 publishes rather than being refused), else ``None``."""
    media = [
        (mime.lower(), params)
        for mime, params in offered
        if mime.lower().split("/")[-1] not in ("rtx", "red", "ulpfec", "flexfec-03")
    ]
    h264 = [i for i, (mime, p) in enumerate(media) if mime == "video/h264"
            and is_constrained_baseline(p)]
    if h264 and h264[0] == 0:
        return "video/h264"
    if any(mime == "video/vp8" for mime, _ in media):
        return "video/vp8"
    return "video/h264" if h264 else None
