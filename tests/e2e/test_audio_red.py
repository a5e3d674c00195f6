"""RED (RFC 2198) between real Chromium pages through the server's media room (issue 13,
item 1): the publisher's Chromium sends RED once the answer puts it before Opus; a
subscriber that negotiated RED gets the packets as they are, one that did not (its
codec preferences leave RED out) gets the primary Opus blocks; both play the tone.

The room runs in this process (``rtc.room.MediaRoom``, the server's own), so that the
test can read what the forward path saw; the pages reach it through Playwright's
exposed function instead of socket.io (signaling is not what is tested here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from rtc.clock import SystemClock
from rtc.room import MediaRoom
from tests.rtc.clients import Events

pytestmark = pytest.mark.timeout(90)

# Non-trickle: the offer goes once gathering is complete, the answer has the server's
# candidates. A tone from WebAudio (no device needed).
NEGOTIATE = """
window.negotiate = async (pc) => {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") done();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
  const sdp = await window.offerToServer(pc.localDescription.sdp);
  await pc.setRemoteDescription({ type: "answer", sdp });
};
"""

PUBLISH = """async () => {
  const ctx = new AudioContext();
  const tone = ctx.createOscillator();
  const out = ctx.createMediaStreamDestination();
  tone.connect(out);
  tone.start();
  const pc = new RTCPeerConnection();
  pc.addTrack(out.stream.getAudioTracks()[0], out.stream);
  await window.negotiate(pc);
  window.pc = pc;
}"""

SUBSCRIBE = """async (withRed) => {
  const pc = new RTCPeerConnection();
  const t = pc.addTransceiver("audio", { direction: "recvonly" });
  if (!withRed) {
    const codecs = RTCRtpReceiver.getCapabilities("audio").codecs;
    t.setCodecPreferences(codecs.filter((c) => c.mimeType.toLowerCase() === "audio/opus"));
  }
  pc.addEventListener("track", (e) => {
    const audio = new Audio();
    audio.srcObject = new MediaStream([e.track]);
    audio.play();
    window.audio = audio;
  });
  await window.negotiate(pc);
  window.pc = pc;
  return pc.remoteDescription.sdp;
}"""

INBOUND = """async () => {
  let out = null;
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") out = {
      packets: s.packetsReceived || 0, samples: s.totalSamplesReceived || 0,
      energy: s.totalAudioEnergy || 0, concealed: s.concealedSamples || 0};
  });
  return out;
}"""


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    media = MediaRoom(Events(), clock=SystemClock())  # aioice's host addresses
    yield media
    await media.close()


async def page_for(browser: Browser, room: MediaRoom, person: str) -> Page:
    page = await browser.new_page()

    async def offer(sdp: str) -> str:
        return (await room.offer(person, sdp)).sdp

    await page.expose_function("offerToServer", offer)
    await page.add_script_tag(content=NEGOTIATE)
    return page


async def inbound(page: Page) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        stats: dict[str, Any] | None = await page.evaluate(INBOUND)
        if stats and stats["samples"] > 48000 and stats["energy"] > 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"no audio played: {stats}")
        await asyncio.sleep(0.3)


async def test_red_is_forwarded_to_who_negotiated_it_and_stripped_for_the_others(
    browser: Browser, room: MediaRoom
) -> None:
    room.set_publish("T", frozenset({"audio"}))
    teacher = await page_for(browser, room, "T")
    await teacher.evaluate(PUBLISH)
    red_page = await page_for(browser, room, "A")
    plain_page = await page_for(browser, room, "B")
    red_answer: str = await red_page.evaluate(SUBSCRIBE, True)
    plain_answer: str = await plain_page.evaluate(SUBSCRIBE, False)
    assert "a=rtpmap:63 red/48000/2" in red_answer
    assert "red/48000" not in plain_answer
    assert "a=fmtp:111 minptime=10;useinbandfec=1" in plain_answer

    heard = {"red": await inbound(red_page), "plain": await inbound(plain_page)}
    source = room._sources[("T", "audio")]
    # Every packet Chromium sent was RED, none malformed.
    assert source.red_in == source.packets_in > 50
    assert source.red_malformed == 0
    outs = {sink.out.red_pt if sink.out else "none" for sink in source._sinks}
    assert outs == {63, None}, outs  # one slot forwards RED, the other strips it
    for name, stats in heard.items():
        assert stats["packets"] > 50, (name, stats)
