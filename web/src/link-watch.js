// The media path's watchman (issue 13, item 4), mixed into Protocol (as local-media.js
// is): when the peer connection's ICE says it lost its path, or nothing at all arrived
// for a while, a new peer connection is built beside it at once, and the page switches to it when reconnect.js's
// `linkVerdict` says the old one is dead; the server replaces the transport when it
// sees the new offer's ICE username fragment (no leave, no join: same participant,
// grants and board). The rules and every timer are in reconnect.js.

import { FRESH_OFFER_ACK_MS, IDLE_POLL_MS, LINK_POLL_MS, LOST_STATES, REGATHER_MS, SUSPECT_MS, isPath, linkVerdict, received } from "./reconnect.js";

/** Read `pc`'s receive counter; `pc.rx.at` is when it last grew (ms). */
async function sample(pc) {
  let count = pc.rx.count;
  try {
    count = received(await pc.getStats());
  } catch {
    return; /* closed meanwhile */
  }
  if (count > pc.rx.count) pc.rx = { count, at: Date.now() };
}

export const linkWatch = {
  /** A socket waiting for socket.io's next retry (up to RECONNECT_MAX_MS away) tries now:
   * the device has a network again (a lift, a tunnel: the browser closed the socket
   * when its interface went down). Only a socket socket.io would retry anyway (active:
   * not refused, not closed by us). */
  retryNow() {
    const s = this.socket;
    if (!s || s.connected || !s.active) return;
    s.disconnect(); // cancels the pending retry…
    s.connect(); // …and opens now
  },

  /** The adopted peer connection's health check, every IDLE_POLL_MS while it is ours. */
  checkLink(pc) {
    pc.rx = { count: -1, at: Date.now() };
    const tick = async () => {
      if (pc !== this.pc) return; // replaced or closed: its own check ends
      const ice = pc.iceConnectionState;
      if (!this.watch && (ice === "connected" || ice === "completed")) {
        await sample(pc);
        // Silence means something only when media is forwarded to us (else: an empty room).
        if (pc === this.pc && this.mediaExpected() && Date.now() - pc.rx.at >= SUSPECT_MS) this.watchLink(pc);
      }
      setTimeout(tick, IDLE_POLL_MS);
    };
    setTimeout(tick, IDLE_POLL_MS);
  },

  /** `pc`'s ICE state changed: start watching when it is lost. */
  onIceState(pc) {
    if (pc !== this.pc || !LOST_STATES.has(pc.iceConnectionState)) return;
    this.watchLink(pc);
  },

  watchLink(pc) {
    if (pc !== this.pc || this.watch || !this.joined) return;
    const w = { pc, spare: null, pathAt: null, timer: null, regather: null };
    this.watch = w;
    this.emit("link", { state: "lost" });
    this.buildSpare(w);
    this.pollLink(w);
  },

  /** A new peer connection with our senders and receivers, gathering now (on the
   * network there is now); its offer goes to the server only if we switch to it. */
  buildSpare(w) {
    if (this.watch !== w) return;
    if (w.spare) this.dropPc(w.spare);
    const spare = this.newPc();
    w.spare = spare;
    w.pathAt = null;
    spare.addEventListener("icecandidate", (e) => {
      if (w.spare === spare && w.pathAt === null && isPath(e.candidate)) w.pathAt = Date.now();
    });
    spare.addEventListener("icegatheringstatechange", () => {
      if (spare.iceGatheringState !== "complete" || w.spare !== spare || w.pathAt !== null) return;
      // No candidate: no network yet. Try again shortly (a new interface, the link back).
      clearTimeout(w.regather);
      w.regather = setTimeout(() => this.buildSpare(w), REGATHER_MS);
    });
    this.addReceivers(spare);
    spare.createOffer().then((o) => spare.setLocalDescription(o)).catch(() => {});
  },

  async pollLink(w) {
    if (this.watch !== w) return;
    if (!this.joined || this.pc !== w.pc) {
      this.endWatch(w);
      return;
    }
    await sample(w.pc);
    if (this.watch !== w) return;
    const verdict = linkVerdict({ ice: w.pc.iceConnectionState, now: Date.now(), lastProgressAt: w.pc.rx.at, pathAt: w.pathAt, media: this.mediaExpected() });
    if (verdict === "keep") {
      this.endWatch(w);
      this.emit("link", { state: "recovered" });
    } else if (verdict === "rebuild") this.switchPc(w);
    else w.timer = setTimeout(() => this.pollLink(w), LINK_POLL_MS);
  },

  /** Someone's stream is mapped to one of our receiving slots. */
  mediaExpected() {
    return Object.keys(this.tracks || {}).length > 0;
  },

  endWatch(w) {
    clearTimeout(w.timer);
    clearTimeout(w.regather);
    if (this.watch === w) this.watch = null;
    if (w.spare && w.spare !== this.pc) this.dropPc(w.spare);
    w.spare = null;
  },

  /** Switch to the new peer connection: its offer replaces the transport on the server. */
  switchPc(w) {
    const spare = w.spare;
    w.spare = null;
    this.endWatch(w);
    const old = this.pc;
    this.adoptPc(spare);
    this.dropPc(old);
    // What we send may have changed while it was gathering (camera, screen, stopped).
    for (const kind of ["audio", "video"]) {
      const track = this.send[kind];
      const tx = spare.txs[kind];
      if (tx && tx.sender.track !== track) tx.sender.replaceTrack(track).catch(() => {});
      else if (!tx && track) this.addSender(kind, track, spare);
    }
    this.emit("link", { state: "rebuilt" });
    this.negotiate();
    // No answer within the bound: the socket is dead too, though it looks open.
    setTimeout(() => {
      if (this.pc !== spare || spare.iceState.answered || !this.socket || !this.socket.connected) return;
      this.socket.io.engine.close(); // socket.io reconnects; the welcome brings a new one
    }, FRESH_OFFER_ACK_MS);
  },

  /** The device says its network changed (online, a new connection type): a lost path
   * gathers again on the new network at once. */
  networkChanged() {
    this.retryNow();
    const w = this.watch;
    if (w) {
      clearTimeout(w.regather);
      this.buildSpare(w);
    } else if (this.pc && LOST_STATES.has(this.pc.iceConnectionState)) this.watchLink(this.pc);
  },
};
