// Back on the air fast after a network change (issue 13, item 4): the rules, pure.
//
// The server (aiortc) has no ICE restart, so a media path that died cannot be revived
// in place: the page builds a new peer connection and sends its offer; the server sees
// a new ICE username fragment and replaces the participant's transport (rtc/peer.py),
// keeping the person, their grants, the board and the forwarded streams. Two ways in:
//
// - the socket closed too (the browser closes its sockets when its address changes, as
//   on a Wi-Fi to 4G switch): socket.io reconnects, the welcome resumes the same
//   participant and a new peer connection follows (protocol.js);
// - only the media path died (the socket lives on: a NAT that forgot the UDP mapping, a
//   firewall, a handover that kept TCP): Chromium's ICE says `disconnected` only after
//   ~7.5 s (measured, bench/network_switch.py --how cut) and `failed` after ~30 s
//   (consent freshness). The page watches what it receives instead: nothing at all for
//   SUSPECT_MS (no media, no connectivity check, no answer to one) and it builds the new
//   peer connection beside the old one at once (gathering on whatever network there is
//   now); it switches to it when `linkVerdict` says so (link-watch.js).

/** socket.io's first retry after the socket closed: soon, since a network switch closes
 * it at once and the new network is usually there within a fraction of a second;
 * socket.io spreads it by ±50 % and doubles it at each failed attempt, so a server that
 * restarts still sees its clients come back over a few seconds, not all at once. */
export const RECONNECT_FIRST_MS = 250;
/** The slowest retry: a phone out of coverage for minutes still comes back within
 * seconds of coverage returning. */
export const RECONNECT_MAX_MS = 5000;
/** How often a healthy peer connection's receive counters are read (getStats): cheap
 * enough for a phone, and the loss is noticed within SUSPECT_MS plus this. */
export const IDLE_POLL_MS = 1000;
/** How often they are read once the path is suspect: the switch waits at most this long
 * after its rule says so. */
export const LINK_POLL_MS = 250;
/** Nothing received for this long (no RTP, no RTCP, no ICE check or answer) makes the
 * path suspect: a new peer connection is built beside it (nothing is sent to the server
 * yet, so a false alarm costs nothing). Audio alone is 50 packets a second and Opus DTX
 * still sends one every 400 ms. */
export const SUSPECT_MS = 1500;
/** While ICE still says connected, the switch waits until nothing at all came for this
 * long: even with no media forwarded to us (nobody publishing, a publisher whose own
 * network died) a live path answers Chromium's connectivity checks, sent every 2.5 s on
 * a stable path, and the server's consent checks come every 5 s. */
export const SILENT_REBUILD_MS = 3500;
/** How long the old path may stay silent once the device has a usable network again
 * (the new peer connection found a candidate) before the page switches: a link that
 * merely blinked (a lift, a tunnel) recovers on its own within a few hundred ms of the
 * network returning (measured: 0.3 s after a 5 s outage), and switching would cost more
 * than that (a new offer, ICE, DTLS, a keyframe). */
export const NEW_PATH_GRACE_MS = 1000;
/** A new peer connection whose gathering found no candidate (no network at all yet)
 * is built again after this long, until a network appears or the old path recovers. */
export const REGATHER_MS = 1000;
/** The new offer's answer should come within a round trip and the server's answer (a
 * few hundred ms, more on a loaded server); none after this long means the socket is
 * dead too though it still looks open (its own ping would notice only after ~45 s): the
 * page closes it, and socket.io's reconnect brings a welcome and a new peer connection. */
export const FRESH_OFFER_ACK_MS = 4000;

/** The first offer of a peer connection waits for gathering to complete (bounded), or
 * this long after its first candidate: the host candidates of every interface come
 * together within a few ms, which is all a direct path needs; STUN and TURN candidates
 * take a round trip to those servers and are trickled after the answer like any late
 * one. Chromium's gathering itself runs on for a second or more (it was the largest
 * part of a rebuild: 0.8 s of 1.6 s). */
export const FIRST_PATH_SETTLE_MS = 100;

/** ICE connection states in which the media path is lost or at risk. */
export const LOST_STATES = new Set(["disconnected", "failed"]);

/**
 * What to do about a peer connection whose ICE said it lost its path. Pure.
 * @param {object} o
 * @param {string} o.ice             the old peer connection's iceConnectionState now
 * @param {number} o.now             ms
 * @param {number} o.lastProgressAt  when the old one last received anything (ms)
 * @param {number|null} o.pathAt     when the new one found its first candidate (null: not yet)
 * @param {boolean} [o.media]        someone's media is forwarded to us (tracks mapped):
 *   without it silence proves nothing (an empty room) and only ICE's word counts
 * @returns {"keep"|"wait"|"rebuild"}  keep the old one (it recovered; drop the new one),
 *   wait, or switch to the new one now
 */
export function linkVerdict({ ice, now, lastProgressAt, pathAt, media = true }) {
  const lost = LOST_STATES.has(ice);
  const silent = now - lastProgressAt;
  if (!lost && (silent < SUSPECT_MS || !media)) return "keep"; // it recovered, or never was lost
  if (pathAt === null || pathAt === undefined) return "wait"; // no network to switch to
  if (ice === "failed") return "rebuild"; // the browser gave up on it
  const quiet = now - Math.max(pathAt, lastProgressAt);
  if (quiet < NEW_PATH_GRACE_MS) return "wait";
  return lost || silent >= SILENT_REBUILD_MS ? "rebuild" : "wait";
}

/** A counter of what a peer connection received that grows whenever anything arrives on
 * any of its paths: bytes, ICE checks and answers to ours (candidate pairs), else the
 * transports' or the inbound streams' bytes; from a getStats() report (a Map-like with
 * forEach). Pure. */
export function received(report) {
  const sum = { pair: 0, transport: 0, inbound: 0 };
  let pairs = false;
  let transports = false;
  report.forEach((s) => {
    if (s.type === "candidate-pair") {
      pairs = true;
      sum.pair += (s.bytesReceived || 0) + (s.responsesReceived || 0) + (s.requestsReceived || 0);
    } else if (s.type === "transport") {
      transports = true;
      sum.transport += s.bytesReceived || 0;
    } else if (s.type === "inbound-rtp") sum.inbound += s.bytesReceived || 0;
  });
  return pairs ? sum.pair : transports ? sum.transport : sum.inbound;
}

/** Whether an ICE candidate line names a usable local address (the device has a
 * network): any candidate but an empty end-of-gathering marker. Pure. */
export function isPath(candidate) {
  return !!(candidate && typeof candidate.candidate === "string" && candidate.candidate.trim());
}
