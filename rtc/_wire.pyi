# Types of the C extension rtc/_wire.c (see rtc/wire.py).
from typing import Any

class SrtpError(Exception): ...

class Link:
    def __init__(
        self, protect: int, session: int, owner: object, fd: int, addr: tuple[Any, ...]
    ) -> None: ...
    def close(self) -> None: ...
    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> int: ...
    def protect(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, extension: bytes, payload: bytes, /
    ) -> bytes: ...

class SlotState:
    """Numbering fields of a slot, in C (a base class; see rtc/wire.py)."""

def forward_all(
    sinks: tuple[Any, ...], seq: int, ts: int, marker: int, payload: bytes, keystart: bool,
    now: float, /,
) -> bool: ...
