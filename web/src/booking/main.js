// The booking pages (issue 14, item 4), one page reached by the platform's signed link
// /booking?token=…; the pass says which: a teacher's schedule (publish a one-to-one
// slot, schedule a lecture or a review, see who enrolled) or a learner's "book" page
// (a teacher's open slots, lectures and reviews, and their own bookings). REST calls
// with the pass (docs/protocol.md, "Booking"); the join buttons are the lasting links
// /booking/join/{id}?token=…, which open the booked session. Pure parts: ./model.js.

import { t, tn, loadStartLang, switchToOtherLang } from "../i18n.js";
import { FORMS, byTeacher, clockAt, dayLine, lengthChoices, offerState, placesLeft, refusal, startChoices } from "./model.js";
import { h } from "../ui/dom.js";

const root = document.getElementById("booking");
const query = new URLSearchParams(location.search);
// The pass, kept in this tab (sessionStorage) so a reload still works after the
// address bar is cleaned below.
const TOKEN_KEY = "opentutor.booking.pass";
const token = query.get("token") || readToken();
try { if (token) sessionStorage.setItem(TOKEN_KEY, token); } catch { /* private mode */ }
const onlyTeacher = query.get("teacher") || "";
const back = { offer: query.get("offer"), refused: query.get("refused") };
// The link's token should not stay in the address bar (screenshots, shoulder surfing).
history.replaceState(null, "", location.pathname);

const state = {
  me: null,
  mine: [],
  open: [],
  days: [],
  policy: null,
  skew: 0, // server time − this device's time, seconds
  notice: back.refused ? [refusal({ code: back.refused }), "warn"] : null,
  failed: null,
  busy: false,
  draft: { form: "one_to_one", day: 0, start: null, minutes: 30, capacity: 30, title: "" },
};

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

function nowS() {
  return Date.now() / 1000 + state.skew;
}

async function call(method, path, body) {
  try {
    const res = await fetch(path, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
    const answer = await res.json().catch(() => ({}));
    return res.ok ? { ok: true, ...answer } : { ok: false, status: res.status, error: (answer && answer.error) || { code: "other" } };
  } catch {
    return { ok: false, error: { code: "offline" } };
  }
}

async function start() {
  await loadStartLang();
  if (!token) return fail("no_token");
  await refresh();
  setInterval(() => { if (!document.hidden && !state.busy) refresh(); }, 20000);
  setInterval(() => { if (!document.hidden) render(); }, 15000); // join buttons open on time
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
}

function fail(code) {
  state.failed = code;
  render();
}

async function refresh() {
  const me = await call("GET", "/api/v1/bookings/me");
  if (!me.ok) {
    if (me.status === 401) return fail(me.error.code);
    state.notice = [refusal(me.error), "warn"];
    return render();
  }
  state.me = me.me;
  state.mine = me.mine;
  state.days = me.days;
  state.policy = me.policy;
  state.skew = me.now - Date.now() / 1000;
  if (!isTeacher()) {
    const open = await call("GET", `/api/v1/bookings/open${onlyTeacher ? `?teacher=${encodeURIComponent(onlyTeacher)}` : ""}`);
    if (open.ok) state.open = open.offers;
  }
  fixDraft();
  render();
}

function isTeacher() {
  return state.me && state.me.kind === "booking_teacher";
}

async function act(path, okKey, body) {
  state.busy = true;
  render();
  const res = await call("POST", path, body);
  state.busy = false;
  state.notice = res.ok ? [[okKey, {}], "ok"] : [refusal(res.error), "warn"];
  await refresh();
}

async function switchLang() {
  await switchToOtherLang();
  render();
}

// -- the teacher's draft offer

function fixDraft() {
  const d = state.draft;
  const lengths = (state.policy && state.policy.lengths) || {};
  const choices = lengthChoices(lengths, d.form);
  if (!choices.includes(d.minutes)) d.minutes = d.form === "one_to_one" ? (choices.includes(30) ? 30 : choices[0]) : choices[0];
  if (d.day >= state.days.length) d.day = 0;
  const starts = startChoices(state.days[d.day], d.minutes, nowS());
  if (!starts.some((s) => s.value === d.start)) d.start = starts.length ? starts[0].value : null;
}

async function publish(ev) {
  ev.preventDefault();
  const d = state.draft;
  if (!d.start) return;
  const body = { form: d.form, start: new Date(d.start * 1000).toISOString(), minutes: d.minutes };
  if (d.form === "lecture") body.capacity = Number(d.capacity);
  if (d.title.trim() && d.form !== "one_to_one") body.title = d.title.trim();
  await act("/api/v1/bookings/offers", "booking.published", body);
}

// -- rendering (the whole page: a few dozen elements)


function tx([key, params]) {
  // Params that are keys themselves (months, weekdays) are translated first.
  const p = {};
  for (const [k, v] of Object.entries(params || {})) p[k] = typeof v === "string" && v.startsWith("booking.") ? t(v) : v;
  return t(key, p);
}

function when(o) {
  return `${tx(dayLine(o.date, o.weekday))} ${o.time}–${o.end_time}`;
}

function render() {
  root.replaceChildren();
  if (state.failed) {
    root.dataset.phase = "error";
    const code = ["no_token", "bad_token", "expired"].includes(state.failed) ? state.failed : "bad_token";
    root.append(h("section", { class: "card center", "data-testid": "booking-error" },
      h("h1", { text: t("booking.error.title") }), h("p", { text: t(`booking.error.${code}`) })));
    return;
  }
  if (!state.me) {
    root.append(h("div", { class: "boot", role: "status", text: t("status.connecting") }));
    return;
  }
  root.dataset.phase = isTeacher() ? "teacher" : "learner";
  document.title = t(isTeacher() ? "booking.teacher.title" : "booking.learner.title");
  root.append(header());
  if (state.notice) {
    const [message, tone] = state.notice;
    root.append(h("p", { class: `banner ${tone}`, role: "status", "data-testid": "booking-notice", text: tx(message) }));
  }
  if (isTeacher()) renderTeacher();
  else renderLearner();
}

function header() {
  const me = state.me;
  return h("header", { class: "top" },
    h("div", { class: "who" },
      h("h1", { text: t(isTeacher() ? "booking.teacher.title" : "booking.learner.title") }),
      h("span", { class: "muted", text: [me.name, me.school].filter(Boolean).join(" · ") })),
    h("button", { class: "link", onclick: switchLang, text: t("app.switch_lang") }));
}

function offerCard(o, viewer) {
  const st = offerState(o, nowS());
  const form = t(`booking.form.${o.form}`);
  const left = placesLeft(o);
  const actions = [];
  // A slot or review nobody booked has no room to open (the server would say "nobody").
  const roomFor = viewer !== "teacher" || o.form === "lecture" || o.booked > 0;
  if (viewer !== "open" && st.join && roomFor) {
    actions.push(h("a", { class: "btn primary", href: `/booking/join/${o.id}?token=${encodeURIComponent(token)}`, "data-testid": `join-${o.id}`, text: t(viewer === "teacher" ? "booking.join_teach" : "booking.join") }));
  }
  if (viewer === "open") {
    actions.push(h("button", { class: "btn primary", disabled: state.busy, "data-testid": `book-${o.id}`, onclick: () => act(`/api/v1/bookings/offers/${o.id}/book`, o.form === "one_to_one" ? "booking.booked" : "booking.enrolled"), text: t(o.form === "one_to_one" ? "booking.book" : "booking.enrol") }));
  } else if (st.cancel) {
    const key = viewer === "teacher" ? "booking.withdraw" : "booking.cancel";
    actions.push(h("button", { class: "btn", disabled: state.busy, "data-testid": `cancel-${o.id}`, onclick: () => { if (confirm(t(`${key}_confirm`))) act(`/api/v1/bookings/offers/${o.id}/cancel`, "booking.cancelled"); }, text: t(key) }));
  }
  const status = viewer === "open" ? t("booking.state.bookable")
    : st.key === "soon" ? t("booking.state.soon", { time: clockAt(o, st.opensAt) }) : t(`booking.state.${st.key}`);
  const seats = viewer === "teacher" && o.form !== "one_to_one"
    ? h("p", { class: "small", "data-testid": "seats", text: tn("booking.enrolled_n", o.booked, { n: o.booked, capacity: o.capacity }) }) : null;
  const names = viewer === "teacher" && (o.seats || []).length
    ? h("ul", { class: "names", "data-testid": "names" }, o.seats.map((s) => h("li", { text: [s.learner.name, s.learner.school].filter(Boolean).join(" · ") })))
    : viewer === "teacher" && o.form === "one_to_one" ? h("p", { class: "muted small", text: t("booking.nobody_yet") }) : null;
  return h("li", { class: `card offer ${st.key}`, "data-testid": `offer-${o.id}` },
    h("div", { class: "row spread" },
      h("strong", { class: "when", text: when(o) }),
      h("span", { class: `pill ${st.key}`, text: status })),
    h("p", { class: "title", text: o.form === "one_to_one" ? form : `${form} · ${o.title}` }),
    viewer !== "teacher" ? h("p", { class: "muted small", text: [o.teacher.name, o.teacher.school].filter(Boolean).join(" · ") }) : null,
    viewer === "open" && o.form === "lecture" ? h("p", { class: "small", text: tn("booking.places_left", left, { n: left }) }) : null,
    seats, names,
    actions.length ? h("div", { class: "row" }, actions) : null);
}

function section(titleKey, testid, items, emptyKey, viewer) {
  return h("section", { "data-testid": testid },
    h("h2", { text: t(titleKey) }),
    items.length ? h("ul", { class: "offers" }, items.map((o) => offerCard(o, viewer)))
      : h("p", { class: "empty", text: t(emptyKey) }));
}

function renderLearner() {
  // Booked (and not cancelled by me); one the teacher withdrew stays, said so.
  const mine = state.mine.filter((o) => o.mine || (o.state === "cancelled" && offerState(o, nowS()).key !== "over"));
  root.append(section("booking.learner.mine", "booking-mine", mine, "booking.learner.none_mine", "learner"));
  const open = state.open.filter((o) => !o.mine);
  root.append(h("h2", { text: t("booking.learner.open") }));
  root.append(h("p", { class: "muted small", text: t("booking.learner.rules", { minutes: (state.policy || {}).cancel_cutoff_minutes ?? 60, early: (state.policy || {}).join_early_minutes ?? 10 }) }));
  if (!open.length) {
    root.append(h("p", { class: "empty", "data-testid": "booking-none-open", text: t("booking.learner.none_open") }));
    return;
  }
  for (const group of byTeacher(open)) {
    root.append(h("section", { class: "group", "data-testid": `teacher-${group.teacher.id}` },
      h("h3", { text: [group.teacher.name, group.teacher.school].filter(Boolean).join(" · ") }),
      h("ul", { class: "offers" }, group.offers.map((o) => offerCard(o, "open")))));
  }
}

function renderTeacher() {
  root.append(publishForm());
  const mine = state.mine.filter((o) => o.state === "open");
  root.append(section("booking.teacher.mine", "booking-schedule", mine, "booking.teacher.none", "teacher"));
}

function publishForm() {
  const d = state.draft;
  const lengths = (state.policy && state.policy.lengths) || {};
  const rerender = () => { fixDraft(); render(); };
  if (!state.days.length) return h("section", { class: "card" }, h("p", { class: "empty", "data-testid": "booking-no-days", text: t("booking.teacher.no_days") }));
  const starts = startChoices(state.days[d.day], d.minutes, nowS());
  const select = (testid, label, options, value, onchange) => h("label", { class: "field" },
    h("span", { text: label }),
    h("select", { "data-testid": testid, onchange }, options.map(([v, text]) => {
      const opt = h("option", { value: String(v), text });
      if (String(v) === String(value)) opt.selected = true;
      return opt;
    })));
  return h("form", { class: "card publish", "data-testid": "booking-publish", onsubmit: publish },
    h("h2", { text: t("booking.teacher.new") }),
    h("div", { class: "forms", role: "radiogroup", "aria-label": t("booking.teacher.form") }, FORMS.map((f) =>
      h("button", { type: "button", class: d.form === f ? "chip on" : "chip", role: "radio", "aria-checked": d.form === f ? "true" : "false", "data-testid": `form-${f}`, onclick: () => { d.form = f; rerender(); }, text: t(`booking.form.${f}`) }))),
    h("p", { class: "muted small", text: t(`booking.teacher.hint.${d.form}`, { min: (lengths[d.form] || [])[0], max: (lengths[d.form] || [])[1] }) }),
    h("div", { class: "grid" },
      select("booking-day", t("booking.teacher.day"), state.days.map((day, i) => [i, tx(dayLine(day.date, day.weekday))]), d.day, (e) => { d.day = Number(e.target.value); rerender(); }),
      select("booking-start", t("booking.teacher.start"), starts.map((s) => [s.value, s.label]), d.start, (e) => { d.start = Number(e.target.value); }),
      select("booking-minutes", t("booking.teacher.minutes"), lengthChoices(lengths, d.form).map((m) => [m, t("booking.minutes", { n: m })]), d.minutes, (e) => { d.minutes = Number(e.target.value); rerender(); }),
      d.form === "lecture" ? h("label", { class: "field" }, h("span", { text: t("booking.teacher.capacity") }),
        h("input", { type: "number", min: "1", max: String((state.policy || {}).max_lecture_capacity || 300), value: String(d.capacity), inputmode: "numeric", "data-testid": "booking-capacity", oninput: (e) => { d.capacity = e.target.value; } })) : null),
    d.form !== "one_to_one" ? h("label", { class: "field" }, h("span", { text: t("booking.teacher.topic") }),
      h("input", { type: "text", maxlength: "120", value: d.title, placeholder: t(`booking.teacher.topic_hint.${d.form}`), "data-testid": "booking-title", oninput: (e) => { d.title = e.target.value; } })) : null,
    starts.length ? null : h("p", { class: "muted small", text: t("booking.teacher.no_start") }),
    h("button", { class: "btn primary", type: "submit", disabled: state.busy || !d.start, "data-testid": "booking-submit", text: t(d.form === "one_to_one" ? "booking.teacher.publish" : "booking.teacher.schedule") }));
}

start();
