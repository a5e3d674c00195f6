// The Q&A centre (问答中心, issue 14): one page reached by the platform's signed link
// /qa?token=… (the on-demand pass: a student's asks, a teacher's answers). REST only
// (docs/protocol.md, "Q&A centre"); a teacher's list is looked at again every 20 s while
// the page is visible. Pure wording in ./model.js; photos are made light by ../images.js.

import { t, tn, lang, loadStartLang, switchToOtherLang } from "../i18n.js";
import { prepareImage } from "../images.js";
import { canSend, clock, errorLine, stateKey, voiceLeft, voiceMime } from "./model.js";
import { h } from "../ui/dom.js";

const root = document.getElementById("qa");
const TOKEN_KEY = "opentutor.qa.token";
const fromLink = new URLSearchParams(location.search).get("token");
if (fromLink) sessionStorage.setItem(TOKEN_KEY, fromLink);
const token = fromLink || sessionStorage.getItem(TOKEN_KEY) || "";
// The link's token should not stay in the address bar (screenshots, shoulder surfing).
history.replaceState(null, "", location.pathname);

const state = {
  me: null, policy: {}, subjects: [], failed: null, notice: null, busy: false,
  view: "list", tab: "live", list: [], current: null, seen: new Set(), fresh: 0,
  draft: { subject: "", text: "", photos: [] },
  reply: { text: "", photos: [], voice: null },
  recorder: null,
};

async function api(method, path, body) {
  try {
    const res = await fetch(path, {
      method, headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    return res.ok ? { ok: true, data } : { ok: false, error: (data && data.error) || { code: "offline" } };
  } catch {
    return { ok: false, error: { code: "offline" } };
  }
}

async function start() {
  await loadStartLang();
  if (!token) return fail("no_token");
  const me = await api("GET", "/api/v1/qa/me");
  if (!me.ok) return fail(me.error.code);
  state.me = me.data.me;
  state.policy = me.data.policy;
  state.subjects = state.me.kind === "teacher_duty" ? state.me.subjects : me.data.subjects;
  state.draft.subject = state.subjects[0] || "math";
  await refresh();
  // A teacher's list, and a student's open question, are looked at again every 20 s
  // while the page is visible (and at once when it comes back).
  const again = () => {
    if (document.hidden) return;
    if (teacher()) refresh();
    else if (state.view === "detail" && state.current && ["open", "answered"].includes(state.current.state)) reload();
  };
  setInterval(again, 20000);
  document.addEventListener("visibilitychange", again);
}

function fail(code) {
  state.failed = code;
  render();
}

async function refresh() {
  const got = await api("GET", `/api/v1/qa/questions${state.tab === "answered" ? "?view=answered" : ""}`);
  if (got.ok) {
    const ids = got.data.questions.map((q) => q.id);
    // New questions since the teacher last looked: counted in the title.
    if (state.me.kind === "teacher_duty" && state.tab === "live" && state.seen.size) {
      state.fresh += ids.filter((id) => !state.seen.has(id)).length;
    }
    ids.forEach((id) => state.seen.add(id));
    state.list = got.data.questions;
    document.title = state.fresh ? `(${state.fresh}) ${t("qa.title")}` : t("qa.title");
  }
  render();
}

async function open(id) {
  state.fresh = 0;
  const got = await api("GET", `/api/v1/qa/questions/${encodeURIComponent(id)}`);
  if (!got.ok) return notify(got.error);
  state.current = got.data;
  state.view = "detail";
  state.notice = null;
  render();
}

async function reload() {
  const got = await api("GET", `/api/v1/qa/questions/${encodeURIComponent(state.current.id)}`);
  if (got.ok && state.view === "detail" && state.current && state.current.id === got.data.id) {
    state.current = got.data;
    render();
  }
}

function notify(error) {
  state.notice = errorLine(error, state.policy);
  state.busy = false;
  render();
}

async function asBase64(blob) {
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return String(url).slice(String(url).indexOf(",") + 1);
}

async function addPhotos(input, into) {
  for (const file of [...input.files]) {
    if (into.photos.length >= (state.policy.max_photos || 4)) {
      state.notice = errorLine({ code: "too_many_photos" }, state.policy);
      break;
    }
    try {
      const blob = await prepareImage(file);
      if (blob.size > state.policy.max_photo_bytes) {
        state.notice = errorLine({ code: "too_large" }, state.policy);
        continue;
      }
      into.photos.push({ blob, url: URL.createObjectURL(blob) });
    } catch {
      state.notice = errorLine({ code: "not_a_picture" }, state.policy);
    }
  }
  input.value = "";
  render();
}

async function ask() {
  const d = state.draft;
  state.busy = true;
  render();
  const photos = await Promise.all(d.photos.map((p) => asBase64(p.blob)));
  const got = await api("POST", "/api/v1/qa/questions", { subject: d.subject, text: d.text, photos });
  if (!got.ok) return notify(got.error);
  state.draft = { subject: d.subject, text: "", photos: [] };
  state.busy = false;
  state.current = got.data;
  state.view = "detail";
  state.notice = ["qa.asked", {}];
  await refresh();
}

async function reply() {
  const r = state.reply;
  state.busy = true;
  render();
  const body = { text: r.text, photos: await Promise.all(r.photos.map((p) => asBase64(p.blob))) };
  if (r.voice) body.voice = await asBase64(r.voice.blob);
  const got = await api("POST", `/api/v1/qa/questions/${encodeURIComponent(state.current.id)}/answers`, body);
  if (!got.ok) return notify(got.error);
  state.reply = { text: "", photos: [], voice: null };
  state.busy = false;
  state.current = got.data;
  state.notice = ["qa.answered", {}];
  await refresh();
}

async function solve(accept) {
  const got = await api("POST", `/api/v1/qa/questions/${encodeURIComponent(state.current.id)}/solve`, accept ? { accept } : {});
  if (!got.ok) return notify(got.error);
  state.current = got.data;
  state.notice = ["qa.solved_thanks", {}];
  await refresh();
}

// -- the voice note: MediaRecorder, WebM/Opus where the browser makes it

async function record() {
  if (state.recorder) return stopRecording();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    state.notice = ["qa.voice.denied", {}];
    return render();
  }
  const mime = voiceMime((m) => typeof MediaRecorder !== "undefined" && MediaRecorder.isTypeSupported(m));
  const rec = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
  const chunks = [];
  const startedAt = Date.now();
  rec.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
  rec.onstop = () => {
    stream.getTracks().forEach((tr) => tr.stop());
    clearInterval(state.recorder && state.recorder.timer);
    const blob = new Blob(chunks, { type: rec.mimeType || mime || "audio/webm" });
    state.recorder = null;
    if (blob.size > state.policy.max_voice_bytes) state.notice = errorLine({ code: "too_large" }, state.policy);
    else state.reply.voice = { blob, url: URL.createObjectURL(blob), s: Math.round((Date.now() - startedAt) / 1000) };
    render();
  };
  const timer = setInterval(() => {
    if (voiceLeft(Date.now() - startedAt, state.policy.max_voice_seconds || 120) <= 0) stopRecording();
    else render();
  }, 500);
  state.recorder = { rec, startedAt, timer };
  rec.start(1000);
  render();
}

function stopRecording() {
  if (state.recorder && state.recorder.rec.state !== "inactive") state.recorder.rec.stop();
}

async function switchLang() {
  await switchToOtherLang();
  render();
}

// -- rendering (the whole page: a few dozen elements)


const subjectName = (code) => t(`duty.subject.${code}`);
const when = (iso) => new Date(iso).toLocaleString(lang(), { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
const teacher = () => state.me && state.me.kind === "teacher_duty";

// The page is drawn whole; what has the focus (a half-typed answer while the list is
// looked at again or the recorder's clock ticks) keeps it, and its caret.
function render() {
  const active = document.activeElement;
  const focused = active && active.dataset ? active.dataset.testid : "";
  const caret = focused && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
  draw();
  const again = focused ? root.querySelector(`[data-testid="${focused}"]`) : null;
  if (again) {
    again.focus();
    if (caret && again.setSelectionRange) again.setSelectionRange(caret[0], caret[1]);
  }
}

function draw() {
  root.replaceChildren();
  if (state.failed) {
    root.dataset.phase = "error";
    const code = ["no_token", "bad_token", "expired"].includes(state.failed) ? state.failed : "offline";
    root.append(h("section", { class: "card center", "data-testid": "qa-error" },
      h("h1", { text: t("duty.error.title") }), h("p", { text: t(`duty.error.${code}`) })));
    return;
  }
  if (!state.me) return root.append(h("div", { class: "boot", role: "status", text: t("status.connecting") }));
  root.dataset.phase = teacher() ? "teacher" : "student";
  root.append(h("header", { class: "top" },
    h("div", { class: "who" }, h("strong", { text: t("qa.title") }),
      h("span", { class: "muted small", text: [state.me.name, state.me.school, state.me.grade ? t(`duty.grade.${state.me.grade}`) : ""].filter(Boolean).join(" · ") })),
    h("button", { class: "link", onclick: switchLang, text: t("app.switch_lang") })));
  if (state.notice) root.append(h("p", { class: "banner", role: "status", "data-testid": "qa-notice", text: t(state.notice[0], state.notice[1]) }));
  const main = h("div", { class: "panes" });
  root.append(main);
  if (teacher()) {
    main.append(listPane());
    main.append(state.current ? detail(state.current) : h("section", { class: "card empty", text: t("qa.teacher.pick") }));
  } else if (state.view === "ask") {
    main.append(askForm());
  } else if (state.view === "detail" && state.current) {
    main.append(h("button", { class: "link back", "data-testid": "qa-back", onclick: () => { state.view = "list"; state.notice = null; render(); }, text: t("qa.back") }));
    main.append(detail(state.current));
  } else {
    main.append(h("button", { class: "btn primary", "data-testid": "qa-new", onclick: () => { state.view = "ask"; state.notice = null; render(); }, text: t("qa.student.ask") }));
    main.append(listPane());
  }
}

function listPane() {
  const pane = h("section", { class: "list" });
  if (teacher()) {
    pane.append(h("nav", { class: "chips" },
      ["live", "answered"].map((tab) => h("button", { class: state.tab === tab ? "chip on" : "chip", "data-testid": `qa-tab-${tab}`, onclick: () => { state.tab = tab; refresh(); }, text: t(`qa.teacher.tab_${tab}`) }))));
    pane.append(h("p", { class: "muted small", text: t("qa.teacher.subjects", { subjects: state.me.subjects.map(subjectName).join("、") }) }));
  } else {
    pane.append(h("h2", { class: "section", text: t("qa.student.mine") }));
  }
  if (!state.list.length) {
    pane.append(h("p", { class: "empty", "data-testid": "qa-empty", text: t(teacher() ? "qa.teacher.none" : "qa.student.none") }));
    return pane;
  }
  pane.append(h("ul", { class: "questions" }, state.list.map((q) =>
    h("li", {},
      h("button", { class: `card question${state.current && state.current.id === q.id ? " on" : ""}`, "data-testid": `qa-q-${q.id}`, onclick: () => open(q.id) },
        h("span", { class: "row spread" },
          h("span", { class: "small muted", text: [subjectName(q.subject), q.grade ? t(`duty.grade.${q.grade}`) : "", when(q.posted_at)].filter(Boolean).join(" · ") }),
          h("span", { class: `pill ${q.state}`, text: t(stateKey(q.state)) })),
        h("span", { class: "qtext", text: q.text || t("qa.photo_only") }),
        h("span", { class: "small muted", text: tn("qa.answers_n", q.answers, { n: q.answers }) }))))));
  return pane;
}

function photos(urls, testid) {
  if (!urls.length) return null;
  return h("div", { class: "photos", "data-testid": testid }, urls.map((u) => h("a", { href: u, target: "_blank", rel: "noopener" }, h("img", { src: u, alt: t("qa.photo"), loading: "lazy" }))));
}

function detail(q) {
  const card = h("section", { class: "card detail", "data-testid": "qa-detail" },
    h("p", { class: "row spread" },
      h("span", { class: "small muted", text: [subjectName(q.subject), q.grade ? t(`duty.grade.${q.grade}`) : "", q.student.name, when(q.posted_at)].filter(Boolean).join(" · ") }),
      h("span", { class: `pill ${q.state}`, "data-testid": "qa-state", text: t(stateKey(q.state)) })),
    h("p", { class: "qtext big", text: q.text }),
    photos(q.photos, "qa-q-photos"));
  const answers = h("div", { class: "answers" });
  if (!q.answers.length) answers.append(h("p", { class: "muted", text: t(teacher() ? "qa.no_answers_teacher" : "qa.no_answers") }));
  for (const a of q.answers) {
    answers.append(h("article", { class: `answer${a.accepted ? " accepted" : ""}`, "data-testid": `qa-answer-${a.id}` },
      h("p", { class: "small muted", text: [a.teacher.name, a.teacher.school, when(a.answered_at)].filter(Boolean).join(" · ") }),
      a.accepted ? h("p", { class: "pill solved", text: t("qa.accepted") }) : null,
      a.text ? h("p", { class: "atext", text: a.text }) : null,
      photos(a.photos, "qa-a-photos"),
      a.voice ? h("audio", { controls: true, preload: "metadata", src: a.voice, "data-testid": "qa-voice" }) : null,
      q.may_solve ? h("button", { class: "btn primary", "data-testid": `qa-accept-${a.id}`, onclick: () => solve(a.id), text: t("qa.student.accept") }) : null));
  }
  card.append(h("h3", { class: "section", text: tn("qa.answers_n", q.answers.length, { n: q.answers.length }) }), answers);
  if (q.may_solve) card.append(h("button", { class: "btn", "data-testid": "qa-solve", onclick: () => solve(null), text: t("qa.student.solved") }));
  if (q.may_answer) card.append(replyForm());
  return card;
}

function photoPicker(into, testid) {
  const camera = h("input", { type: "file", accept: "image/*", capture: "environment", hidden: true, "data-testid": `${testid}-camera`, onchange: (e) => addPhotos(e.target, into) });
  const album = h("input", { type: "file", accept: "image/*", multiple: true, hidden: true, "data-testid": `${testid}-album`, onchange: (e) => addPhotos(e.target, into) });
  return h("div", { class: "picker" },
    h("div", { class: "row" },
      h("button", { type: "button", class: "btn half", onclick: () => camera.click(), text: t("qa.photo.camera") }),
      h("button", { type: "button", class: "btn half", onclick: () => album.click(), text: t("qa.photo.album") })),
    camera, album,
    h("div", { class: "thumbs" }, into.photos.map((p, i) => h("span", { class: "thumb" },
      h("img", { src: p.url, alt: t("qa.photo") }),
      h("button", { type: "button", class: "x", "aria-label": t("qa.photo.remove"), onclick: () => { into.photos.splice(i, 1); render(); }, text: "×" })))),
    h("p", { class: "muted small", text: t("qa.photo.limit", { n: state.policy.max_photos || 4 }) }));
}

function askForm() {
  const d = state.draft;
  const limit = state.policy.max_question_chars || 1000;
  const text = h("textarea", { rows: 5, maxlength: limit, "data-testid": "qa-text", placeholder: t("qa.student.placeholder"), oninput: (e) => { d.text = e.target.value; send.disabled = state.busy || !canSend(d.text, d.photos.length, limit); } });
  text.value = d.text;
  const send = h("button", { class: "btn primary", "data-testid": "qa-send", disabled: state.busy || !canSend(d.text, d.photos.length, limit), onclick: ask, text: t(state.busy ? "qa.sending" : "qa.student.send") });
  return h("section", { class: "card ask" },
    h("button", { class: "link back", onclick: () => { state.view = "list"; render(); }, text: t("qa.back") }),
    h("label", { class: "small muted", text: t("qa.student.subject") }),
    h("nav", { class: "chips" }, state.subjects.map((code) => h("button", { type: "button", class: d.subject === code ? "chip on" : "chip", "data-testid": `qa-subject-${code}`, onclick: () => { d.subject = code; render(); }, text: subjectName(code) }))),
    text, photoPicker(d, "qa-photo"), send);
}

function replyForm() {
  const r = state.reply;
  const limit = state.policy.max_answer_chars || 3000;
  const files = r.photos.length + (r.voice ? 1 : 0);
  const text = h("textarea", { rows: 5, maxlength: limit, "data-testid": "qa-reply-text", placeholder: t("qa.teacher.placeholder"), oninput: (e) => { r.text = e.target.value; send.disabled = state.busy || !canSend(r.text, files, limit); } });
  text.value = r.text;
  const send = h("button", { class: "btn primary", "data-testid": "qa-reply-send", disabled: state.busy || !!state.recorder || !canSend(r.text, files, limit), onclick: reply, text: t(state.busy ? "qa.sending" : "qa.teacher.send") });
  const rec = state.recorder;
  const left = rec ? voiceLeft(Date.now() - rec.startedAt, state.policy.max_voice_seconds || 120) : 0;
  return h("div", { class: "reply" },
    h("h3", { class: "section", text: t("qa.teacher.answer") }),
    text, photoPicker(r, "qa-reply-photo"),
    h("div", { class: "voice row" },
      h("button", { type: "button", class: rec ? "btn danger half" : "btn half", "data-testid": "qa-record", onclick: record, text: rec ? t("qa.voice.stop", { left: clock(left) }) : t("qa.voice.record", { max: clock(state.policy.max_voice_seconds || 120) }) }),
      r.voice ? h("audio", { controls: true, src: r.voice.url, "data-testid": "qa-voice-preview" }) : null,
      r.voice ? h("button", { type: "button", class: "link", onclick: () => { r.voice = null; render(); }, text: t("qa.voice.remove") }) : null),
    send);
}

start();
