"""Server-side WebRTC: one aiortc peer connection per browser, encoded forwarding.

The signaling layer uses :class:`rtc.room.MediaRoom` and the types in
:mod:`rtc.contract`; :mod:`rtc.forward` holds every aiortc internal we rely on.
"""
