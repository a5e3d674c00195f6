"""What a forwarded packet becomes on the wire for one subscriber: RTP header written,
SRTP-protected, sent on the subscriber's ICE socket. One call per packet and slot.

Two implementations with one interface (:class:`Wire`), which must put the same bytes
on the wire (tests/rtc/test_wire.py compares them on recorded packet sequences):

* :class:`rtc._wire.Link` (``rtc/_wire.c``), the default when it was built: the header
  written into a stack buffer next to the payload, protected in place by pylibsrtp's own
  ``srtp_protect`` (called through its address, on aiortc's session for the transport),
  ``sendto(2)`` with ``MSG_DONTWAIT``.
* :class:`PyLink`, the pure-Python twin: ``struct`` header, the same session's
  ``protect`` through cffi, ``socket.sendto``. Used when the extension was not built (no
  compiler), when ``OPENTUTOR_NATIVE=0``, and for transports the C path does not handle
  (a TURN relay, whose datagrams aioice wraps itself).

Both protect with the one SRTP session aiortc made for the transport (pylibsrtp's),
so whichever sends, the rollover counter and replay window are the transport's own and
no keystream is used twice.

Numbering (which sequence number and timestamp) is decided before, in
:mod:`rtc.rtp_munger`; this module only writes it.

Per publisher packet, :data:`forward_all` sends to every slot of a source: in C
(``rtc._wire.forward_all``, one call for all slots: numbering by the offsets the munger
set, header, SRTP, ``sendto``), the munger's fields then living in the C base
:data:`SlotState` that the server's slot class mixes in; or in Python,
:func:`rtc.rtp_munger.forward_all`, ``forward`` on each. The C loop hands a slot back
to its Python ``forward`` whenever it is not in the steady state (a rebase at a
keyframe, the reduced level, a Python link), so both give the same result.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi, lib

from . import rtp_munger

try:
    from . import _wire
except ImportError:  # not built: no compiler or no Python headers at install time
    _wire = None  # type: ignore[assignment]

HEADER = struct.Struct("!BBHII")


class Wire(Protocol):
    """One subscriber transport's egress (both implementations)."""

    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> Any:
        """Write, protect and send one RTP packet. A full kernel buffer raises
        BlockingIOError (the packet is dropped for this subscriber); a refused protect
        or a gone socket raise one of :data:`ERRORS`."""
        ...

    def protect(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> bytes:
        """What :meth:`send` would put on the wire, not sent."""
        ...

    def close(self) -> None:
        """The transport is gone: later sends raise one of :data:`ERRORS`."""
        ...


def native_enabled() -> bool:
    """Whether new links use the C path: built, callable, and not turned off with
    ``OPENTUTOR_NATIVE=0`` (read per link, so a test can run both in one process)."""
    return (_wire is not None and _PROTECT != 0
            and os.environ.get("OPENTUTOR_NATIVE", "1") != "0")


def native_built() -> bool:
    return _wire is not None and _PROTECT != 0


class PyLink:
    """The pure-Python twin of :class:`rtc._wire.Link`."""

    def __init__(
        self, protect: Callable[[bytes], bytes], sendto: Callable[[bytes, Any], Any], addr: Any
    ) -> None:
        self._protect = protect
        self._sendto = sendto
        self.addr = addr

    def protect(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> bytes:
        return self._protect(HEADER.pack(b0, b1, seq, ts, ssrc) + extension + payload)

    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> Any:
        return self._sendto(
            self._protect(HEADER.pack(b0, b1, seq, ts, ssrc) + extension + payload), self.addr
        )

    def close(self) -> None:
        """Nothing to do: the socket is aioice's, and a send on it once closed raises."""


def native_link(session: Session, fd: int, addr: Any) -> Wire | None:
    """A C link sending on socket ``fd`` (duplicated: the link keeps the socket open
    while it lives) to ``addr``, protecting with ``session`` (a pylibsrtp session, kept
    alive by the link); ``None`` when the C path is off or cannot take it (an address
    that is not a numeric (host, port))."""
    if not native_enabled():
        return None
    try:
        link: Wire = _wire.Link(_PROTECT, session_address(session), session, fd,
                                tuple(addr[:2]))
    except (ValueError, TypeError, OSError, AttributeError):
        return None
    return link


def outbound_session(profile: int, key: bytes) -> Session:
    """An outbound SRTP session as aiortc's ``RTCDtlsTransport._setup_srtp`` makes one
    per transport (any outbound SSRC, repeats allowed, a 1024-packet window): for tests
    and benches that need one without a DTLS handshake."""
    policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return Session(policy)


def session_address(session: Session) -> int:
    """The ``srtp_t`` of a pylibsrtp session (internal: ``Session._srtp``, the
    ``srtp_t *`` it was created into)."""
    return int(ffi.cast("uintptr_t", session._srtp[0]))


# pylibsrtp's srtp_protect as a C address, if it has libsrtp 2's signature (context,
# packet protected in place, in/out length), which rtc/_wire.c calls; a pylibsrtp with
# another libsrtp leaves the C path off (0) rather than call it wrongly.
_SIGNATURE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"
_protect_fn = ffi.addressof(lib, "srtp_protect")
_PROTECT = (int(ffi.cast("uintptr_t", _protect_fn))
            if ffi.typeof(_protect_fn).cname == _SIGNATURE else 0)


# What a failed protect or send raises, on either path (besides BlockingIOError).
ERRORS: tuple[type[BaseException], ...] = (OSError,) + (
    (_wire.SrtpError,) if _wire is not None else ()
)


# -- one call per publisher packet for all of a source's slots

# The C path decides at import (``OPENTUTOR_NATIVE=0``: all Python, the benches'
# "python" baseline; ``OPENTUTOR_FORWARD_ALL=0``: a C send per slot from Python's loop,
# the previous path, the benches' "per-slot" baseline).
FORWARD_ALL_NATIVE = native_enabled() and os.environ.get("OPENTUTOR_FORWARD_ALL", "1") != "0"
if TYPE_CHECKING:

    class SlotState:
        """``rtc._wire.SlotState`` (the numbering fields in C) or ``object``."""

else:
    SlotState = _wire.SlotState if FORWARD_ALL_NATIVE else object
# (sinks, seq, ts, marker, payload, keystart, now) -> whether any slot waits for a keyframe
ForwardAll = Callable[[tuple[Any, ...], int, int, int, bytes, bool, float], bool]
forward_all: ForwardAll = (
    _wire.forward_all if FORWARD_ALL_NATIVE else rtp_munger.forward_all
)
