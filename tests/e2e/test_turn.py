"""TURN in real Chromium (issue 13, item 3), and audio first (item 1).

A real coturn (``use-auth-secret``) on loopback; the server started with
``--turn-url``/``--turn-secret`` hands each join time-limited credentials; both
browsers open their links with ``&relay=1`` (``iceTransportPolicy: "relay"``), so media
can flow only through coturn, over UDP or, as on networks that block UDP, over TCP. We
check from ``getStats()`` that the selected pair's local candidate is a relay of that
protocol and video frames are decoded, from coturn's log that it allocated, and from
the session record that the learner's minutes of receiving count. On the same pages:
the server's answer asks Chromium for Opus in-band FEC and accepts its RED.

(``fecPacketsReceived`` counts Opus in-band FEC that NetEq parsed; Chromium's encoder
adds it only once receiver reports show loss, so on loopback it stays 0: not asserted.)
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.e2e.conftest import CHROMIUM_FLAGS, SKIP_DEVICE_CHECK, serving
from tests.e2e.test_evidence import covered
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live, wait_video_flowing
from tests.support import ONE_TO_ONE
from tests.turn_support import TurnServer

pytestmark = pytest.mark.timeout(180)

# A test-side hook, not the client's: keeps each RTCPeerConnection the page makes so
# that getStats() and the negotiated SDP can be read.
KEEP_PCS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

STATS = """async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = byId.get(s.selectedCandidatePairId);
    }
  });
  const local = pair ? byId.get(pair.localCandidateId) : null;
  const codec = (s) => (byId.get(s.codecId) || {}).mimeType || null;
  const audioIn = [], audioOut = [];
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") audioIn.push({
      codec: codec(s), packets: s.packetsReceived || 0,
      fec: s.fecPacketsReceived || 0, fecDiscarded: s.fecPacketsDiscarded || 0});
    if (s.type === "outbound-rtp" && s.kind === "audio") audioOut.push({
      codec: codec(s), packets: s.packetsSent || 0});
  });
  return {
    config: pc.getConfiguration().iceTransportPolicy,
    local: local ? {type: local.candidateType, relayProtocol: local.relayProtocol || null,
                    protocol: local.protocol} : null,
    audioIn, audioOut,
    answer: pc.remoteDescription ? pc.remoteDescription.sdp : "",
  };
}"""


async def stats(page: Page) -> dict[str, Any]:
    out: dict[str, Any] = await page.evaluate(STATS)
    return out


def audio_sections(sdp: str) -> list[str]:
    return [m for m in sdp.split("\r\nm=")[1:] if m.startswith("audio")]


@contextlib.asynccontextmanager
async def trusting(spki: str) -> AsyncIterator[Browser]:
    """Chromium as the ``browser`` fixture's, trusting the test relay's self-signed
    certificate (by its public key: nothing else is let through), which a real
    deployment's publicly valid certificate needs no flag for (docs/turn.md)."""
    executable = shutil.which("chromium") or "chromium"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={spki}"])
        new_context = launched.new_context

        async def without_check(**options: Any) -> BrowserContext:
            context = await new_context(**options)
            await context.add_init_script(SKIP_DEVICE_CHECK)
            return context

        launched.new_context = without_check  # type: ignore[method-assign]
        try:
            yield launched
        finally:
            await launched.close()


# udp and tcp: turn: URLs; tls: turns: (TURN over TLS over TCP), what a school network
# that lets only HTTPS out leaves (on 443 in production).
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_media_flows_through_coturn_only_and_the_minutes_count(
    turn_server: TurnServer, browser: Browser, tmp_path: Path, artifacts: Path, transport: str
) -> None:
    if transport == "tls":
        async with trusting(turn_server.tls_spki) as tls_browser:
            await through_coturn(turn_server, tls_browser, tmp_path, artifacts, transport)
    else:
        await through_coturn(turn_server, browser, tmp_path, artifacts, transport)


async def through_coturn(
    turn_server: TurnServer, browser: Browser, tmp_path: Path, artifacts: Path, transport: str
) -> None:
    url = {"udp": turn_server.udp_url, "tcp": turn_server.tcp_url,
           "tls": turn_server.tls_url}[transport]
    allocations = turn_server.allocations()
    with serving(tmp_path, "--turn-url", url, "--turn-secret", turn_server.secret) as server:
        created = await api(server.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        session_id = created["session_id"]
        teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
        learner_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        try:
            for ctx in (teacher_ctx, learner_ctx):
                await ctx.add_init_script(KEEP_PCS)
            teacher, learner = await teacher_ctx.new_page(), await learner_ctx.new_page()
            await teacher.goto(created["join_urls"]["t1"] + "&relay=1")
            await learner.goto(created["join_urls"]["s1"] + "&relay=1")
            await wait_live(teacher)
            await wait_live(learner)
            joined = time.time()
            await wait_video_flowing(learner, "learner sees the teacher through TURN")
            await wait_video_flowing(teacher, "teacher sees the learner through TURN")
            # Receiving is judged from here: on a busy machine the relay's first media can
            # take many seconds after both pages are live.
            flowing = time.time()
            await asyncio.sleep(8)  # minutes to count; Opus FEC/RED statistics to gather
            seen = {"teacher": await stats(teacher), "learner": await stats(learner)}
            await learner.screenshot(path=str(artifacts / f"turn-{transport}-learner.png"))
        finally:
            await teacher_ctx.close()
            await learner_ctx.close()
        left = time.time()
        await asyncio.sleep(1)
        await api(server.base, "POST", f"/api/v1/sessions/{session_id}/end")
        record = await api(server.base, "GET", f"/api/v1/sessions/{session_id}/record")
        log = server.log.read_text(errors="replace")

    for who, s in seen.items():
        assert s["config"] == "relay", who
        assert s["local"] is not None and s["local"]["type"] == "relay", (who, s["local"])
        assert s["local"]["relayProtocol"] == transport, (who, s["local"])
    assert turn_server.allocations() >= allocations + 2  # one per browser at least
    # The learner's minutes: present and receiving (receiver reports confirm what the
    # server forwarded through the relay) for most of the time connected.
    assert covered(record["receiving"]["s1"], flowing, left) > (left - flowing) * 0.6, record[
        "receiving"
    ]
    assert covered(record["active"]["s1"], joined, left) > (left - joined) * 0.8
    # Neither the shared secret nor a minted credential is ever logged.
    assert turn_server.secret not in log
    assert "credential" not in log.lower()

    # Audio first: the server's answer asks for in-band FEC on every audio line (the
    # microphone's and the received one), keeps the browser's PTs, and accepts RED.
    for who, s in seen.items():
        sections = audio_sections(s["answer"])
        assert len(sections) >= 2, (who, s["answer"])
        for section in sections:
            assert "a=fmtp:111 minptime=10;useinbandfec=1\r\n" in section, (who, section)
            assert "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n" in section, (who, section)
        # RED first where Chromium sends (libwebrtc sends RED only then), Opus first
        # where the server sends. (That RED then flows, and is stripped for a browser
        # without it: tests/e2e/test_audio_red.py.)
        firsts = [sec.split("\r\n", 1)[0] for sec in sections]
        assert any(f.endswith(" 63 111") for f in firsts), firsts
        assert any(f.endswith(" 111 63") for f in firsts), firsts
        assert [i for i in s["audioIn"] if i["packets"]], s["audioIn"]
