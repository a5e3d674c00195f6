// The micro-lessons page (微课, issue 14), reached by the platform's pass link
// /lessons?token=… (the same passes as /duty): students browse and watch; a teacher
// also publishes part of a recording of their own session and unpublishes.
// REST: /api/v1/microlessons (docs/protocol.md, "Micro-lessons"). The video is served
// by the server itself, paced; the watched time shown is the server's, never the player's.

import { t, tn, lang, loadStartLang, switchToOtherLang } from "../i18n.js";
import { SUBJECTS, GRADES, clock, parseClock, searchQuery, errorKey, startAt } from "./model.js";
import { h } from "../ui/dom.js";

const root = document.getElementById("lessons");
const KEY = "opentutor.lessons.token";
const fromLink = new URLSearchParams(location.search).get("token");
if (fromLink) {
  try { sessionStorage.setItem(KEY, fromLink); } catch { /* private mode: this load only */ }
}
let token = fromLink || "";
try { token = token || sessionStorage.getItem(KEY) || ""; } catch { /* as above */ }
// The pass should not stay in the address bar (screenshots, shoulder surfing).
history.replaceState(null, "", location.pathname + location.hash);

const state = {
  view: "browse", // browse | watch | publish
  me: null, // {id, name} for a teacher (from /mine)
  teacher: false,
  filters: { subject: "", grade: "", point: "", order: "newest" },
  lessons: [],
  loaded: false,
  current: null, // {lesson, video_url, watched_s}
  mine: null, // {lessons, recordings, policy}
  notice: null, // [key, params, kind]
  failed: null,
};
let watchTimer = null;
let mineTimer = null;

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) throw Object.assign(new Error("refused"), { status: r.status, code: (data && data.error && data.error.code) || "other", field: data && data.error && data.error.field });
  return data;
}

async function start() {
  await loadStartLang();
  if (!token) return fail("no_token");
  try {
    const mine = await api("GET", "/api/v1/microlessons/mine");
    state.teacher = true;
    state.me = mine.me;
    state.mine = mine;
  } catch (err) {
    if (err.status === 401) return fail(err.code);
    state.teacher = false; // a student's pass: 403 teachers_only
  }
  window.addEventListener("hashchange", route);
  await route();
}

function fail(code) {
  state.failed = code;
  render();
}

async function route() {
  const hash = location.hash.slice(1);
  stopTimers();
  if (hash.startsWith("watch=")) return openLesson(decodeURIComponent(hash.slice(6)));
  state.view = hash === "publish" && state.teacher ? "publish" : "browse";
  if (state.view === "publish") await refreshMine();
  else await refreshList();
}

function stopTimers() {
  clearInterval(watchTimer);
  clearInterval(mineTimer);
  watchTimer = mineTimer = null;
}

async function refreshList() {
  try {
    const q = searchQuery(state.filters);
    state.lessons = (await api("GET", `/api/v1/microlessons${q ? `?${q}` : ""}`)).lessons;
    state.loaded = true;
  } catch (err) {
    state.notice = [errorKey(err.code), {}, "error"];
  }
  render();
}

async function refreshMine() {
  try {
    state.mine = await api("GET", "/api/v1/microlessons/mine");
  } catch (err) {
    state.notice = [errorKey(err.code), {}, "error"];
  }
  const waiting = state.mine && state.mine.lessons.some((l) => l.state === "preparing");
  // The "being prepared" note goes once nothing is being prepared any more.
  if (!waiting && state.notice && state.notice[0] === "lessons.publish.preparing") state.notice = null;
  render();
  if (waiting && !mineTimer) mineTimer = setInterval(refreshMine, 3000);
  if (!waiting && mineTimer) { clearInterval(mineTimer); mineTimer = null; }
}

async function openLesson(id) {
  state.view = "watch";
  state.current = null;
  try {
    state.current = await api("GET", `/api/v1/microlessons/${encodeURIComponent(id)}`);
  } catch (err) {
    state.notice = [errorKey(err.code === "not_found" ? "other" : err.code), {}, "error"];
    state.view = "browse";
    return refreshList();
  }
  render();
  // The server's count, looked up now and then while the page is open and when playing stops.
  watchTimer = setInterval(refreshWatched, 5000);
  const video = root.querySelector('[data-testid="lesson-video"]');
  if (video) for (const e of ["pause", "ended"]) video.addEventListener(e, refreshWatched);
}

async function refreshWatched() {
  if (!state.current || document.hidden) return;
  try {
    const w = await api("GET", `/api/v1/microlessons/${state.current.lesson.lesson_id}/watched`);
    state.current.watched_s = w.watched_s;
    const el = root.querySelector('[data-testid="lesson-watched"]');
    if (el) el.textContent = t("lessons.watched", { time: clock(w.watched_s) });
  } catch { /* shown again at the next look */ }
}

async function switchLang() {
  await switchToOtherLang();
  render();
}

// -- rendering


const subjectName = (code) => t(`duty.subject.${code}`);
// A teacher's own subjects and grades (from the pass) first in the form's lists.
const ordered = (all, mine) => [...all.filter((x) => (mine || []).includes(x)), ...all.filter((x) => !(mine || []).includes(x))];
// The browser's local time: a recording's start as people remember it.
const when = (iso) => new Date(iso).toLocaleString(lang(), { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
const gradeName = (g) => t(`duty.grade.${g}`);

function render() {
  root.replaceChildren();
  if (state.failed) {
    root.dataset.view = "error";
    const code = ["no_token", "bad_token", "expired"].includes(state.failed) ? state.failed : "other";
    root.append(h("section", { class: "card", "data-testid": "lessons-error" },
      h("h1", { text: t("lessons.error.title") }), h("p", { text: t(errorKey(code)) })));
    return;
  }
  root.dataset.view = state.view;
  root.append(h("header", { class: "top" },
    h("h1", { text: t("lessons.title") }),
    h("button", { class: "link", onclick: switchLang, text: t("app.switch_lang") })));
  if (state.teacher && state.view !== "watch") {
    root.append(h("nav", { class: "tabs" },
      h("button", { class: state.view === "browse" ? "tab on" : "tab", onclick: () => { location.hash = ""; }, text: t("lessons.tab.browse") }),
      h("button", { class: state.view === "publish" ? "tab on" : "tab", "data-testid": "lessons-tab-publish", onclick: () => { location.hash = "publish"; }, text: t("lessons.tab.publish") })));
  }
  if (state.notice) {
    const [key, params, kind] = state.notice;
    root.append(h("p", { class: `banner ${kind || ""}`, role: "status", "data-testid": "lessons-notice", text: t(key, params) }));
  }
  if (state.view === "watch") renderWatch();
  else if (state.view === "publish") renderPublish();
  else renderBrowse();
}

function select(name, value, options, onchange, testid) {
  const el = h("select", { name, "data-testid": testid, onchange: (e) => onchange(e.target.value) },
    options.map(([v, label]) => h("option", { value: v, text: label })));
  el.value = value;
  return el;
}

function renderBrowse() {
  const f = state.filters;
  const set = (k) => (v) => { f[k] = v; state.notice = null; refreshList(); };
  const point = h("input", { type: "search", value: f.point, placeholder: t("lessons.filter.point_hint"), enterkeyhint: "search", "data-testid": "lessons-point" });
  point.addEventListener("change", () => set("point")(point.value));
  root.append(h("section", { class: "filters", "aria-label": t("lessons.filter.title") },
    h("label", {}, t("lessons.filter.subject"), select("subject", f.subject, [["", t("lessons.filter.all")], ...SUBJECTS.map((s) => [s, subjectName(s)])], set("subject"), "lessons-subject")),
    h("label", {}, t("lessons.filter.grade"), select("grade", f.grade, [["", t("lessons.filter.all")], ...GRADES.map((g) => [g, gradeName(g)])], set("grade"), "lessons-grade")),
    h("label", { class: "wide" }, t("lessons.filter.point"), point),
    h("div", { class: "tabs wide" },
      ["newest", "most_watched"].map((o) => h("button", { class: f.order === o ? "tab on" : "tab", "data-testid": `lessons-order-${o}`, onclick: () => set("order")(o), text: t(`lessons.order.${o}`) })))));
  if (state.loaded && !state.lessons.length) {
    root.append(h("p", { class: "empty", "data-testid": "lessons-empty", text: t("lessons.none") }));
    return;
  }
  root.append(h("ul", { class: "list" }, state.lessons.map((l) => h("li", {},
    h("button", { class: "card lesson", "data-testid": `lesson-${l.lesson_id}`, onclick: () => { location.hash = `watch=${encodeURIComponent(l.lesson_id)}`; } },
      h("h2", { text: l.title }),
      h("p", { class: "muted small", text: t("lessons.by", { teacher: l.teacher_name, school: l.school }) }),
      h("div", { class: "meta" },
        h("span", { class: "pill", text: subjectName(l.subject) }),
        h("span", { class: "pill", text: gradeName(l.grade) }),
        h("span", { class: "pill", text: l.knowledge_point }),
        h("span", { class: "pill", text: clock(l.duration_s - l.lead_s) }),
        h("span", { class: "pill", text: tn("lessons.views", l.views, { n: l.views }) })))))));
}

function renderWatch() {
  const c = state.current;
  root.append(h("button", { class: "link", "data-testid": "lessons-back", onclick: () => { location.hash = ""; }, text: t("lessons.back") }));
  if (!c) {
    root.append(h("div", { class: "boot", role: "status", text: t("lessons.loading") }));
    return;
  }
  const l = c.lesson;
  const video = h("video", { controls: true, playsinline: true, preload: "metadata", src: c.video_url, "data-testid": "lesson-video" });
  // The file starts at the keyframe before the chosen start: begin at the chosen start.
  video.addEventListener("loadedmetadata", () => { video.currentTime = startAt(l, video.currentTime); });
  root.append(h("section", { class: "player" }, video));
  root.append(h("section", { class: "card" },
    h("h2", { text: l.title }),
    h("div", { class: "meta" },
      h("span", { class: "pill", text: subjectName(l.subject) }),
      h("span", { class: "pill", text: gradeName(l.grade) }),
      h("span", { class: "pill", text: t("lessons.point", { point: l.knowledge_point }) })),
    h("p", { class: "muted small", text: t("lessons.by", { teacher: l.teacher_name, school: l.school }) }),
    h("p", { class: "watched", "data-testid": "lesson-watched", text: t("lessons.watched", { time: clock(c.watched_s || 0) }) }),
    h("p", { class: "muted small", text: t("lessons.watched_rule") })));
}

function renderPublish() {
  const mine = state.mine || { lessons: [], recordings: [], policy: {} };
  const p = mine.policy || {};
  const form = h("form", { class: "card form", "data-testid": "lessons-publish" });
  const recs = mine.recordings || [];
  if (!recs.length) {
    form.append(h("p", { class: "muted", "data-testid": "lessons-no-recordings", text: t("lessons.publish.no_recordings") }));
  } else {
    const recSelect = h("select", { name: "recording_id", "data-testid": "publish-recording" },
      recs.map((r) => h("option", { value: r.recording_id, text: t("lessons.publish.recording_line", { title: r.title, date: when(r.started_at), length: clock(r.duration_s) }) })));
    const field = (name, label, props) => h("label", {}, label, h("input", { name, "data-testid": `publish-${name}`, ...props }));
    form.append(
      h("h2", { text: t("lessons.publish.title") }),
      h("p", { class: "muted small", text: t("lessons.publish.rules", { max: Math.floor((p.max_length_s || 900) / 60), min: p.min_length_s || 10, count: p.max_per_teacher || 30 }) }),
      h("label", {}, t("lessons.publish.recording"), recSelect),
      h("div", { class: "two" },
        field("start", t("lessons.publish.start"), { inputmode: "decimal", value: "0:00", required: true }),
        field("end", t("lessons.publish.end"), { inputmode: "decimal", value: clock(Math.min(recs[0].duration_s, p.max_length_s || 900)), required: true })),
      field("title", t("lessons.publish.lesson_title"), { maxlength: 80, required: true }),
      h("div", { class: "two" },
        h("label", {}, t("lessons.filter.subject"), h("select", { name: "subject", "data-testid": "publish-subject" }, ordered(SUBJECTS, mine.me && mine.me.subjects).map((s) => h("option", { value: s, text: subjectName(s) })))),
        h("label", {}, t("lessons.filter.grade"), h("select", { name: "grade", "data-testid": "publish-grade" }, ordered(GRADES, mine.me && mine.me.grades).map((g) => h("option", { value: g, text: gradeName(g) }))))),
      field("knowledge_point", t("lessons.filter.point"), { maxlength: 60, required: true, placeholder: t("lessons.filter.point_hint") }),
      h("button", { class: "btn primary", type: "submit", "data-testid": "publish-submit", text: t("lessons.publish.submit") }));
    form.addEventListener("submit", (e) => { e.preventDefault(); publish(form); });
  }
  root.append(form);
  root.append(h("h2", { class: "small muted", text: t("lessons.mine") }));
  if (!mine.lessons.length) root.append(h("p", { class: "empty", text: t("lessons.mine_none") }));
  root.append(h("ul", { class: "list" }, mine.lessons.map((l) => h("li", { class: "card", "data-testid": `mine-${l.lesson_id}` },
    h("h2", { text: l.title }),
    h("div", { class: "meta" },
      h("span", { class: `pill ${l.state}`, "data-testid": "mine-state", "data-state": l.state, text: t(`lessons.state.${l.state}`) }),
      h("span", { class: "pill", text: `${clock(l.start_s)}–${clock(l.end_s)}` }),
      h("span", { class: "pill", text: tn("lessons.views", l.views, { n: l.views }) })),
    l.state === "ready" ? h("button", { class: "link", onclick: () => { location.hash = `watch=${l.lesson_id}`; }, text: t("lessons.watch") }) : null,
    l.state !== "unpublished" ? h("button", { class: "btn danger", "data-testid": "mine-unpublish", onclick: () => unpublish(l), text: t("lessons.unpublish") }) : null))));
}

async function publish(form) {
  const v = (name) => form.elements[name].value;
  const start = parseClock(v("start"));
  const end = parseClock(v("end"));
  if (Number.isNaN(start) || Number.isNaN(end)) {
    state.notice = ["lessons.error.time", {}, "error"];
    return render();
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("POST", "/api/v1/microlessons", {
      recording_id: v("recording_id"), start_s: start, end_s: end, title: v("title"),
      subject: v("subject"), grade: v("grade"), knowledge_point: v("knowledge_point"),
    });
    state.notice = ["lessons.publish.preparing", {}, ""];
  } catch (err) {
    state.notice = [errorKey(err.code), {}, "error"];
  }
  await refreshMine();
}

async function unpublish(l) {
  if (!confirm(t("lessons.unpublish_confirm", { title: l.title }))) return;
  try {
    await api("DELETE", `/api/v1/microlessons/${l.lesson_id}`);
    state.notice = ["lessons.unpublished", {}, ""];
  } catch (err) {
    state.notice = [errorKey(err.code), {}, "error"];
  }
  await refreshMine();
}

start();
