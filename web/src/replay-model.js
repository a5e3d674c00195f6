// The replay's pure parts (no DOM, tested in web/tests/replay.test.js): the
// whiteboard and chat at a moment of the recording, which segments a track
// needs around that moment, and time formatting.
//
// Manifest (GET /recordings/{id}/{viewer}/manifest.json, see docs/protocol.md):
//   {id, session: {id, title, form, programme}, started_at, duration_s, complete,
//    presenter: personId|null,
//    tracks: [{id, kind, codec, person, name, role, mime, segments: [[n, start, end]]}],
//    unrecorded: [{start_s, end_s, track, reason, …}],
//    board: [{t, seq, by, op}],   chat: [{t, id, from, name, text, image, ts}],
//    segment_url: ".../{track}/{n}.webm?exp=…&sig=…", download_url}
// Every `t` is seconds on the recording's clock (negative: before it started).

import { emptyBoard, applyBoardEvent } from "./whiteboard.js";

export const SPEEDS = [1, 1.5, 2];
// Fetch a segment this many seconds (of media) before it plays: enough to play
// on without a stall, little enough that what the server delivered is what was
// watched (the server measures replay time from deliveries).
export const AHEAD_S = 5;
const SLACK_S = 0.25;

/** The board at any time t; cheap when t only moves forward (playback). */
export class BoardTimeline {
  constructor(ops) {
    this.ops = [...(ops || [])].sort((a, b) => a.seq - b.seq);
    this.reset();
  }

  reset() {
    this.board = emptyBoard();
    this.next = 0;
    this.t = -Infinity;
  }

  at(t) {
    if (t < this.t) this.reset();
    while (this.next < this.ops.length && this.ops[this.next].t <= t) {
      const o = this.ops[this.next];
      this.board = applyBoardEvent(this.board, { seq: o.seq, by: o.by, op: o.op });
      this.next += 1;
    }
    this.t = t;
    return this.board;
  }
}

/** Chat messages sent up to t, in order. */
export function chatUntil(chat, t) {
  return (chat || []).filter((m) => m.t <= t);
}

/** Whether the track has recorded media at t (segments are [n, start, end]). */
export function covered(segments, t, slack = SLACK_S) {
  return (segments || []).some(([, start, end]) => start - slack <= t && t < end + slack);
}

/** The segments to have loaded to play from t: the one playing and those starting within `ahead`. */
export function wanted(segments, t, ahead = AHEAD_S) {
  return (segments || []).filter(([, start, end]) => end > t && start < t + ahead);
}

/** The URL of one segment from the manifest's template. */
export function segmentUrl(template, track, n) {
  return template.replace("{track}", encodeURIComponent(track)).replace("{n}", String(n));
}

/** The presenter's video track (the manifest names the person), or the first video. */
export function presenterVideo(manifest) {
  const videos = (manifest.tracks || []).filter((t) => t.kind === "video");
  return videos.find((t) => t.person === manifest.presenter) || videos[0] || null;
}

/** Every audio track: the replay mixes all voices, as the session sounded. */
export function audioTracks(manifest) {
  return (manifest.tracks || []).filter((t) => t.kind === "audio");
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** The spans not recorded, merged across tracks, as "1:10–1:14, 5:00–5:03". */
export function lostSpans(unrecorded) {
  const spans = (unrecorded || []).map((u) => [u.start_s, u.end_s]).sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged.map(([a, b]) => `${formatTime(a)}–${formatTime(Math.ceil(b))}`).join(", ");
}

/** The replay URL's query → the manifest URL, or null without the signed parameters. */
export function manifestUrl(search) {
  const p = new URLSearchParams(search);
  const [r, v, exp, sig] = ["r", "v", "exp", "sig"].map((k) => p.get(k));
  if (!r || !v || !exp || !sig) return null;
  const q = new URLSearchParams({ exp, sig });
  return `/recordings/${encodeURIComponent(r)}/${encodeURIComponent(v)}/manifest.json?${q}`;
}
