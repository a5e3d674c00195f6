"""One subscriber slot's outgoing RTP stream, as a pure type (LiveKit's ``RTPMunger``
with its ``DownTrack`` write step): publisher packets in, the subscriber's packets out
through an injected :class:`Egress`.

A slot lives as long as the subscriber's sender, but what feeds it changes: the
publisher reconnects (a new peer connection numbers its packets anew), the stage moves
to another person, packets are dropped when the subscriber falls behind. The subscriber
must see one continuous stream through all of it, or its jitter buffer and SRTP replay
window refuse what follows. So:

- after :meth:`RtpMunger.restart` nothing goes out until a packet that starts a
  keyframe; that packet *rebases* the stream: the next sequence number follows the last
  one used and the timestamp moves on by the wall time that passed (at least a frame);
- packets older than the one the slot (re)started from are refused (reordered leftovers
  of the previous feed);
- a NACK for an outgoing number maps back to the publisher's number, and the packet is
  resent from the source's cache as RTX (RFC 4588), because a repeat on the media SSRC
  would be refused by SRTP's replay check.

No I/O of its own and no clock: the caller passes ``now`` (wall seconds), the egress
(one ``send``: header, SRTP and the socket, :class:`rtc.forward.RtpOut` over
:mod:`rtc.wire` in the server, a list in the tests) and, for tests, a seeded
``random.Random`` for the random starting points RFC 3550 asks for. The rewrite and the
send are one method, :meth:`RtpMunger.forward`, because it runs once per publisher
packet per subscriber and a second Python call there would cost ~6 % of the path
(measured with ``bench/forward_path.py`` under callgrind).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from .payloads import wrap_rtx

HALF_SEQ = 0x8000
# Added to ``marker`` in :meth:`RtpMunger.forward`: send under the slot's RED payload
# type (a RED payload forwarded as is), not its media one. An index, not a flag
# argument, so that the hot path stays one tuple lookup (``Egress.pt_marker``).
RED_PT = 2
# (timestamp, marker, payload) of a publisher packet still cached, by its sequence number.
Cached = Callable[[int], tuple[int, int, bytes] | None]


class Egress(Protocol):
    """Where one slot's packets go (:class:`rtc.forward.RtpOut`)."""

    b0: int  # first header byte: V=2, X when there is an extension
    # The second header byte: media PT without and with the marker bit, then the same
    # for RED (the media PT again when the subscriber did not negotiate RED).
    pt_marker: tuple[int, int, int, int]
    pt: int
    red_pt: int | None  # RED negotiated by this subscriber (audio), or None
    ssrc: int
    rtx_pt: int | None
    rtx_ssrc: int
    rtx_seq: int
    extension: bytes
    errors: tuple[type[BaseException], ...]  # what a failed protect/send raises

    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, ext: bytes, payload: bytes, /
    ) -> Any:
        """Write the header, protect, send (rtc.wire: in C where it was built)."""
        ...


class RtpMunger:
    """Per subscriber slot: numbering, keyframe gate, send, NACK answers, counters."""

    def __init__(
        self, *, video: bool, clock_rate: int, frame_step: int, rng: random.Random | None = None
    ) -> None:
        self.out: Egress | None = None
        self.waiting_keyframe = True
        self.seq_offset = 0
        self.ts_offset = 0
        self.first_in = 0  # publisher sequence number the slot last (re)started from
        self.last_out = 0  # highest sequence number sent (meaningful once last_ts is set)
        self.last_ts: int | None = None  # timestamp of the last packet sent, and when
        self.last_time = 0.0
        self.frames_sent = 0
        self.packets_sent = 0
        self.octets_sent = 0
        self.frames_dropped = 0
        self.frames_thinned = 0  # non-reference frames left out at the reduced level
        self.nacks_answered = 0
        self.nacks_missed = 0
        self._video = video
        self._rate = clock_rate
        self._step = frame_step  # one frame in clock-rate units: the least a rebase moves on
        self._rng = rng or random.Random()

    def restart(self) -> None:
        """Upstream changed (new binding, new publisher, or the slot fell behind): send
        nothing until the next keyframe."""
        self.waiting_keyframe = True

    # -- the forward path (hot: once per publisher packet per subscriber)

    def forward(
        self, seq: int, ts: int, marker: int, payload: bytes, keystart: bool, now: float
    ) -> bool:
        """Send one publisher packet. Returns whether this slot waits for a keyframe.
        ``marker``: the packet's marker bit, plus :data:`RED_PT` when ``payload`` is a
        RED payload for a subscriber that negotiated RED (audio only)."""
        out = self.out
        if out is None:
            return False
        if self.waiting_keyframe:
            if not keystart:
                if marker:
                    self.frames_dropped += 1
                return True
            self._rebase(seq, ts, now)
        elif (seq - self.first_in) & 0xFFFF >= 0x8000:  # HALF_SEQ, a constant here (hot)
            return False  # older than where this slot (re)started
        o = (seq + self.seq_offset) & 0xFFFF
        t = (ts + self.ts_offset) & 0xFFFFFFFF
        try:
            out.send(out.b0, out.pt_marker[marker], o, t, out.ssrc, out.extension, payload)
        except BlockingIOError:
            # The kernel's send buffer towards this subscriber is full: it is behind (the
            # buffer is its bounded queue). Drop; video waits for a keyframe, which the
            # source asks for, coalesced with everyone else's requests.
            self.frames_dropped += 1
            if self._video:
                self.waiting_keyframe = True
                return True
            return False
        except out.errors:
            return False  # SRTP refused an old index, or the socket is gone
        # Only what left counts: a rebase after a drop continues from here, so the
        # subscriber sees no gap in the sequence numbers (nothing it could NACK).
        if (o - self.last_out) & 0xFFFF < 0x8000:
            self.last_out = o
        self.last_ts, self.last_time = t, now
        self.packets_sent += 1
        self.octets_sent += len(payload)
        if marker or not self._video:
            self.frames_sent += 1
        return False

    def forward_reduced(
        self, seq: int, ts: int, marker: int, payload: bytes, keystart: bool, now: float
    ) -> bool:
        """:meth:`forward` for a subscriber at the *reduced* level (rtc/quality.py): the
        packets of VP8 frames that no other frame references (the payload descriptor's N
        bit, RFC 7741 4.2) are left out, and the numbers after them close up, so the
        subscriber sees no gap it would NACK. Installed per slot as the instance's
        ``forward`` (``ForwardTrack.set_level``), so that full-level slots pay nothing."""
        if payload and payload[0] & 0x20 and not self.waiting_keyframe:
            self.seq_offset = (self.seq_offset - 1) & 0xFFFF
            if marker:
                self.frames_thinned += 1
            return False
        return RtpMunger.forward(self, seq, ts, marker, payload, keystart, now)

    def _rebase(self, seq: int, ts: int, now: float) -> None:
        """Continue this subscriber's sequence numbers and timestamps from a new start."""
        if self.last_ts is None:  # the first packet ever: random starting points
            nxt = self._rng.randint(0, 0x7FFF)
            t = self._rng.randint(0, 0xFFFFFFFF)
        else:
            nxt = self.last_out + 1
            t = self.last_ts + max(self._step, int((now - self.last_time) * self._rate))
        self.seq_offset = (nxt - seq) & 0xFFFF
        self.last_out = (nxt - 1) & 0xFFFF
        self.ts_offset = (t - ts) & 0xFFFFFFFF
        self.first_in = seq
        self.waiting_keyframe = False

    # -- retransmissions

    def original(self, out_seq: int) -> int | None:
        """The publisher's sequence number behind an outgoing one (for a NACK), or
        ``None`` when it belongs to an earlier feed or the slot waits for a keyframe."""
        if self.waiting_keyframe:
            return None
        seq = (out_seq - self.seq_offset) & 0xFFFF
        if (seq - self.first_in) & 0xFFFF >= HALF_SEQ:
            return None
        return seq

    def answer_nack(self, lost: list[int], cached: Cached) -> None:
        """Resend what the subscriber reports lost, from the source's packet cache
        (``cached``), as RTX."""
        out = self.out
        if out is None or out.rtx_pt is None or self.waiting_keyframe:
            self.nacks_missed += len(lost)
            return
        for o in lost:
            seq = self.original(o)
            packet = None if seq is None else cached(seq)
            if packet is None:
                self.nacks_missed += 1
                continue
            ts, marker, payload = packet
            t = (ts + self.ts_offset) & 0xFFFFFFFF
            rtx_seq = out.rtx_seq
            out.rtx_seq = (rtx_seq + 1) & 0xFFFF
            try:
                out.send(
                    out.b0, out.rtx_pt | (marker << 7), rtx_seq, t, out.rtx_ssrc, out.extension,
                    wrap_rtx(o, payload),
                )
            except out.errors:  # a full socket (an OSError) included: it is behind
                continue
            self.nacks_answered += 1


def forward_all(
    sinks: tuple[RtpMunger, ...], seq: int, ts: int, marker: int, payload: bytes,
    keystart: bool, now: float,
) -> bool:
    """One publisher packet to every slot of a source: :meth:`RtpMunger.forward` on each.
    Whether any of them waits for a keyframe. The pure-Python twin of
    ``rtc._wire.forward_all``, which does the same for all slots in one C call
    (:mod:`rtc.wire` picks one; tests/rtc/test_wire.py compares them)."""
    waiting = False
    for sink in sinks:
        if sink.forward(seq, ts, marker, payload, keystart, now):
            waiting = True
    return waiting
