"""What an RTP payload says, read without decoding: where a VP8 frame starts and whether
it is a keyframe (RFC 7741, RFC 6386), whether a depayloaded frame decodes on its own,
and the RTX wrapping of retransmissions (RFC 4588).

Pure: standard library only, no I/O, no aiortc. These run once per publisher packet on
the forward path, so they index bytes and never build objects.
"""

from __future__ import annotations

VP8_START_CODE = b"\x9d\x01\x2a"  # RFC 6386 9.1, after the 3-byte frame tag of a keyframe

# What a negotiated payload type carries (plain ints: compared once per packet). RED:
# redundant audio (RFC 2198, ``rtc/red.py``), Opus frames wrapped with earlier copies.
OTHER, MEDIA, RTX, RED = 0, 1, 2, 3


def payload_kind(mime_type: str) -> int:
    """MEDIA, RTX or RED for a negotiated codec's MIME type (``video/rtx`` is RTX,
    ``audio/red`` RED)."""
    mime = mime_type.lower()
    if mime.endswith("/rtx"):
        return RTX
    return RED if mime == "audio/red" else MEDIA


def vp8_frame_start(payload: bytes) -> tuple[bool, bool]:
    """(first packet of a frame, that frame is a keyframe) from one VP8 RTP payload: the
    payload descriptor's S bit with partition 0, then the frame tag's P bit (RFC 7741
    4.2 and 4.3; RFC 6386 9.1). Runs once per publisher packet."""
    if not payload:
        return False, False
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x07:
        return False, False
    pos = 1
    if b0 & 0x80:  # X: an extension byte says which optional fields follow
        if len(payload) < 2:
            return False, False
        x = payload[1]
        pos = 2
        if x & 0x80:  # I: picture ID, 7 or 15 bits
            if len(payload) <= pos:
                return False, False
            pos += 2 if payload[pos] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            pos += 1
        if x & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return True, len(payload) > pos and not payload[pos] & 0x01


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether a depayloaded frame starts a picture that decodes on its own."""
    name = codec_name.lower()
    if name == "vp8":
        # RFC 6386 9.1: P bit clear, then the start code 9d 01 2a.
        return len(data) >= 10 and not data[0] & 0x01 and data[3:6] == VP8_START_CODE
    if name == "h264":
        # Annex B (aiortc's depayloader adds start codes): any IDR slice or SPS.
        chunks = data.split(b"\x00\x00\x01")[1:]
        return any(chunk and chunk[0] & 0x1F in (5, 7) for chunk in chunks)
    return True  # audio frames stand alone


def unwrap_rtx(payload: bytes) -> tuple[int, bytes] | None:
    """(original sequence number, original payload) of an RTX packet's payload, or
    ``None`` for padding only (what browsers send to probe bandwidth)."""
    if len(payload) <= 2:
        return None
    return (payload[0] << 8) | payload[1], payload[2:]


def wrap_rtx(original_seq: int, payload: bytes) -> bytes:
    """The RTX payload that carries ``payload`` of packet ``original_seq``."""
    return bytes(((original_seq >> 8) & 0xFF, original_seq & 0xFF)) + payload
