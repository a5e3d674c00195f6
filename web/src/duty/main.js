// The duty page (a teacher on duty) and the "find a teacher" page (a student), one
// page reached by the platform's signed link /duty?token=…; the pass says which.
// Socket.io namespace /oncall (docs/protocol.md); pure wording in ./model.js.
// When a call is accepted both land in the tutoring session, shown in a frame of
// this page so that the limit's warning and the rest message can still reach them.

import { io } from "socket.io-client";
import { t, loadStartLang, switchToOtherLang } from "../i18n.js";
import { SUBJECTS, callLine, refusal, ringLeft, whyListed } from "./model.js";
import { h } from "../ui/dom.js";

const root = document.getElementById("duty");
const linkParams = new URLSearchParams(location.search);
const token = linkParams.get("token") || "";
// A call to place at once: the page came here from another node, the teacher's
// ("elsewhere", docs/protocol.md), whose switchboard rings them. Once only: `hop`.
const carried = linkParams.get("call")
  ? { teacher: linkParams.get("call"), subject: linkParams.get("subject") || "", wait: linkParams.get("wait") === "1" }
  : null;
// The link's token should not stay in the address bar (screenshots, shoulder surfing).
history.replaceState(null, "", location.pathname);

const state = {
  me: null,
  open: null,
  duty: "away", // teacher: on_duty | in_session | away
  ringing: null, // teacher: the call ringing, with receivedAt
  call: null, // student: my call
  callAt: 0,
  teachers: [],
  subject: "",
  notice: null, // [key, params]
  session: null, // join URL once in a session
  warning: null,
  rest: null,
  limits: null,
  offline: false,
};
let socket = null;
let ticker = null;
let ringSound = null;

async function start() {
  await loadStartLang();
  if (!token) return fail("no_token");
  socket = io("/oncall", { auth: { token }, transports: ["websocket"] });
  socket.on("connect_error", (err) => fail((err && err.data && err.data.code) || "offline", true));
  socket.on("disconnect", () => { state.offline = true; render(); });
  socket.on("connect", () => { state.offline = false; });
  socket.on("hello", (hello) => {
    state.me = hello.me;
    state.open = hello.open;
    state.duty = hello.state;
    state.limits = hello.limits;
    if (hello.call) { state.call = hello.call; state.callAt = Date.now(); }
    // A page reloaded during its session goes straight back in.
    if (hello.session_url) state.session = hello.session_url;
    if (state.me.kind === "student_call") refreshList();
    render();
    if (carried && state.me.kind === "student_call" && !carried.done && !state.call) {
      carried.done = true;
      state.subject = carried.subject;
      callTeacher({ teacher: carried.teacher, subjects: [carried.subject] }, carried.wait, true);
    }
  });
  socket.on("duty", (d) => { state.duty = d.state; render(); });
  socket.on("call", onCall);
  socket.on("teachers_changed", () => refreshList());
  socket.on("qa_question", (d) => { state.notice = ["duty.qa_new", { subject: subjectName(d.subject) }]; render(); });
  socket.on("limit_warning", (d) => { state.warning = d.minutes_left; render(); });
  socket.on("limit_reached", (d) => {
    state.session = null;
    state.warning = null;
    state.rest = d.rest_minutes;
    state.call = null;
    render();
  });
  // Teachers on other nodes change the list without telling this node's students: look
  // again every 15 s while the page is visible (and at once when it comes back).
  setInterval(() => { if (!document.hidden && !state.session) refreshList(); }, 15000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !state.session) refreshList(); });
  ticker = setInterval(() => { if (state.ringing || (state.call && state.call.state === "ringing")) render(); }, 1000);
}

function fail(code, keep) {
  state.failed = code;
  if (!keep && socket) socket.close();
  render();
}

function emit(event, data) {
  return new Promise((resolve) => socket.timeout(15000).emit(event, data, (err, ack) => resolve(err ? { ok: false, error: { code: "offline" } } : ack)));
}

function onCall(c) {
  if (state.me && state.me.kind === "teacher_duty") {
    if (c.state === "ringing") {
      state.ringing = { ...c, receivedAt: Date.now() };
      ring(true);
    } else if (state.ringing && state.ringing.call === c.call) {
      state.ringing = null;
      ring(false);
      if (c.state === "accepted" && c.join_url) state.session = c.join_url;
      else if (c.state === "timed_out") state.notice = ["duty.teacher.missed", {}];
      else if (c.state === "cancelled" && c.reason === "student") state.notice = ["duty.teacher.caller_left", {}];
    }
  } else {
    state.call = c;
    state.callAt = Date.now();
    if (c.state === "accepted" && c.join_url) state.session = c.join_url;
    if (c.state !== "ringing" && c.state !== "queued") {
      state.notice = callLine(c);
      state.call = null;
      refreshList();
    }
  }
  render();
}

// A ring both heard and seen: a two-tone chime every 2 s while ringing, a vibration
// where the device has one, and the tab's title (a teacher may be in another tab).
function ring(on) {
  if (ringSound) { clearInterval(ringSound.timer); ringSound.ctx.close().catch(() => {}); ringSound = null; }
  document.title = on ? `● ${t("duty.teacher.ring_title")}` : t("app.name");
  if (!on) return;
  try {
    const ctx = new AudioContext();
    const chime = () => {
      for (const [f, at] of [[880, 0], [660, 0.25]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = f;
        gain.gain.setValueAtTime(0.2, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.22);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.24);
      }
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    };
    chime();
    ringSound = { ctx, timer: setInterval(chime, 2000) };
  } catch {
    /* no audio: the ring is still shown */
  }
}

async function refreshList() {
  if (!socket || !state.me || state.me.kind !== "student_call") return;
  const ack = await emit("teachers", { subject: state.subject || null });
  if (ack && ack.ok) {
    state.teachers = ack.teachers;
    state.open = ack.open;
  }
  render();
}

async function setDuty(on) {
  const ack = await emit("duty", { on });
  state.notice = ack.ok ? null : refusal(ack.error);
  if (ack.ok) state.duty = ack.state;
  render();
}

async function answer(accept) {
  const call = state.ringing;
  if (!call) return;
  state.ringing = null;
  ring(false);
  render();
  const ack = await emit("answer", { call: call.call, accept });
  if (!ack.ok) state.notice = refusal(ack.error);
  else if (accept && ack.join_url) state.session = ack.join_url;
  render();
}

async function callTeacher(teacher, wait, hopped = false) {
  state.notice = null;
  state.rest = null;
  const subject = state.subject || teacher.subjects[0];
  const ack = await emit("call", { teacher: teacher.teacher, subject, wait });
  if (!ack.ok && ack.error && ack.error.code === "elsewhere" && ack.error.url && !hopped) {
    // The teacher is on another node: go there with this pass and call again.
    const next = new URLSearchParams({ token, call: teacher.teacher, subject, wait: wait ? "1" : "0" });
    location.assign(new URL(`/duty?${next}`, ack.error.url).href);
    return;
  }
  if (!ack.ok) state.notice = refusal(ack.error);
  else if (ack.call && !["accepted", "declined", "timed_out", "cancelled"].includes(ack.call.state)) {
    state.call = ack.call;
    state.callAt = Date.now();
  }
  render();
}

async function cancelCall() {
  if (!state.call) return;
  await emit("cancel", { call: state.call.call });
}

async function switchLang() {
  await switchToOtherLang();
  render();
}

// -- rendering (the whole page: it has a few dozen elements at most)


function tx(key, params) {
  return t(key, params);
}

function subjectName(code) {
  return tx(`duty.subject.${code}`);
}

function render() {
  root.replaceChildren();
  if (state.failed) {
    root.dataset.phase = "error";
    const code = ["no_token", "bad_token", "expired"].includes(state.failed) ? state.failed : "offline";
    root.append(h("section", { class: "card center", "data-testid": "duty-error" },
      h("h1", { text: tx("duty.error.title") }), h("p", { text: tx(`duty.error.${code}`) })));
    return;
  }
  if (!state.me) {
    root.append(h("div", { class: "boot", role: "status", text: tx("status.connecting") }));
    return;
  }
  if (state.session) return renderSession();
  root.dataset.phase = state.me.kind === "teacher_duty" ? "teacher" : "student";
  root.append(header());
  root.append(h("p", { class: "small" }, h("a", { href: `/qa?token=${encodeURIComponent(token)}`, "data-testid": "duty-qa", text: tx("duty.qa_link") })));
  root.append(h("p", { class: "small" }, h("a", { href: `/lessons?token=${encodeURIComponent(token)}`, "data-testid": "duty-lessons", text: tx("duty.lessons_link") })));
  if (state.offline) root.append(h("p", { class: "banner warn", role: "status", text: tx("duty.offline") }));
  if (state.rest) root.append(h("p", { class: "banner rest", role: "status", "data-testid": "duty-rest", text: tx("duty.limit.rest", { minutes: state.rest }) }));
  if (state.notice) root.append(h("p", { class: "banner", role: "status", "data-testid": "duty-notice", text: tx(state.notice[0], state.notice[1]) }));
  if (state.me.kind === "teacher_duty") renderTeacher();
  else renderStudent();
}

function header() {
  const me = state.me;
  return h("header", { class: "top" },
    h("div", { class: "who" },
      h("strong", { text: me.name }),
      h("span", { class: "muted", text: [me.school, me.kind === "student_call" && me.grade ? tx(`duty.grade.${me.grade}`) : ""].filter(Boolean).join(" · ") })),
    h("button", { class: "link", onclick: switchLang, text: tx("app.switch_lang") }));
}

function hoursLine() {
  const o = state.open || {};
  if (o.open) return h("p", { class: "muted", "data-testid": "duty-hours", text: tx("duty.open_now") });
  return h("p", { class: "muted", "data-testid": "duty-hours", text: tx(refusal({ code: "closed", open: o })[0], { hours: (o.today || []).join("、") }) });
}

function renderTeacher() {
  const on = state.duty === "on_duty";
  const busy = state.duty === "in_session";
  root.append(h("section", { class: "card" },
    h("p", { class: `pill ${state.duty}`, "data-testid": "duty-state", text: tx(`duty.state.${state.duty}`) }),
    h("p", { class: "muted", text: tx("duty.teacher.subjects", { subjects: state.me.subjects.map(subjectName).join("、"), grades: state.me.grades.map((g) => tx(`duty.grade.${g}`)).join("、") }) }),
    hoursLine(),
    busy ? null : h("button", { class: on ? "btn" : "btn primary", "data-testid": on ? "duty-off" : "duty-on", onclick: () => setDuty(!on), text: tx(on ? "duty.teacher.go_away" : "duty.teacher.go_on") }),
    h("p", { class: "muted small", text: tx("duty.teacher.hint", { s: (state.limits && state.limits.ring_s) || 30 }) })));
  if (state.ringing) {
    const c = state.ringing;
    const s = c.student || {};
    root.append(h("div", { class: "ring", role: "alertdialog", "aria-live": "assertive", "data-testid": "duty-ring" },
      h("div", { class: "ring-card" },
        bell(),
        h("h2", { text: tx("duty.teacher.ringing", { name: s.name || "" }) }),
        h("p", { text: [s.school, s.grade ? tx(`duty.grade.${s.grade}`) : "", subjectName(c.subject)].filter(Boolean).join(" · ") }),
        h("p", { class: "muted", text: tx("duty.teacher.ring_left", { s: ringLeft(c, c.receivedAt, Date.now()) }) }),
        h("div", { class: "row" },
          h("button", { class: "btn danger", "data-testid": "duty-decline", onclick: () => answer(false), text: tx("duty.teacher.decline") }),
          h("button", { class: "btn primary", "data-testid": "duty-accept", onclick: () => answer(true), text: tx("duty.teacher.accept") })))));
  }
}

// A bell drawn, not an emoji: phones and Linux desktops may lack an emoji font.
function bell() {
  const el = h("p", { class: "bell", "aria-hidden": "true" });
  el.innerHTML = '<svg viewBox="0 0 24 24" width="48" height="48" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>';
  return el;
}

function renderStudent() {
  root.append(hoursLine());
  root.append(h("nav", { class: "chips", "aria-label": tx("duty.student.subject") },
    h("button", { class: state.subject ? "chip" : "chip on", onclick: () => pick(""), text: tx("duty.student.all") }),
    SUBJECTS.map((code) => h("button", { class: state.subject === code ? "chip on" : "chip", "data-testid": `subject-${code}`, onclick: () => pick(code), text: subjectName(code) }))));
  if (state.call) {
    const line = callLine({ ...state.call, ring_left_s: ringLeft(state.call, state.callAt, Date.now()) });
    root.append(h("section", { class: "card calling", role: "status", "data-testid": "duty-calling" },
      h("p", { text: tx(line[0], line[1]) }),
      h("button", { class: "btn", "data-testid": "duty-cancel", onclick: cancelCall, text: tx("duty.student.cancel") })));
  }
  root.append(h("p", { class: "muted small", text: tx("duty.student.order") }));
  if (!state.teachers.length) {
    root.append(h("p", { class: "empty", "data-testid": "duty-empty", text: tx("duty.student.none") }));
    return;
  }
  const list = h("ul", { class: "teachers" });
  for (const teacher of state.teachers) {
    const busy = teacher.state !== "on_duty";
    const why = whyListed(teacher, state.subject || "", state.me.grade).map(([k, p]) =>
      tx(k, { ...p, subject: p.subject ? subjectName(p.subject) : "", grade: p.grade ? tx(`duty.grade.${p.grade}`) : "" }));
    list.append(h("li", { class: "card teacher", "data-testid": `teacher-${teacher.teacher}` },
      h("div", { class: "row spread" },
        h("strong", { text: teacher.name }),
        h("span", { class: `pill ${busy ? "busy" : "on_duty"}`, text: tx(busy ? "duty.student.busy" : "duty.student.free") })),
      h("p", { class: "muted", text: [teacher.school, teacher.district].filter(Boolean).join(" · ") }),
      h("p", { class: "small", text: tx("duty.teacher.subjects", { subjects: teacher.subjects.map(subjectName).join("、"), grades: teacher.grades.map((g) => tx(`duty.grade.${g}`)).join("、") }) }),
      h("p", { class: "why small", "data-testid": "why", text: tx("duty.student.why", { why: why.join(" · ") }) }),
      h("button", { class: busy ? "btn" : "btn primary", disabled: !!state.call, "data-testid": `call-${teacher.teacher}`, onclick: () => callTeacher(teacher, busy), text: tx(busy ? "duty.student.wait" : "duty.student.call") })));
  }
  root.append(list);
}

function pick(code) {
  state.subject = code;
  refreshList();
}

function renderSession() {
  root.dataset.phase = "session";
  if (state.warning) root.append(h("p", { class: "banner warn over", role: "alert", "data-testid": "duty-warning", text: tx("duty.limit.warning", { minutes: state.warning }) }));
  root.append(h("iframe", { class: "session", src: state.session, title: tx("duty.session_title"), allow: "camera; microphone; autoplay; display-capture; fullscreen", "data-testid": "duty-session" }));
}

start();
void ticker;
