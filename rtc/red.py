"""RTP payloads for redundant audio (RED, RFC 2198), read and rewritten without decoding.

A browser that negotiated ``red/48000/2`` with ``fmtp 111/111`` sends each Opus frame
together with copies of the previous one or two, so that a subscriber on a lossy phone
network recovers a lost packet from the next one. The payload is::

    F=1 | block PT (7) | timestamp offset (14) | block length (10)    one per redundant
    ...                                                               block (4 bytes)
    F=0 | block PT (7)                                                the primary (1 byte)
    redundant block data, in header order, then the primary block's data

The server forwards RED payloads unchanged to subscribers that negotiated RED, and the
primary block alone (a plain Opus payload under the Opus payload type) to the others
and to its own receiver (the jitter buffer, the recorder's taps).

Pure: standard library only, no I/O, no aiortc. Malformed input is answered with
``None``, never an exception: this runs on the forward path once per publisher packet.
"""

from __future__ import annotations

# (block payload type, timestamp offset, data) of one block; the primary's offset is 0.
Block = tuple[int, int, bytes]

MAX_BLOCKS = 16  # far above what any sender uses (Chrome: up to 2 redundant): a bound


def blocks(payload: bytes) -> list[Block] | None:
    """Every block of a RED payload, oldest first, the primary last; ``None`` when the
    headers run past the payload, the lengths add up to more than it holds, or there
    are more than :data:`MAX_BLOCKS` blocks."""
    headers: list[tuple[int, int, int]] = []  # (pt, offset, length) of redundant blocks
    pos = 0
    size = len(payload)
    while True:
        if pos >= size:
            return None  # no primary header
        b0 = payload[pos]
        if not b0 & 0x80:  # F=0: the primary's one-byte header ends the list
            primary_pt = b0 & 0x7F
            pos += 1
            break
        if pos + 4 > size or len(headers) >= MAX_BLOCKS:
            return None
        b1, b2, b3 = payload[pos + 1], payload[pos + 2], payload[pos + 3]
        offset = (b1 << 6) | (b2 >> 2)
        length = ((b2 & 0x03) << 8) | b3
        headers.append((b0 & 0x7F, offset, length))
        pos += 4
    out: list[Block] = []
    for pt, offset, length in headers:
        if pos + length > size:
            return None
        out.append((pt, offset, payload[pos : pos + length]))
        pos += length
    out.append((primary_pt, 0, payload[pos:]))
    return out


def primary(payload: bytes) -> tuple[int, bytes] | None:
    """(payload type, data) of the primary block: what a subscriber without RED gets.
    ``None`` when the payload is malformed (see :func:`blocks`). Skips the redundant
    data without copying it: one slice per packet."""
    pos = 0
    skip = 0
    size = len(payload)
    count = 0
    while pos < size:
        b0 = payload[pos]
        if not b0 & 0x80:
            start = pos + 1 + skip
            if start > size:
                return None
            return b0 & 0x7F, payload[start:]
        if pos + 4 > size or count >= MAX_BLOCKS:
            return None
        skip += ((payload[pos + 2] & 0x03) << 8) | payload[pos + 3]
        pos += 4
        count += 1
    return None


def retag(payload: bytes, old_pt: int, new_pt: int) -> bytes | None:
    """The same RED payload with every block header that names ``old_pt`` naming
    ``new_pt``: for a subscriber whose Opus payload type differs from the publisher's
    (each answer echoes its own browser's numbers). ``None`` when malformed."""
    if blocks(payload) is None:
        return None
    out = bytearray(payload)
    pos = 0
    while True:
        b0 = out[pos]
        if (b0 & 0x7F) == old_pt:
            out[pos] = (b0 & 0x80) | (new_pt & 0x7F)
        if not b0 & 0x80:
            return bytes(out)
        pos += 4


def encode(redundant: list[Block], primary_block: tuple[int, bytes]) -> bytes:
    """A RED payload from redundant blocks (oldest first) and the primary (pt, data):
    the inverse of :func:`blocks`, for tests and tools. Offsets must fit 14 bits and
    lengths 10 bits (``ValueError`` otherwise: this never runs on the forward path)."""
    head = bytearray()
    body = bytearray()
    for pt, offset, data in redundant:
        if not 0 <= offset < 1 << 14 or len(data) >= 1 << 10 or not 0 <= pt < 128:
            raise ValueError("a RED block's offset, length or payload type does not fit")
        head += bytes(
            (0x80 | pt, offset >> 6, ((offset & 0x3F) << 2) | (len(data) >> 8), len(data) & 0xFF)
        )
        body += data
    pt, data = primary_block
    if not 0 <= pt < 128:
        raise ValueError("a RED block's payload type does not fit")
    head.append(pt)
    return bytes(head + body + data)


def fmtp_blocks(parameters: object) -> list[int] | None:
    """The payload types a ``red`` fmtp names (``"111/111"`` → [111, 111]), from
    aiortc's parsed parameters (a dict whose one key is that text), or ``None``."""
    if not isinstance(parameters, dict) or len(parameters) != 1:
        return None
    (text,) = parameters
    if not isinstance(text, str) or parameters[text] is not None:
        return None
    try:
        pts = [int(p) for p in text.split("/")]
    except ValueError:
        return None
    return pts if pts and all(0 <= p < 128 for p in pts) else None
