// The one go-between of the UI and the protocol. It holds a plain state object
// that only `reduce` changes, turns protocol events into reducer events, and
// offers `actions` to the UI. The UI subscribes and renders; it never talks to
// the protocol itself.
//
// State shape (everything plain data, safe to structuredClone):
//
// {
//   phase: "connecting" | "live" | "reconnecting" | "ended" | "error",
//   error: null | {code, message},      // why phase is "error": no_token, bad_token, expired,
//                                       //   full, unknown_session, replaced, disconnected
//   joinedOnce: bool,                   // a welcome arrived at least once (connecting → reconnecting)
//   resumed: bool,                      // the last welcome resumed a grace-period identity
//   lang: "zh-CN" | "en",
//   me: null | {id, name, role, present, hand, stage, pen, media, school?, district?},
//   caps: {publish: ["audio"|"video"], draw, grant, end, report},
//   session: null | {id, title, programme, form, state, record, scheduled_start, scheduled_end},
//   people: [person],                   // roster order; present:false kept and shown as gone
//                                       //   (a big audience's learner: the people who matter + me)
//   audience: {learners: int, listed: bool},   // learners here now; listed false: `people` is
//                                       //   not everyone (a big lecture), show the count
//   board: {seq, background, strokes: [stroke], pending: [stroke]}   (see whiteboard.js)
//   chat: {items: [{id, from, name, text, image, ts}], sending: int, unread: int},
//   media: {
//     local: {audio, video, screen},    // what we are sending now
//     starting: bool,                   // asking for camera/microphone
//     denied: null | "denied" | "insecure" | "notfound" | "busy" | "error",
//     audioOnly: bool,                  // the learner chose not to send video
//     remote: {[personId]: {audio, video}},   // media flowing from each remote person
//     soundBlocked: bool,               // autoplay refused sound; show "tap to enable sound"
//     pc: "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed",
//   },
//   tools: {tool: "pen" | "eraser", color: "#rrggbb", width: int, lastPenWidth?: int},
//   panel: "board" | "chat" | "people" | "report" | "marks",   // "board": a tab only narrower than the console (ui/app.js)
//   feedback: {open: null | bool, submitted: bool, submitted_at: null | iso, sending: bool, error: null | {code, message},
//              rules: null | {min_chars, min_distinct, window_hours, window_end}},   // the policy's numbers (GET /me)
//   report: {submitted_at: null | iso | "earlier", sending: bool, uploading: int, error: null | {code, message},
//            attachments: [{id, url}], rules: null | {min_chars, min_distinct, window_end, open, took_part}},
//   marks: {items: {[learner]: {problem, subject, knowledge_point, marked_at, by}},   // tutoring: the teacher's marks
//           saving: {[learner]: bool}, errors: {[learner]: {code, message, field?}}},
//   settlement: {data: null | {effective_minutes, time_points, rating_points_per_hour, ...}, error: null | {code, message}},
//   notices: [{id, level: "info" | "error", key, params?, code?, message?}],
//   recording: {on: bool, since: null | iso},   // the server is recording now (badge)
//   recordingKnown: bool,               // `recording` is the server's word on this connection;
//                                       //   false while (re)connecting: the badge says "unknown"
//   replays: [{id, replay_url, duration_s, complete}],   // after the end: my replay links
//   observer: bool,                     // a supervisor's read-only link (issue 16): receive only
//   clock: null | {started_at, elapsed_s, counted_minutes, min_minutes, max_minutes, counting,
//                  why_not, meets_minimum, took_part, final, at},   // GET /api/v1/me/clock;
//                                       //   `at`: when it arrived (ms), elapsed ticks from there
//   teacherSeen: bool,                  // an instructor was here on this page (presence.js)
//   link: {lostAt, offline, long},      // the connection's trouble, whose it is (presence.js)
// }

import {
  emptyBoard,
  applyBoardEvent,
  applyBoardState,
  addPending,
  dropPending,
  lastStrokeBy,
  newStrokeId,
  COLORS,
  PEN_WIDTHS,
} from "./whiteboard.js";
import { feedbackBody, problems } from "./feedback.js";
import { t } from "./i18n.js";
import { initialLink, LINK_LONG_MS, seesTeacher } from "./presence.js";

const QUALITY_LEVELS = new Set(["full", "reduced", "audio_only"]);

export const NO_CAPS = Object.freeze({ publish: [], draw: false, grant: false, end: false, report: false });

/**
 * The `role` claim of a join token, read without checking it (null when unreadable).
 * The page needs it before the welcome: an observer's page must never ask for the
 * participant API (`/api/v1/me`, which refuses observers) nor for a camera. The server
 * decides what anyone may do; this only picks the page. Pure.
 */
export function roleOfToken(token) {
  try {
    const part = String(token || "").split(".")[1] || "";
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims.role === "string" ? claims.role : null;
  } catch {
    return null;
  }
}

export function initialState({ lang = "zh-CN" } = {}) {
  return {
    phase: "connecting",
    error: null,
    joinedOnce: false,
    resumed: false,
    lang,
    me: null,
    caps: NO_CAPS,
    session: null,
    people: [],
    audience: { learners: 0, listed: true },
    board: emptyBoard(),
    chat: { items: [], sending: 0, unread: 0 },
    media: {
      local: { audio: false, video: false, screen: false },
      starting: false,
      denied: null,
      audioOnly: false,
      remote: {},
      soundBlocked: false,
      pc: "new",
    },
    tools: { tool: "pen", color: COLORS[0], width: PEN_WIDTHS[1] },
    panel: "chat",
    feedback: { open: null, submitted: false, submitted_at: null, sending: false, error: null, rules: null },
    report: { submitted_at: null, sending: false, uploading: 0, error: null, attachments: [], rules: null },
    marks: { items: {}, saving: {}, errors: {} },
    settlement: { data: null, error: null },
    notices: [],
    recording: { on: false, since: null },
    recordingKnown: false,
    replays: [],
    observer: false,
    clock: null,
    teacherSeen: false,
    link: initialLink(),
    quality: {}, // person → {level: "full"|"reduced"|"audio_only", reason}: what reaches them
    saver: false, // data saver chosen here: audio and the board only
  };
}

const FINAL = new Set(["ended", "error"]);

function audienceOf(data, people) {
  const d = data || {};
  const learners = Number.isInteger(d.learners) ? d.learners : people.filter((p) => p.role === "learner" && p.present !== false).length;
  return { learners, listed: d.listed !== false };
}

/**
 * Apply one `roster` event (docs/protocol.md, "Who is here") to the list: `added` and
 * `changed` are upserts by id (new people at the end, in the event's order), `removed`
 * ids leave the list, except `me` (my own entry stays; my state comes in `changed`).
 * Pure; returns `people` itself when nothing changed.
 */
export function applyRoster(people, data, me = null) {
  const d = data || {};
  const gone = new Set((d.removed || []).filter((id) => id !== me));
  const upserts = [...(d.added || []), ...(d.changed || [])].filter((p) => p && p.id);
  if (!gone.size && !upserts.length) return people;
  let next = gone.size ? people.filter((p) => !gone.has(p.id)) : people.slice();
  const at = new Map(next.map((p, i) => [p.id, i]));
  for (const p of upserts) {
    const i = at.get(p.id);
    if (i === undefined) {
      at.set(p.id, next.length);
      next.push(p);
    } else next[i] = { ...next[i], ...p };
  }
  return next;
}

function mergeChat(items, more) {
  const seen = new Set(items.map((c) => c.id));
  const add = more.filter((c) => c && !seen.has(c.id));
  return add.length ? items.concat(add) : items;
}

function withMedia(state, patch) {
  return { ...state, media: { ...state.media, ...patch } };
}

function ended(state) {
  return {
    ...withMedia(state, { local: { audio: false, video: false, screen: false }, remote: {}, pc: "closed" }),
    phase: "ended",
    session: state.session ? { ...state.session, state: "ended" } : state.session,
    recording: { on: false, since: null },
    recordingKnown: true,
  };
}

function recordingOf(data) {
  return { on: !!(data && data.on), since: (data && data.since) || null };
}

/**
 * What to tell people about a recording state from the server (`welcome.recording`
 * or a `recording` event), or null. `before` is the state it replaces; `rejoined`
 * is true for the welcome of a reconnect (a server restart looks like one). The
 * server's `reason` comes first: it resumed by itself after a restart, or it could
 * not start though the session is to be recorded.
 */
export function recordingNotice(before, data, rejoined = true) {
  const reason = data && data.reason;
  if (reason === "resumed" && data.on) return { level: "info", key: "recording.resumed" };
  if (reason === "failed" && !data.on) return { level: "error", key: "recording.failed" };
  if (!rejoined || !!(data && data.on) === !!(before && before.on)) return null;
  return { level: "info", key: data && data.on ? "recording.started" : "recording.stopped" };
}

/** Marks by learner, the later `marked_at` of each winning (a save may cross a fetch). Pure. */
export function newerMarks(mine, theirs) {
  const out = { ...mine };
  for (const [learner, mark] of Object.entries(theirs || {})) {
    const had = out[learner];
    if (!had || String(mark.marked_at || "") >= String(had.marked_at || "")) out[learner] = mark;
  }
  return out;
}

/** The one place state changes. Pure: (state, event) → state. */
export function reduce(state, ev) {
  switch (ev.type) {
    case "lang":
      return { ...state, lang: ev.lang };

    case "observer":
      return { ...state, observer: true };

    case "me": {
      // GET /api/v1/me: who I am, the session, the feedback window and the text
      // rules' numbers, a reviewer's report state, a tutoring session's marks.
      const d = ev.data || {};
      const fb = d.feedback || null;
      let next = {
        ...state,
        me: { ...(d.person || {}), ...(state.me || {}) },
        session: { ...(d.session || {}), ...(state.session || {}) },
        feedback: {
          ...state.feedback,
          open: !!d.feedback_open,
          submitted: !!fb || state.feedback.submitted,
          submitted_at: (fb && fb.submitted_at) || state.feedback.submitted_at,
          rules: d.feedback_rules || state.feedback.rules,
        },
        report: { ...state.report, rules: d.report_rules || state.report.rules },
        marks: d.marks ? { ...state.marks, items: newerMarks(state.marks.items, d.marks) } : state.marks,
      };
      if (d.session && d.session.state === "ended" && state.phase !== "error") next = ended(next);
      return next;
    }

    case "connecting":
      if (FINAL.has(state.phase)) return state;
      return { ...state, phase: state.joinedOnce ? "reconnecting" : "connecting", recordingKnown: false };

    case "welcome": {
      if (FINAL.has(state.phase)) return state;
      const m = ev.data;
      let next = {
        ...state,
        phase: "live",
        error: null,
        joinedOnce: true,
        resumed: !!m.resumed,
        me: { ...(state.me || {}), ...m.you },
        observer: state.observer || (m.you && m.you.role) === "observer",
        caps: { ...NO_CAPS, ...m.caps },
        session: { ...(state.session || {}), ...m.session },
        people: m.people || [],
        audience: audienceOf(m.audience, m.people || []),
        board: applyBoardState(state.board, m.board),
        chat: { ...state.chat, items: mergeChat([], m.chat || []) },
        recording: recordingOf(m.recording),
        recordingKnown: true,
        quality: {}, // this node tells again with our first offer's answer if not full
        teacherSeen: state.teacherSeen || seesTeacher(m.people, m.you && m.you.id),
        link: { ...state.link, lostAt: null, long: false },
      };
      if (m.session && m.session.state === "ended") next = ended(next);
      return next;
    }

    case "roster": {
      // Who is here changed (coalesced by the server; a reconnect's welcome replaces it all).
      if (FINAL.has(state.phase) || !ev.data) return state;
      const myId = state.me && state.me.id;
      const people = applyRoster(state.people, ev.data, myId);
      const a = ev.data.audience;
      const audience = a ? { learners: Number.isInteger(a.learners) ? a.learners : state.audience.learners, listed: a.listed === undefined ? state.audience.listed : a.listed !== false } : state.audience;
      if (people === state.people && audience.learners === state.audience.learners && audience.listed === state.audience.listed) return state;
      const next = { ...state, people, audience, teacherSeen: state.teacherSeen || seesTeacher(people, myId) };
      const mine = myId && [...(ev.data.added || []), ...(ev.data.changed || [])].filter((p) => p && p.id === myId).pop();
      if (mine) next.me = { ...state.me, ...mine };
      return next;
    }

    case "replays":
      return { ...state, replays: ev.items || [] };

    // Honest states (presence.js): when the link was lost, the browser's online flag,
    // the timeout that makes "reconnecting" into "the server does not answer".
    case "link_lost":
      if (FINAL.has(state.phase) || state.link.lostAt !== null) return state;
      return { ...state, link: { ...state.link, lostAt: ev.at, long: false } };

    case "link_long":
      if (state.link.lostAt === null || state.link.long || state.link.lostAt !== ev.since) return state;
      return { ...state, link: { ...state.link, long: true } };

    case "online":
      return state.link.offline === !ev.on ? state : { ...state, link: { ...state.link, offline: !ev.on } };

    case "invited":
      // My own invitation onto the stage, opened or withdrawn (the roster says it too).
      if (!state.me || !ev.data) return state;
      return { ...state, me: { ...state.me, invited: !!ev.data.open } };

    case "replaced_ended":
      // A replaced tab learns the session is over (it polls GET /api/v1/me).
      if (state.phase !== "error" || !state.error || state.error.code !== "replaced") return state;
      return { ...state, error: { ...state.error, ended: true } };

    case "quality": {
      // The server's per-subscriber level (rtc/quality.py): ours, or a learner's for a teacher.
      const d = ev.data;
      if (!d || typeof d.person !== "string" || !QUALITY_LEVELS.has(d.level)) return state;
      return { ...state, quality: { ...state.quality, [d.person]: { level: d.level, reason: String(d.reason || "") } } };
    }

    case "saver":
      return { ...state, saver: !!ev.on };

    case "clock":
      if (!ev.data || typeof ev.data !== "object") return state;
      return { ...state, clock: { ...ev.data, at: ev.at } };

    case "recording":
      if (FINAL.has(state.phase)) return state;
      return { ...state, recording: recordingOf(ev.data), recordingKnown: true };

    case "caps":
      return { ...state, caps: { ...NO_CAPS, ...ev.data } };

    case "chat": {
      const items = mergeChat(state.chat.items, [ev.data]);
      if (items === state.chat.items) return state;
      const mine = state.me && ev.data.from === state.me.id;
      const unread = state.panel === "chat" || mine ? state.chat.unread : state.chat.unread + 1;
      return { ...state, chat: { ...state.chat, items, unread } };
    }

    case "chat_sending":
      return { ...state, chat: { ...state.chat, sending: Math.max(0, state.chat.sending + ev.delta) } };

    case "board":
      return { ...state, board: applyBoardEvent(state.board, ev.data) };

    case "board_state":
      return { ...state, board: applyBoardState(state.board, ev.data) };

    case "stroke_pending":
      return { ...state, board: addPending(state.board, ev.stroke) };

    case "stroke_failed":
      return { ...state, board: dropPending(state.board, ev.id) };

    case "ended": {
      const learner = state.me && state.me.role === "learner";
      const next = ended(state);
      const open = learner && ev.data && ev.data.feedback ? true : state.feedback.open;
      return { ...next, feedback: { ...next.feedback, open } };
    }

    case "replaced":
      return { ...withMedia(state, { remote: {}, local: { audio: false, video: false, screen: false } }), phase: "error", error: { code: "replaced", message: "" } };

    case "disconnected":
      if (FINAL.has(state.phase)) return state;
      if (ev.willReconnect) return { ...withMedia(state, { remote: {}, pc: "closed" }), phase: state.joinedOnce ? "reconnecting" : "connecting", recordingKnown: false };
      return { ...withMedia(state, { remote: {}, pc: "closed" }), phase: "error", error: { code: "disconnected", message: ev.reason || "" } };

    case "connect_error":
      if (FINAL.has(state.phase) || !ev.fatal) return state;
      if (ev.code === "ended") return ended(state);
      return { ...state, phase: "error", error: { code: ev.code, message: ev.message || "", support: ev.support || "" } };

    case "notice": {
      // A refused action arrives twice (its ack and the server's `error` event): show it once.
      const n = ev.notice;
      const same = (o) => o.level === n.level && o.key === n.key && o.code === n.code && o.message === n.message;
      if (n.code && state.notices.some(same)) return state;
      // Hands: one notice saying the latest and how many, never a stack over the board.
      const kept = n.group ? state.notices.filter((o) => o.group !== n.group) : state.notices;
      return { ...state, notices: kept.concat(n).slice(-3) };
    }

    case "notice_done":
      return { ...state, notices: state.notices.filter((n) => n.id !== ev.id) };

    case "local":
      return withMedia(state, { local: { audio: !!ev.data.audio, video: !!ev.data.video, screen: !!ev.data.screen } });

    case "media_starting":
      return withMedia(state, { starting: !!ev.on });

    case "media_denied":
      return withMedia(state, { denied: ev.reason || null });

    case "audio_only":
      return withMedia(state, { audioOnly: !!ev.on });

    case "remote":
      return withMedia(state, { remote: ev.data || {} });

    case "pc_state":
      return withMedia(state, { pc: ev.state });

    case "sound_blocked":
      return state.media.soundBlocked ? state : withMedia(state, { soundBlocked: true });

    case "sound_enabled":
      return withMedia(state, { soundBlocked: false });

    case "tools":
      return { ...state, tools: { ...state.tools, ...ev.patch } };

    case "panel":
      return { ...state, panel: ev.panel, chat: ev.panel === "chat" ? { ...state.chat, unread: 0 } : state.chat };

    case "feedback_status":
      return { ...state, feedback: { ...state.feedback, ...ev.patch } };

    case "report_status":
      return { ...state, report: { ...state.report, ...ev.patch } };

    case "report_attach":
      return { ...state, report: { ...state.report, attachments: state.report.attachments.concat(ev.item) } };

    case "report_detach":
      return { ...state, report: { ...state.report, attachments: state.report.attachments.filter((a) => a.id !== ev.id) } };

    case "mark_saving": {
      const m = state.marks;
      return { ...state, marks: { ...m, saving: { ...m.saving, [ev.learner]: true }, errors: { ...m.errors, [ev.learner]: null } } };
    }

    case "mark_saved": {
      const m = state.marks;
      const { learner, ...mark } = ev.mark;
      return { ...state, marks: { items: { ...m.items, [learner]: mark }, saving: { ...m.saving, [learner]: false }, errors: { ...m.errors, [learner]: null } } };
    }

    case "mark_failed": {
      const m = state.marks;
      return { ...state, marks: { ...m, saving: { ...m.saving, [ev.learner]: false }, errors: { ...m.errors, [ev.learner]: ev.error } } };
    }

    case "settlement":
      return { ...state, settlement: { data: ev.data || null, error: ev.error || null } };

    default:
      return state;
  }
}

/**
 * Wire a Protocol to a state store.
 * @param {object} o
 * @param {import("./protocol.js").Protocol} o.protocol
 * @param {(file: Blob) => Promise<Blob>} o.prepareImage  downscale before upload
 * @param {(lang: string) => Promise<string>} o.loadLang
 * @param {(lang: string) => void} o.rememberLang
 * @param {string} o.lang
 */
export function createClient({ protocol, prepareImage = async (f) => f, loadLang, rememberLang, lang = "zh-CN" }) {
  let state = initialState({ lang });
  const subscribers = new Set();
  const uploaded = new Map(); // upload id -> url we were given
  let noticeId = 0;

  function dispatch(ev) {
    const next = reduce(state, ev);
    if (next === state) return;
    state = next;
    for (const fn of [...subscribers]) fn(state);
  }

  function notify(level, key, extra = {}) {
    noticeId += 1;
    const id = noticeId;
    dispatch({ type: "notice", notice: { id, level, key, ...extra } });
    setTimeout(() => dispatch({ type: "notice_done", id }), level === "error" ? 7000 : 4000);
  }

  function fail(err) {
    notify("error", "error.action", { code: (err && err.code) || "failed", message: (err && err.message) || "" });
  }

  // ---- publishing follows the caps -----------------------------------------
  let lastAllowed = null;
  let publishing = Promise.resolve();

  function syncPublishing() {
    publishing = publishing.then(async () => {
      if (state.phase !== "live") return;
      const allowed = [...(state.caps.publish || [])].sort().join(",");
      if (allowed === lastAllowed) return;
      const had = lastAllowed;
      lastAllowed = allowed;
      if (!allowed) {
        if (had) protocol.stopLocal();
        return;
      }
      const set = new Set(state.caps.publish);
      dispatch({ type: "media_starting", on: true });
      try {
        const res = await protocol.startLocal({ audio: set.has("audio"), video: set.has("video") && !state.media.audioOnly });
        dispatch({ type: "media_denied", reason: res.denied });
      } finally {
        dispatch({ type: "media_starting", on: false });
      }
    });
    return publishing;
  }

  // ---- protocol → reducer ---------------------------------------------------
  const on = (type, fn) => protocol.on(type, fn);
  // A lost link: after LINK_LONG_MS without a welcome the page says the server is not
  // answering (presence.js); the browser's online flag says when it is this device.
  function linkLost() {
    if (state.link.lostAt !== null || FINAL.has(state.phase)) return;
    const at = Date.now();
    dispatch({ type: "link_lost", at });
    setTimeout(() => dispatch({ type: "link_long", since: at }), LINK_LONG_MS);
  }
  const win = typeof window === "undefined" ? null : window;
  if (win && win.addEventListener) {
    win.addEventListener("online", () => dispatch({ type: "online", on: true }));
    win.addEventListener("offline", () => dispatch({ type: "online", on: false }));
    if (win.navigator && win.navigator.onLine === false) dispatch({ type: "online", on: false });
  }
  on("connecting", () => {
    dispatch({ type: "connecting" });
    linkLost();
  });
  on("welcome", (data) => {
    const before = state.recording;
    const rejoined = state.joinedOnce;
    dispatch({ type: "welcome", data });
    pollClock();
    tellRecording(before, data && data.recording, rejoined);
    syncPublishing();
  });
  on("caps", (data) => {
    const before = state.caps;
    dispatch({ type: "caps", data });
    // A learner's camera may switch on because of the teacher: say so.
    const had = (before.publish || []).length > 0;
    const has = (state.caps.publish || []).length > 0;
    if (has !== had) notify("info", has ? (state.media.audioOnly ? "notice.on_stage_mic" : "notice.on_stage") : "notice.off_stage");
    if (!!state.caps.draw !== !!before.draw) notify("info", state.caps.draw ? "notice.pen_on" : "notice.pen_off");
    syncPublishing();
  });
  on("roster", (data) => {
    const before = new Map(state.people.map((p) => [p.id, p]));
    dispatch({ type: "roster", data });
    // Tell an instructor who can grant that a hand went up, wherever the list is: one
    // notice (the latest name, how many are up). A declined invitation is its own
    // event (stage_declined, below): a decline coalesced with the invitation never
    // shows in the roster.
    if (!state.caps.grant || !data) return;
    for (const p of [...(data.added || []), ...(data.changed || [])]) {
      const had = before.get(p.id);
      if (p.hand && p.present !== false && !(had && had.hand)) {
        const n = state.people.filter((x) => x.present !== false && x.hand).length;
        notify("info", n > 1 ? "notice.hands" : "notice.hand", { params: n > 1 ? { name: p.name, n } : { name: p.name }, group: "hand", icon: "hand" });
      }
    }
  });
  on("invited", (data) => dispatch({ type: "invited", data }));
  on("stage_declined", (data) => {
    const p = state.people.find((x) => data && x.id === data.person);
    notify("info", "notice.declined", { params: { name: (p && p.name) || (data && data.name) || "" }, icon: "stage" });
  });
  on("muted", (data) => {
    // The server already stopped forwarding my sound; switch the microphone off too.
    if (state.media.local.audio) protocol.setMic(false);
    notify("info", "notice.muted", { params: { name: (data && data.by) || "" }, icon: "micOff" });
  });
  for (const type of ["chat", "board", "board_state", "remote"]) on(type, (data) => dispatch({ type, data }));
  on("local", (data) => dispatch({ type: "local", data }));
  on("pc_state", (s) => dispatch({ type: "pc_state", state: s }));
  on("ended", (data) => {
    dispatch({ type: "ended", data });
    lastAllowed = null;
    if (state.observer) return; // no feedback, settlement or replay links to fetch
    loadClock(); // the final figures, for the teacher's summary
    protocol.me().then((d) => {
      dispatch({ type: "me", data: d });
      loadSettlement();
    }, () => {});
    loadReplays();
  });
  on("replaced", () => {
    dispatch({ type: "replaced" });
    watchReplaced();
  });
  // A replaced tab is disconnected, so it would never hear "ended": it asks the
  // participant API now and then, and says so when the session is over.
  const REPLACED_POLL_MS = 15000;
  function watchReplaced() {
    if (typeof protocol.me !== "function") return;
    const poll = () => {
      if (state.phase !== "error" || !state.error || state.error.code !== "replaced") return;
      protocol.me().then(
        (d) => {
          if (d && d.session && d.session.state === "ended") dispatch({ type: "replaced_ended" });
          else setTimeout(poll, REPLACED_POLL_MS);
        },
        (err) => (err && err.code === "ended" ? dispatch({ type: "replaced_ended" }) : setTimeout(poll, REPLACED_POLL_MS)),
      );
    };
    setTimeout(poll, REPLACED_POLL_MS);
  }
  // Everyone is told, not only shown a badge: participants include minors. A notice
  // with a server reason is shown once per recording (a welcome may repeat it).
  let toldReason = null;
  function tellRecording(before, data, rejoined) {
    const n = recordingNotice(before, data, rejoined);
    if (!n) return;
    if (data && data.reason) {
      const key = `${data.reason}:${data.since}`;
      if (key === toldReason) return;
      toldReason = key;
    }
    notify(n.level, n.key);
  }
  on("recording", (data) => {
    const before = state.recording;
    dispatch({ type: "recording", data });
    tellRecording(before, data, true);
  });
  on("quality", (data) => dispatch({ type: "quality", data }));
  on("recording_error", (d) => notify("error", "recording.error", { params: { message: (d && (d.message || d.code)) || "" } }));
  on("disconnected", (d) => {
    dispatch({ type: "disconnected", ...d });
    if (d && d.willReconnect) linkLost();
  });
  on("connect_error", (d) => dispatch({ type: "connect_error", ...d }));
  on("server_error", (d) => {
    // What the page still sent as the session ended (its camera stopping): refused as
    // "ended", or "stale" (the room let go of every connection), which the page
    // already says; no error toast over the feedback form.
    if (state.phase === "ended" && (d.code === "ended" || d.code === "stale")) return;
    notify("error", "error.action", { code: d.code, message: d.message });
  });
  on("screen_ended", () => notify("info", "notice.screen_stopped"));

  // ---- the clock that pays (GET /api/v1/me/clock) ------------------------------
  // Polled every 30 s while the page is visible (the server computes at most every 15 s
  // per session; the elapsed time ticks in the page between polls); once at the end.
  const CLOCK_POLL_MS = 30000;
  const CLOCK_START_MS = 5000; // not started yet: the start is worth showing soon
  let clockTimer = null;
  const doc = typeof document === "undefined" ? null : document;
  async function loadClock() {
    if (state.observer || typeof protocol.http !== "function") return;
    try {
      dispatch({ type: "clock", data: await protocol.http("GET", "/api/v1/me/clock"), at: Date.now() });
    } catch {
      /* the header keeps what it had; the next poll tries again */
    }
  }
  async function pollClock() {
    clearTimeout(clockTimer);
    clockTimer = null;
    if (state.observer || FINAL.has(state.phase) || !doc || doc.hidden) return;
    const mine = {};
    clockTimer = mine; // a newer poll (welcome, visible again) supersedes this one
    await loadClock();
    if (clockTimer !== mine || FINAL.has(state.phase) || doc.hidden) return;
    const started = state.clock && state.clock.started_at && state.clock.why_not !== "not_started";
    clockTimer = setTimeout(pollClock, started ? CLOCK_POLL_MS : CLOCK_START_MS);
  }
  if (doc) doc.addEventListener("visibilitychange", () => (doc.hidden ? clearTimeout(clockTimer) : pollClock()));

  /** My replay links (signed for me, fetched fresh). A recording is listed a moment
   * after the end, once its files are closed: ask again a few times. */
  async function loadReplays(attempt = 0) {
    let items = [];
    try {
      const d = await protocol.recordings();
      items = (d && d.recordings) || [];
    } catch {
      return; // no links: the page works without them
    }
    dispatch({ type: "replays", items });
    if (!items.length && attempt < 3) setTimeout(() => loadReplays(attempt + 1), 3000);
  }

  /** A tutoring learner's payment step after the end: the minutes and the points for
   * time the server computed (GET /api/v1/me/settlement). */
  async function loadSettlement() {
    const s = state;
    if (!s.me || s.me.role !== "learner" || !s.session || s.session.programme !== "tutoring" || s.phase !== "ended") return;
    try {
      dispatch({ type: "settlement", data: await protocol.settlement() });
    } catch (err) {
      dispatch({ type: "settlement", error: { code: err.code, message: err.message } });
    }
  }

  function mediaUrl(ref) {
    return uploaded.get(ref) || protocol.mediaUrl(ref);
  }

  async function uploadPicture(file) {
    if (!file || !/^image\//.test(file.type || "")) throw Object.assign(new Error("not an image"), { code: "not_image" });
    const blob = await prepareImage(file);
    const up = await protocol.upload(blob);
    uploaded.set(up.id, up.url);
    return up;
  }

  const me = () => (state.me && state.me.id) || null;

  const actions = {
    toggleSaver() {
      const on = !state.saver;
      dispatch({ type: "saver", on });
      protocol.setSaver(on);
    },

    async start({ token }) {
      if (!token) {
        dispatch({ type: "connect_error", code: "no_token", message: "", fatal: true });
        return;
      }
      if (roleOfToken(token) === "observer") {
        // A supervisor watching: straight to the room, nothing of the participant API.
        dispatch({ type: "observer" });
        protocol.connect();
        return;
      }
      protocol.me().then(
        (data) => {
          dispatch({ type: "me", data });
          if (data && data.session && data.session.state === "ended") {
            loadReplays();
            loadSettlement();
            loadClock();
          }
        },
        (err) => {
          if (err.status === 401 || err.status === 403 || err.status === 404) {
            const code = ["expired", "ended", "unknown_session"].includes(err.code) ? err.code : "bad_token";
            if (code !== "ended") protocol.close();
            dispatch({ type: "connect_error", code, message: err.message, support: err.support, fatal: true });
          }
        },
      );
      protocol.connect();
    },

    leave() {
      protocol.leave();
    },

    /** The clock again now (the end dialog words the latest figures). */
    refreshClock: () => loadClock(),

    async toggleMic() {
      // Muted by the teacher: switching the microphone on is unmuting oneself.
      if (!state.media.local.audio && state.me && state.me.muted) await protocol.unmute().catch(fail);
      const res = await protocol.setMic(!state.media.local.audio);
      if (res.denied) dispatch({ type: "media_denied", reason: res.denied });
    },

    async toggleCamera() {
      if (state.media.local.screen) return;
      const on = !state.media.local.video;
      dispatch({ type: "audio_only", on: !on });
      const res = await protocol.setCamera(on);
      if (res.denied) dispatch({ type: "media_denied", reason: res.denied });
    },

    async toggleScreen() {
      try {
        if (state.media.local.screen) await protocol.stopScreen();
        else await protocol.startScreen();
      } catch (err) {
        if (err && err.name !== "NotAllowedError" && err.name !== "AbortError") fail(err);
      }
    },

    canShareScreen: () => protocol.canShareScreen(),

    raiseHand() {
      const up = !(state.me && state.me.hand);
      return protocol.hand(up).catch(fail);
    },

    grant(person, what, on) {
      return protocol.grant(person, what, on).catch(fail);
    },

    /** The learner's answer to the stage invitation: the microphone first, the camera
     * only when they chose it (off by default for a minor, see controls.js). */
    answerStage(accept, camera = false) {
      if (accept) dispatch({ type: "audio_only", on: !camera });
      return protocol.stageAnswer(accept).catch(fail);
    },

    mute(person) {
      return protocol.mute(person).catch(fail);
    },

    handsDown() {
      return protocol.handsDown().catch(fail);
    },

    async sendChat(text) {
      const body = String(text || "").trim();
      if (!body) return false;
      try {
        const ack = await protocol.chat({ text: body.slice(0, 2000) });
        if (ack && ack.chat && ack.chat.id) dispatch({ type: "chat", data: ack.chat });
        return true;
      } catch (err) {
        fail(err);
        return false;
      }
    },

    async sendImage(file) {
      dispatch({ type: "chat_sending", delta: 1 });
      try {
        const up = await uploadPicture(file);
        const ack = await protocol.chat({ image: up.id });
        if (ack && ack.chat && ack.chat.id) dispatch({ type: "chat", data: ack.chat });
      } catch (err) {
        fail(err);
      } finally {
        dispatch({ type: "chat_sending", delta: -1 });
      }
    },

    drawStroke(stroke) {
      if (!state.caps.draw) return;
      const id = newStrokeId();
      const op = { type: "stroke", id, tool: stroke.tool, color: stroke.color, width: stroke.width, points: stroke.points };
      dispatch({ type: "stroke_pending", stroke: { ...op, by: me(), seq: 0 } });
      protocol.board(op).catch((err) => {
        dispatch({ type: "stroke_failed", id });
        fail(err);
      });
    },

    undo() {
      const id = lastStrokeBy(state.board, me());
      if (id) protocol.board({ type: "undo", id }).catch(fail);
    },

    clearBoard() {
      return protocol.board({ type: "clear" }).catch(fail);
    },

    async setBackground(file) {
      try {
        const up = await uploadPicture(file);
        await protocol.board({ type: "background", image: up.id });
      } catch (err) {
        fail(err);
      }
    },

    clearBackground() {
      return protocol.board({ type: "background", image: null }).catch(fail);
    },

    toggleRecording() {
      return protocol.record(!state.recording.on).catch(fail);
    },

    endSession() {
      return protocol.end().catch(fail);
    },

    soundBlocked() {
      dispatch({ type: "sound_blocked" });
    },

    soundEnabled() {
      dispatch({ type: "sound_enabled" });
    },

    setTools(patch) {
      dispatch({ type: "tools", patch });
    },

    setPanel(panel) {
      dispatch({ type: "panel", panel });
    },

    async setLang(l) {
      const got = await loadLang(l);
      rememberLang(got);
      dispatch({ type: "lang", lang: got });
    },

    async submitFeedback(form) {
      const short = !!(state.session && state.session.programme === "tutoring"); // a student: rating + optional comment
      if (problems(form, state.feedback.rules, short).length || state.feedback.sending) return;
      dispatch({ type: "feedback_status", patch: { sending: true, error: null } });
      const headings = { gain: t("feedback.gain"), reflection: t("feedback.reflection"), suggestion: t("feedback.suggestion") };
      try {
        const res = await protocol.feedback(feedbackBody(form, headings, short));
        dispatch({ type: "feedback_status", patch: { sending: false, submitted: true, submitted_at: (res && res.submitted_at) || new Date().toISOString() } });
      } catch (err) {
        if (err.code === "already_submitted") dispatch({ type: "feedback_status", patch: { sending: false, submitted: true, error: null } });
        else if (err.code === "closed") dispatch({ type: "feedback_status", patch: { sending: false, open: false, error: null } });
        else dispatch({ type: "feedback_status", patch: { sending: false, error: { code: err.code, message: err.message } } });
      }
    },

    async attachToReport(file) {
      dispatch({ type: "report_status", patch: { uploading: state.report.uploading + 1 } });
      try {
        const up = await uploadPicture(file);
        dispatch({ type: "report_attach", item: { id: up.id, url: up.url } });
      } catch (err) {
        fail(err);
      } finally {
        dispatch({ type: "report_status", patch: { uploading: Math.max(0, state.report.uploading - 1) } });
      }
    },

    detachFromReport(id) {
      dispatch({ type: "report_detach", id });
    },

    /** The tutoring teacher's mark of one learner (problem, subject, knowledge point). */
    async saveMark(learner, mark) {
      if (state.marks.saving[learner]) return false;
      dispatch({ type: "mark_saving", learner });
      try {
        const saved = await protocol.mark({ learner, problem: mark.problem, subject: mark.subject, knowledge_point: mark.knowledge_point });
        dispatch({ type: "mark_saved", mark: { ...saved, learner } });
        return true;
      } catch (err) {
        dispatch({ type: "mark_failed", learner, error: { code: err.code, message: err.message, field: err.field } });
        return false;
      }
    },

    loadSettlement,

    async submitReport(text) {
      const body = String(text || "").trim();
      if (!body || state.report.sending || state.report.submitted_at) return false;
      dispatch({ type: "report_status", patch: { sending: true, error: null } });
      try {
        const res = await protocol.report({ text: body, attachments: state.report.attachments.map((a) => a.id) });
        dispatch({ type: "report_status", patch: { sending: false, submitted_at: (res && res.submitted_at) || new Date().toISOString() } });
        return true;
      } catch (err) {
        if (err.code === "already_submitted") dispatch({ type: "report_status", patch: { sending: false, submitted_at: "earlier" } });
        else dispatch({ type: "report_status", patch: { sending: false, error: { code: err.code, message: err.message } } });
        return false;
      }
    },
  };

  return {
    getState: () => state,
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
    dispatch,
    actions,
    mediaUrl,
    localStream: () => protocol.localStream,
    streamFor: (person) => protocol.streamFor(person),
  };
}
