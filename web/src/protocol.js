// The connection to the server: socket.io signaling, one RTCPeerConnection,
// local and remote media, and the participant HTTP calls. Built against
// docs/protocol.md. No DOM access here: the owner (client.js) listens to the
// events below and decides what the user sees.
//
// Events emitted (protocol.on(type, fn)):
//   connecting {attempt}            socket is (re)connecting
//   connected {}                    socket up; `welcome` follows
//   disconnected {reason, willReconnect}
//   connect_error {code, message, fatal}
//   moved {url}                     the session runs on another node: go to url + this path
//   welcome | roster | caps | tracks | chat | board | board_state | ended | replaced
//   | recording | recording_error
//                                   the server's events, payload as on the wire
//   server_error {event, code, message}   the server's `error` event
//   remote {[personId]: {audio, video}}   which remote media is flowing now
//   local {audio, video, screen}          what we are sending now
//   pc_state "new"|"connecting"|"connected"|"disconnected"|"failed"|"closed"
//   screen_ended {}                 the browser's "stop sharing" was used
//
// The client is always the SDP offerer. The server has no ICE restart, so a
// reconnect (or a failed transport) means a fresh peer connection and offer: a lost
// media path is noticed and replaced within seconds (link-watch.js, reconnect.js).
//   link {state: "lost"|"recovered"|"rebuilt"}   the media path's watchman

import { io } from "socket.io-client";
import { localMedia } from "./local-media.js";
import { linkWatch } from "./link-watch.js";
import { FIRST_PATH_SETTLE_MS, RECONNECT_FIRST_MS, RECONNECT_MAX_MS, isPath } from "./reconnect.js";
import { applyCodecPreference, wantedCodec } from "./codecs.js";

const ACK_TIMEOUT_MS = 15000;
const FATAL_CODES = new Set(["no_token", "bad_token", "expired", "ended", "full", "unknown_session"]);

export class HttpError extends Error {
  constructor(status, error, support = "") {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.support = support || ""; // the server's X-Support-Code: what a person may read out
    this.code = (error && error.code) || (status === 0 ? "network" : `http_${status}`);
    this.field = error && error.field;
  }
}

export class AckError extends Error {
  constructor(event, error) {
    super((error && error.message) || `${event} failed`);
    this.event = event;
    this.code = (error && error.code) || "failed";
    this.field = error && error.field;
  }
}

/** How many recvonly transceivers of each kind an offer needs (at least one
 * of each, so a receive-only phone still brings up a transport the server
 * can see). Pure. */
export function wantedReceivers(streams) {
  const want = { audio: 1, video: 1 };
  const count = { audio: 0, video: 0 };
  for (const s of streams || []) if (s && (s.kind === "audio" || s.kind === "video")) count[s.kind] += 1;
  return { audio: Math.max(want.audio, count.audio), video: Math.max(want.video, count.video) };
}

/** How long to wait before asking this node again after `moved` named a node that
 * did not answer (it may have just died: its claim lapses within seconds, then the
 * session is placed again): 1, 2, 4, 8 s, then every 10 s. Pure. */
export function movedBackoffMs(failures) {
  return Math.min(10000, 1000 * 2 ** Math.max(0, failures - 1));
}

/** Where `moved` sends this page: the same link (path and query) on the node that runs
 * the session, with `check=0`, because `moved` only comes once this page passed or
 * skipped the device check, and the other node is another origin, whose storage does
 * not know it (another machine, or a worker's own port under `serve --workers`). Pure. */
export function movedHref(here, nodeUrl, language = "") {
  const from = new URL(here);
  const next = new URL(from.pathname + from.search, nodeUrl);
  next.searchParams.set("check", "0");
  // The other node is another origin whose storage does not know the language this
  // person chose either: it travels in the link (i18n.js reads and remembers it there).
  if (language) next.searchParams.set("lang", language);
  return next.href;
}

/** Group a mid→{person, kind} map by person. Pure. */
export function tracksByPerson(tracks) {
  const out = {};
  for (const [mid, t] of Object.entries(tracks || {})) {
    if (!t || !t.person) continue;
    (out[t.person] ||= []).push({ mid, kind: t.kind });
  }
  return out;
}

export class Protocol {
  /**
   * @param {object} o
   * @param {string} o.token        the join token from the link
   * @param {string} [o.origin]     server origin (default: this page's)
   * @param {"hybrid"|"trickle"|"gather"} [o.ice]  how candidates reach the server
   * @param {boolean} [o.phone]     pick lighter capture settings
   * @param {"all"|"relay"} [o.icePolicy]  "relay": media only through TURN (the join
   *   link's `&relay=1`: checks TURN from a given network; tests; docs/turn.md)
   * @param {string} [o.codec]      "h264" or "vp8": the camera's codec asked of the
   *   server (the join link's `&codec=`; src/codecs.js); default: the browser's order
   */
  constructor({ token, origin, ice = "hybrid", phone = false, icePolicy = "all", codec = "", env = globalThis } = {}) {
    this.token = token;
    this.codec = wantedCodec(codec);
    this.icePolicy = icePolicy === "relay" ? "relay" : "all";
    this.origin = origin || (env.location && env.location.origin) || "";
    this.iceMode = ice;
    this.phone = phone;
    this.env = env;
    this.listeners = new Map();
    this.socket = null;
    this.pc = null;
    this.iceServers = [];
    this.tracks = {}; // mid -> {person, kind}
    this.wanted = { audio: 1, video: 1 };
    this.remoteStreams = new Map(); // person -> MediaStream
    this.localStream = null;
    this.send = { audio: null, video: null }; // tracks we publish
    this.camera = null; // the camera track while screen sharing
    this.screen = null;
    this.tx = { audio: null, video: null };
    this.negotiating = false;
    this.negotiateAgain = false;
    this.joined = false;
    this.pending = new Set(); // reject functions of requests awaiting an ack
    this.movedFailures = 0; // `moved` answers naming a node that did not answer, in a row
    this.watch = null; // a lost media path being replaced (link-watch.js)
  }

  // ---- tiny emitter --------------------------------------------------------
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, payload) {
    for (const fn of [...(this.listeners.get(type) || [])]) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`opentutor: listener of ${type} failed`, err);
      }
    }
  }

  // ---- HTTP ----------------------------------------------------------------
  async http(method, path, body, contentType) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (contentType) headers["Content-Type"] = contentType;
    let res;
    try {
      res = await this.env.fetch(this.origin + path, { method, headers, body });
    } catch {
      throw new HttpError(0, { code: "network", message: "network error" });
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) throw new HttpError(res.status, data && data.error, res.headers && res.headers.get && res.headers.get("X-Support-Code"));
    return data;
  }

  me() {
    return this.http("GET", "/api/v1/me");
  }

  /** The session's recordings, with replay links signed for me. */
  recordings() {
    return this.http("GET", "/api/v1/me/recordings");
  }

  /** Upload a picture (Blob). Answers {id, url}. */
  upload(blob) {
    return this.http("POST", "/api/v1/me/uploads", blob, blob.type || "image/jpeg");
  }

  feedback(body) {
    return this.http("POST", "/api/v1/me/feedback", JSON.stringify(body), "application/json");
  }

  report(body) {
    return this.http("POST", "/api/v1/me/report", JSON.stringify(body), "application/json");
  }

  /** Tutoring teachers: mark a learner {learner, problem, subject, knowledge_point}. */
  mark(body) {
    return this.http("POST", "/api/v1/me/marks", JSON.stringify(body), "application/json");
  }

  /** Tutoring learners, after the end: minutes, points for time, what the rating adds. */
  settlement() {
    return this.http("GET", "/api/v1/me/settlement");
  }

  /** A URL for a picture. The server hands out signed URLs (upload answer,
   * chat.image, board.background, a background op's `url`); those are used as
   * they are. A bare upload id cannot be fetched without its signature: null. */
  mediaUrl(ref) {
    if (!ref) return null;
    if (/^(https?:|data:|blob:|\/)/.test(ref)) return ref;
    return null;
  }

  // ---- socket.io -----------------------------------------------------------
  /** `moved`: go there (the owner emits "moved") only if that node answers. A node
   * that just died is still named for a few seconds; following it would leave the
   * page on a browser error. Instead stay, say so, and ask this node again after a
   * growing pause, until the session is placed on a live node. */
  async followMoved(url) {
    if (await this.reachable(url)) {
      this.movedFailures = 0;
      this.emit("moved", { url });
      return;
    }
    this.retryLater("node_unreachable", url);
  }

  /** Ask this node again after the growing pause (socket.io does not retry a
   * refusal by itself), saying why meanwhile. */
  retryLater(code, message) {
    this.movedFailures += 1;
    this.emit("server_error", { event: "connect", code, message });
    this.emit("connecting", { attempt: this.movedFailures });
    setTimeout(() => {
      this.socket = null;
      this.connect();
    }, movedBackoffMs(this.movedFailures));
  }

  /** Whether a node answers at all (no-cors: another origin's reply is opaque, but
   * only a network failure rejects), within 3 s. */
  async reachable(url) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 3000);
    try {
      await this.env.fetch(new URL("/healthz", url).href, { mode: "no-cors", cache: "no-store", signal: abort.signal });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  connect() {
    if (this.socket) return;
    this.emit("connecting", { attempt: 0 });
    const socket = io(this.origin || undefined, {
      path: "/socket.io",
      transports: ["websocket"],
      auth: { token: this.token },
      reconnectionDelay: RECONNECT_FIRST_MS,
      reconnectionDelayMax: RECONNECT_MAX_MS,
    });
    this.socket = socket;
    // A new network: a lost media path gathers again on it at once (link-watch.js).
    if (!this.watchingNetwork && this.env.addEventListener) {
      this.watchingNetwork = true;
      this.env.addEventListener("online", () => this.networkChanged());
      const conn = this.env.navigator && this.env.navigator.connection;
      if (conn && conn.addEventListener) conn.addEventListener("change", () => this.networkChanged());
    }

    socket.on("connect", () => this.emit("connected", {}));
    socket.on("connect_error", (err) => {
      const code = err && err.data && err.data.code;
      if (code === "moved" && err.data.url) {
        // Several nodes: this session's room runs elsewhere, and media must go there.
        socket.disconnect();
        this.followMoved(err.data.url);
        return;
      }
      if (code === "unavailable") {
        // Retryable by the server's word (placement settling, the owner's claim about
        // to lapse after its death): try again, never sit on an error page.
        socket.disconnect();
        this.retryLater("unavailable", (err.data && err.data.message) || "");
        return;
      }
      const fatal = !socket.active || FATAL_CODES.has(code);
      this.emit("connect_error", {
        code: code || "network",
        message: (err && err.data && err.data.message) || (err && err.message) || "",
        support: (err && err.data && err.data.support) || "",
        fatal,
      });
    });
    socket.on("disconnect", (reason) => {
      this.joined = false;
      for (const reject of [...this.pending]) reject(new AckError("", { code: "offline", message: reason }));
      this.pending.clear();
      this.closePc();
      // "io server disconnect" (ended, replaced) and our own disconnect do not
      // reconnect; everything else is a network problem socket.io retries.
      this.emit("disconnected", { reason, willReconnect: socket.active });
    });
    socket.io.on("reconnect_attempt", (attempt) => this.emit("connecting", { attempt }));

    socket.on("welcome", (msg) => {
      this.joined = true;
      if (msg && Array.isArray(msg.ice_servers)) this.iceServers = msg.ice_servers;
      this.tracks = {};
      this.emit("welcome", msg);
      this.negotiate(); // a fresh peer connection for every (re)join
      if (this.saver) this.announceMedia(); // data saver holds across rejoins and nodes
    });
    socket.on("renegotiate", (msg) => {
      this.wanted = wantedReceivers(msg && msg.streams);
      this.negotiate();
    });
    socket.on("tracks", (map) => this.setTracks(map));
    for (const ev of ["roster", "caps", "chat", "board", "board_state", "recording", "recording_error", "invited", "muted", "stage_declined"]) {
      socket.on(ev, (msg) => this.emit(ev, msg));
    }
    socket.on("quality", (msg) => this.emit("quality", msg)); // what reaches us (rtc/quality.py)
    socket.on("ended", (msg) => {
      this.joined = false;
      this.stopLocal();
      this.closePc();
      this.emit("ended", msg || {});
      setTimeout(() => this.socket && this.socket.disconnect(), 1000);
    });
    socket.on("replaced", () => {
      this.stopLocal();
      this.closePc();
      this.emit("replaced", {});
    });
    socket.on("error", (msg) => this.emit("server_error", msg || {}));
  }

  /** Leave now (no grace period) and close everything. */
  leave() {
    if (this.socket && this.socket.connected) this.socket.emit("leave", {});
    this.close();
  }

  close() {
    this.stopLocal();
    this.closePc();
    if (this.socket) {
      this.socket.disconnect();
      this.socket = null;
    }
  }

  /** Emit an event and resolve with the ack, or reject with AckError. */
  request(event, payload = {}) {
    return new Promise((resolve, reject) => {
      if (!this.socket || !this.socket.connected) {
        reject(new AckError(event, { code: "offline", message: "not connected" }));
        return;
      }
      const fail = (err) => {
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      this.socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
        if (!this.pending.delete(fail)) return; // already failed by a disconnect
        if (err) reject(new AckError(event, { code: "timeout", message: "no answer" }));
        else if (ack && ack.ok) resolve(ack);
        else reject(new AckError(event, ack && ack.error));
      });
    });
  }

  hand(up) {
    return this.request("hand", { up: !!up });
  }

  grant(person, what, on) {
    return this.request("grant", { person, what, on: !!on });
  }

  /** Consent and control (docs/protocol.md): the learner's answer to the stage
   * invitation, the instructor's mute and lowering of every hand, unmuting oneself. */
  stageAnswer(accept) {
    return this.request("stage_answer", { accept: !!accept });
  }

  mute(person) {
    return this.request("mute", { person });
  }

  unmute() {
    return this.request("unmute", {});
  }

  handsDown() {
    return this.request("hands_down", {});
  }

  chat(msg) {
    return this.request("chat", msg);
  }

  board(op) {
    return this.request("board", { op });
  }

  end() {
    return this.request("end", {});
  }

  record(on) {
    return this.request("record", { on: !!on });
  }

  announceMedia() {
    const local = this.localState();
    if (this.socket && this.socket.connected) {
      this.request("media", { audio: local.audio, video: local.video, saver: !!this.saver }).catch(() => {});
    }
  }

  /** Data saver: the server sends us audio (and the board) only, never video. */
  setSaver(on) {
    this.saver = !!on;
    this.announceMedia();
  }

  // ---- peer connection -----------------------------------------------------
  ensurePc() {
    if (this.pc) return this.pc;
    const pc = this.newPc();
    this.adoptPc(pc);
    return pc;
  }

  /** The peer connection everything goes through from now on. */
  adoptPc(pc) {
    this.pc = pc;
    this.tx = pc.txs;
    this.emit("pc_state", pc.connectionState);
    this.checkLink(pc); // link-watch.js
  }

  /** A peer connection with our senders, wired; it acts only once it is `this.pc`. */
  newPc() {
    const PC = this.env.RTCPeerConnection;
    const pc = new PC({
      iceServers: this.iceServers,
      bundlePolicy: "max-bundle",
      iceTransportPolicy: this.icePolicy,
    });
    pc.txs = { audio: null, video: null };
    pc.iceState = { sdpTaken: false, answered: false, queue: [], endSent: false, gathered: false };
    pc.addEventListener("icecandidate", (e) => this.onCandidate(pc, e.candidate));
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") this.onCandidate(pc, null);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      this.emit("pc_state", pc.connectionState);
      if (pc.connectionState === "failed") this.watchLink(pc);
    });
    pc.addEventListener("iceconnectionstatechange", () => this.onIceState(pc));
    pc.addEventListener("track", (e) => {
      if (pc !== this.pc) return;
      const track = e.track;
      track.addEventListener("mute", () => this.emitRemote());
      track.addEventListener("unmute", () => this.emitRemote());
      track.addEventListener("ended", () => this.emitRemote());
      this.rebuildRemote();
    });
    // Publish what we already have (after a reconnect the camera keeps running).
    for (const kind of ["audio", "video"]) {
      if (this.send[kind]) this.addSender(kind, this.send[kind], pc);
    }
    return pc;
  }

  closePc() {
    if (this.watch) this.endWatch(this.watch);
    const pc = this.pc;
    if (!pc) return;
    this.pc = null;
    this.tx = { audio: null, video: null };
    this.dropPc(pc);
    this.tracks = {};
    this.rebuildRemote();
    this.emit("pc_state", "closed");
  }

  dropPc(pc) {
    try {
      if (pc) pc.close();
    } catch {
      /* already closed */
    }
  }

  /** The receiving slots the server asked for (at least one of each kind). */
  addReceivers(pc) {
    const have = { audio: 0, video: 0 };
    for (const t of pc.getTransceivers()) {
      if (t.direction === "recvonly" && t.receiver && t.receiver.track) have[t.receiver.track.kind] += 1;
    }
    for (const kind of ["audio", "video"]) {
      for (let i = have[kind]; i < this.wanted[kind]; i += 1) pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }

  addSender(kind, track, pc = this.pc) {
    const stream = this.ensureLocalStream();
    const maxBitrate = kind === "video" ? (this.phone ? 450000 : 900000) : 48000;
    pc.txs[kind] = pc.addTransceiver(track, {
      direction: "sendonly",
      streams: [stream],
      sendEncodings: [{ maxBitrate }],
    });
    // VP8 first unless the link asks for H.264: Safari's own order puts H.264 first,
    // and the server follows the offer's first codec (src/codecs.js).
    if (kind === "video") applyCodecPreference(pc.txs[kind], this.codec || "vp8", this.env);
    if (pc === this.pc) this.tx = pc.txs;
  }

  onCandidate(pc, candidate) {
    const st = pc.iceState;
    if (isPath(candidate)) st.seen = true; // a spare may have found it before the offer
    if (candidate === null) {
      st.gathered = true;
      if (st.endSent) return;
      if (st.answered) {
        st.endSent = true;
        this.sendIce(pc, { candidate: null });
      }
      return;
    }
    // Candidates found before we read the offer's SDP are already inside it.
    if (!st.sdpTaken || this.iceMode === "gather") return;
    const msg = {
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid,
      sdpMLineIndex: candidate.sdpMLineIndex,
    };
    if (!msg.candidate) return; // Chrome's empty end-of-generation marker
    if (st.answered) this.sendIce(pc, msg);
    else st.queue.push(msg);
  }

  sendIce(pc, msg) {
    if (pc !== this.pc) return;
    this.request("ice", msg).catch(() => {});
  }

  /** Until gathering is complete, `ms` passed, or `settleMs` after the first candidate
   * (0: no such shortcut): later candidates are trickled once the answer is in. */
  waitGathering(pc, ms, settleMs = 0) {
    if (pc.iceGatheringState === "complete" || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let settle = null;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(settle);
        pc.removeEventListener("icegatheringstatechange", check);
        pc.removeEventListener("icecandidate", found);
        resolve();
      };
      const check = () => pc.iceGatheringState === "complete" && done();
      const found = (e) => {
        if (settleMs > 0 && settle === null && isPath(e.candidate)) settle = setTimeout(done, settleMs);
      };
      const timer = setTimeout(done, ms);
      pc.addEventListener("icegatheringstatechange", check);
      pc.addEventListener("icecandidate", found);
      if (settleMs > 0 && pc.iceState && pc.iceState.seen) settle = setTimeout(done, settleMs);
    });
  }

  /** Send a new offer; calls made while one is in flight coalesce into one more. */
  async negotiate() {
    if (!this.joined) return;
    if (this.negotiating) {
      this.negotiateAgain = true;
      return;
    }
    this.negotiating = true;
    try {
      do {
        this.negotiateAgain = false;
        await this.offerOnce();
      } while (this.negotiateAgain && this.joined);
    } catch (err) {
      if (this.joined) {
        this.emit("server_error", { event: "offer", code: err.code || "negotiation", message: err.message });
        // Try again with a fresh peer connection after a pause.
        setTimeout(() => {
          if (!this.joined) return;
          this.closePc();
          this.negotiate();
        }, 3000);
      }
    } finally {
      this.negotiating = false;
      if (this.negotiateAgain && this.joined) this.negotiate();
    }
  }

  async offerOnce() {
    const pc = this.ensurePc();
    this.addReceivers(pc);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const first = !pc.iceState.sdpTaken;
    if (first) {
      const wait = { gather: 5000, hybrid: 800, trickle: 0 }[this.iceMode] ?? 800;
      await this.waitGathering(pc, wait, this.iceMode === "gather" ? 0 : FIRST_PATH_SETTLE_MS);
    }
    const sdp = pc.localDescription.sdp;
    pc.iceState.sdpTaken = true;
    const ack = await this.request("offer", { sdp });
    if (pc !== this.pc) return; // torn down while we waited
    // Take the answer's mid map now, in stream order: a `tracks` event that arrives
    // while the answer is being applied is newer and must win over it.
    this.tracks = { ...(ack.tracks || {}) };
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    const st = pc.iceState;
    if (!st.answered) {
      st.answered = true;
      for (const msg of st.queue.splice(0)) this.sendIce(pc, msg);
      if (st.gathered && !st.endSent) {
        st.endSent = true;
        this.sendIce(pc, { candidate: null });
      }
    }
    this.setTracks(this.tracks);
  }

  setTracks(map) {
    this.tracks = { ...(map || {}) };
    this.emit("tracks", this.tracks);
    this.rebuildRemote();
  }

  /** Regroup received tracks into one MediaStream per remote person. The
   * streams are kept across changes so video elements need no new srcObject. */
  rebuildRemote() {
    const pc = this.pc;
    const byPerson = tracksByPerson(this.tracks);
    const transceivers = pc ? pc.getTransceivers() : [];
    const MS = this.env.MediaStream;
    for (const [person, entries] of Object.entries(byPerson)) {
      let stream = this.remoteStreams.get(person);
      if (!stream && MS) {
        stream = new MS();
        this.remoteStreams.set(person, stream);
      }
      if (!stream) continue;
      const wantedTracks = new Set();
      for (const { mid } of entries) {
        const t = transceivers.find((x) => x.mid === mid);
        if (t && t.receiver && t.receiver.track) wantedTracks.add(t.receiver.track);
      }
      for (const tr of stream.getTracks()) if (!wantedTracks.has(tr)) stream.removeTrack(tr);
      for (const tr of wantedTracks) if (!stream.getTracks().includes(tr)) stream.addTrack(tr);
    }
    for (const [person, stream] of this.remoteStreams) {
      if (!byPerson[person]) {
        for (const tr of stream.getTracks()) stream.removeTrack(tr);
        this.remoteStreams.delete(person);
      }
    }
    this.emitRemote();
  }

  emitRemote() {
    const out = {};
    for (const [person, stream] of this.remoteStreams) {
      const live = (kind) => stream.getTracks().some((t) => t.kind === kind && t.readyState === "live" && !t.muted);
      out[person] = { audio: live("audio"), video: live("video") };
    }
    this.emit("remote", out);
  }

  streamFor(person) {
    return this.remoteStreams.get(person) || null;
  }
}

Object.assign(Protocol.prototype, localMedia, linkWatch);
