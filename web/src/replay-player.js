// Playing recorded tracks in the browser: one media element per track, fed one
// WebM segment at a time through Media Source Extensions, all slaved to one
// replay clock.
//
// Why MSE and one element per track: the server's segments are small complete
// WebM files on the recording's clock, and a track can have holes (a camera
// switched off, a span lost to a crash). One element holding audio and video
// would stall at any hole; separate elements let the voice play on while the
// camera is off, and let the clock run through spans nothing covers (the board
// still changes there). Fetching segment by segment, just before they play,
// is also what lets the server measure replay time from what it delivered.

import { covered, wanted, segmentUrl, AHEAD_S } from "./replay-model.js";

const DRIFT_S = 0.3; // re-seek an element this far off the clock
const SLACK_S = 0.25; // as replay-model's: a track "has media" this close to a segment
const KEEP_BEHIND_S = 30; // buffered media kept behind the play position

function once(target, event) {
  return new Promise((resolve) => target.addEventListener(event, resolve, { once: true }));
}

export function mseSupported(mime) {
  return typeof MediaSource !== "undefined" && MediaSource.isTypeSupported(mime);
}

export class TrackPlayer {
  /**
   * @param {HTMLMediaElement} el   the element to play in (muted for video: voices are separate)
   * @param {object} track          manifest track {id, kind, mime, segments}
   * @param {string} template       the manifest's segment_url
   * @param {number} duration       the recording's duration in seconds
   */
  constructor(el, track, template, duration) {
    this.el = el;
    this.track = track;
    this.kind = track.kind;
    this.template = template;
    this.duration = duration;
    this.appended = new Set(); // segment numbers in the buffer
    this.busy = false;
    this.failed = null;
    this.sb = null;
  }

  async open() {
    const ms = new MediaSource();
    this.ms = ms;
    this.el.src = URL.createObjectURL(ms);
    await once(ms, "sourceopen");
    this.sb = ms.addSourceBuffer(this.track.mime);
    this.sb.mode = "segments"; // the files' own timestamps place them
    const last = this.track.segments.reduce((m, s) => Math.max(m, s[2]), 0);
    ms.duration = Math.max(this.duration, last) + 0.1;
  }

  covered(t) {
    return covered(this.track.segments, t);
  }

  /** The loaded range that plays at t ({start, end}), or null: playing there would stall.
   * A range starting just after t counts (a segment starts at its first frame). */
  loadedAt(t) {
    const b = this.sb ? this.sb.buffered : null;
    if (!b) return null;
    for (let i = 0; i < b.length; i += 1) {
      if (b.start(i) - SLACK_S <= t && t < b.end(i) - 0.02) return { start: b.start(i), end: b.end(i) };
    }
    return null;
  }

  has(t) {
    return this.loadedAt(t) !== null;
  }

  /** A segment that plays at t is not in the buffer yet: the clock waits for it. (Not
   * "nothing buffered at t": a track's buffer may end a frame before its segment does.) */
  loading(t) {
    if (this.failed) return false;
    return this.track.segments.some(([n, start, end]) => start - SLACK_S <= t && t < end && !this.appended.has(n));
  }

  /** Load, in playback order, the segments needed around t (one request at a time). */
  async pump(t) {
    if (this.busy || !this.sb || this.failed) return;
    this.busy = true;
    try {
      this.evict(t);
      for (const [n] of wanted(this.track.segments, t, AHEAD_S)) {
        if (this.appended.has(n)) continue;
        const res = await fetch(segmentUrl(this.template, this.track.id, n));
        if (!res.ok) throw Object.assign(new Error(`segment ${n}: HTTP ${res.status}`), { status: res.status });
        const data = await res.arrayBuffer();
        await this.append(data);
        this.appended.add(n);
        break; // one at a time: the next tick asks again with the clock moved on
      }
    } catch (err) {
      this.failed = err;
    } finally {
      this.busy = false;
    }
  }

  async append(data) {
    if (this.sb.updating) await once(this.sb, "updateend");
    this.sb.appendBuffer(data);
    await once(this.sb, "updateend");
  }

  /** Drop media long behind the play position (phones have little memory). */
  evict(t) {
    const b = this.sb.buffered;
    if (!b.length || this.sb.updating || b.start(0) >= t - KEEP_BEHIND_S - 10) return;
    const upto = t - KEEP_BEHIND_S;
    this.sb.remove(0, upto);
    for (const [n, , end] of this.track.segments) if (end <= upto) this.appended.delete(n);
  }

  /** Follow the clock: play at `rate` when `run`, else hold; seek when off by more than DRIFT_S. */
  sync(t, run, rate) {
    const el = this.el;
    const range = this.covered(t) ? this.loadedAt(t) : null;
    if (!range) {
      if (!el.paused) el.pause();
      return;
    }
    const target = Math.max(t, range.start);
    if (Math.abs(el.currentTime - target) > DRIFT_S) el.currentTime = target;
    if (el.playbackRate !== rate) el.playbackRate = rate;
    if (run && el.paused) el.play().catch(() => {});
    else if (!run && !el.paused) el.pause();
  }

  /** Playing normally right now: its position may lead the clock. */
  steady(t) {
    const el = this.el;
    return !el.paused && el.readyState >= 3 && Math.abs(el.currentTime - t) < 0.5;
  }
}

/**
 * The replay clock: t in recording seconds, advanced by real time × rate while
 * playing, held while a track that has media now is still loading. A steadily
 * playing voice leads it, so audio never gets nudged by the clock.
 */
export class ReplayClock {
  constructor(duration, now = () => performance.now()) {
    this.duration = duration;
    this.now = now;
    this.t = 0;
    this.rate = 1;
    this.playing = false;
    this.waiting = false;
    this.last = now();
  }

  tick(players) {
    const now = this.now();
    const dt = Math.min(1, (now - this.last) / 1000);
    this.last = now;
    const t = this.t;
    this.waiting = players.some((p) => p.loading(t));
    if (this.playing && !this.waiting) {
      const lead = players.find((p) => p.kind === "audio" && p.covered(t) && p.steady(t));
      this.t = lead ? lead.el.currentTime : t + dt * this.rate;
      if (this.t >= this.duration) {
        this.t = this.duration;
        this.playing = false;
      }
    }
    for (const p of players) {
      p.sync(this.t, this.playing && !this.waiting, this.rate);
      p.pump(this.t);
    }
  }

  seek(t) {
    this.t = Math.min(Math.max(0, t), this.duration);
    this.last = this.now();
  }
}
