// One session: title and times, people, the timeline picture inline, credits per
// person with every note on minutes not counted, the evidence summary and the
// recordings. Each part loads on its own: one failing says so in words and the
// others still show.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, section } from "./dom.js";
import { formatBytes, formatDateTime, formatDuration, formatRange } from "./format.js";
import { buildHash } from "./query.js";
import { evidenceLines, noteText, personName, summarizeEvidence } from "./summary.js";
import { statusBadge } from "./sessions.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** The server's timeline SVG as a node of this page, without scripts or handlers. */
export function safeSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.namespaceURI !== SVG_NS || svg.localName !== "svg" || doc.querySelector("parsererror")) return null;
  for (const bad of svg.querySelectorAll("script, foreignObject, iframe, a")) bad.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) {
      const v = attr.value.trim().toLowerCase();
      if (attr.name.toLowerCase().startsWith("on") || ((attr.name === "href" || attr.name.endsWith(":href")) && !v.startsWith("#"))) el.removeAttribute(attr.name);
    }
  }
  svg.setAttribute("role", "img");
  svg.removeAttribute("height");
  svg.setAttribute("width", "100%");
  return document.importNode(svg, true);
}

function stateOf(session) {
  return session.status || session.state;
}

function header(session) {
  return h(
    "div",
    { class: "card session-head", "data-testid": "session-head" },
    h("h1", { class: "page-title", "data-testid": "session-title" }, session.title || session.id, " ", statusBadge(stateOf(session))),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("session.id")), h("dd", { class: "mono" }, session.id),
      h("dt", {}, t("session.programme")), h("dd", {}, t(`programme.${session.programme}`)),
      h("dt", {}, t("session.form")), h("dd", {}, t(`form.${session.form}`)),
      h("dt", {}, t("session.scheduled")), h("dd", {}, formatRange(session.scheduled_start, session.scheduled_end)),
      h("dt", {}, t("session.actual")), h("dd", { "data-testid": "session-actual" }, session.started_at ? formatRange(session.started_at, session.ended_at) : t("session.not_started")),
    ),
  );
}

function peopleSection(session) {
  const people = session.people || [];
  if (!people.length) return section("session.people", emptyBox("session.no_people"));
  return section(
    "session.people",
    table(
      [{ key: "people.col.name" }, { key: "people.col.id" }, { key: "people.col.role" }, { key: "people.col.present" }],
      people.map((p) => [
        p.name || "—",
        h("a", { href: buildHash("people", p.id), class: "mono" }, p.id),
        t(`role.${p.role}`),
        p.present ? t("common.yes") : t("common.no"),
      ]),
      { testid: "session-people" },
    ),
  );
}

/** Supervisors who watched read-only (旁听): who and when, from the session's record.
 * Shown so that watching a class of minors is never invisible to the office. */
function observersSection(record) {
  const visits = (record && record.observers) || [];
  if (!visits.length) return section("session.observers", emptyBox("session.no_observers"));
  return section(
    "session.observers",
    table(
      [{ key: "session.observer_col.staff" }, { key: "session.observer_col.when" }],
      visits.map((v) => [h("span", { class: "mono" }, v.staff), formatRange(v.joined, v.left || null)]),
      { testid: "session-observers" },
    ),
  );
}

/** t() for a note's key, or undefined when this language has no such key. */
function translateNote(key, params) {
  return t(key) === key ? undefined : t(key, params);
}

function creditsSection(credits, people) {
  const rows = Object.entries(credits.people || {});
  const summary = h(
    "p",
    { class: "credits-summary", "data-testid": "credits-summary" },
    t("credits.summary", {
      minutes: credits.effective_minutes ?? 0,
      counted: credits.counted ? t("common.yes") : t("common.no"),
      term: credits.term || "—",
    }),
    credits.basis ? ` · ${t(`credits.basis.${credits.basis}`)}` : "",
    credits.final === false ? h("span", { class: "badge badge-live" }, t("credits.not_final")) : null,
  );
  if (!rows.length) return section("session.credits", summary, emptyBox("credits.none"));
  const items = rows.map(([pid, c]) => {
    const codes = c.note_codes || [];
    // The engine's English words stay as the tooltip: what the API, the CLI and support
    // quote, so a Chinese note can be matched to them.
    const notes = (c.notes || []).map((n, i) => [noteText(codes[i], n, translateNote), n]);
    const breakdown = evidenceLines(c.breakdown);
    return h(
      "article",
      { class: "credit-person", "data-testid": "credit-person", "data-person": pid },
      h("h3", {}, personName(people, pid)),
      h(
        "dl",
        { class: "facts facts-inline" },
        h("dt", {}, t("credits.minutes")), h("dd", { "data-testid": "credit-minutes" }, String(c.minutes ?? 0)),
        h("dt", {}, t("credits.study_hours")), h("dd", {}, String(c.study_hours ?? 0)),
        h("dt", {}, t("credits.points")), h("dd", { "data-testid": "credit-points" }, String(c.points ?? "0.00")),
        h("dt", {}, t("credits.pay")), h("dd", {}, `¥${c.pay_cny ?? "0.00"}`),
      ),
      breakdown.length ? h("p", { class: "muted small" }, t("credits.breakdown"), "：", breakdown.join("；")) : null,
      notes.length
        ? h("div", { class: "notes" }, h("h4", {}, t("credits.notes")), h("ul", { "data-testid": "credit-notes" }, notes.map(([shown, english]) => h("li", { "data-testid": "credit-note", title: english }, shown))))
        : h("p", { class: "ok small", "data-testid": "credit-no-notes" }, t("credits.all_counted")),
    );
  });
  return section("session.credits", summary, h("div", { class: "credit-list" }, items));
}

function evidenceSection(evidence, people) {
  const rows = summarizeEvidence(evidence.rows);
  if (!rows.length) return section("session.evidence", emptyBox("evidence.none", "evidence-empty"));
  return section(
    "session.evidence",
    h("p", { class: "muted small" }, t("evidence.lead")),
    table(
      [
        { key: "evidence.col.person" },
        { key: "evidence.col.minutes", cls: "num" },
        { key: "evidence.col.voiced", cls: "num" },
        { key: "evidence.col.silent", cls: "num" },
        { key: "evidence.col.frames", cls: "num" },
        { key: "evidence.col.confirmed", cls: "num" },
        { key: "evidence.col.loss", cls: "num" },
        { key: "evidence.col.span" },
      ],
      rows.map((r) => [
        personName(people, r.person),
        String(r.minutes),
        String(r.voiced_s),
        String(r.silent_s),
        String(r.video_frames),
        String(r.confirmed_s),
        r.rr_loss_max === null ? "—" : `${(r.rr_loss_max * 100).toFixed(1)}%`,
        formatRange(r.first, new Date(Date.parse(r.last) + 60_000).toISOString()), // to the end of the last minute
      ]),
      { testid: "evidence-table" },
    ),
  );
}

function recordingsSection(recordings) {
  const list = recordings.recordings || [];
  if (!list.length) return section("session.recordings", emptyBox("recordings.none", "recordings-empty"));
  return section(
    "session.recordings",
    table(
      [{ key: "recordings.col.start" }, { key: "recordings.col.duration", cls: "num" }, { key: "recordings.col.size", cls: "num" }, { key: "recordings.col.state" }, { key: "recordings.col.links" }],
      list.map((r) => [
        formatDateTime(r.started_at),
        formatDuration(r.duration_s),
        formatBytes(r.bytes),
        [r.complete ? t("recordings.complete") : t("recordings.incomplete"), (r.unrecorded || []).length ? ` · ${t("recordings.gaps", { n: r.unrecorded.length })}` : ""].join(""),
        h(
          "span",
          { class: "links" },
          r.replay_url ? h("a", { href: r.replay_url, target: "_blank", rel: "noopener" }, t("recordings.replay")) : null,
          r.url && r.file_ready ? h("a", { href: r.url, download: "" }, t("recordings.download")) : h("span", { class: "muted" }, t("recordings.file_pending")),
        ),
      ]),
      { testid: "recordings-table" },
    ),
  );
}

function timelineSection(svgText) {
  const svg = safeSvg(svgText);
  if (!svg) return section("session.timeline", emptyBox("timeline.unreadable"));
  svg.setAttribute("aria-label", t("session.timeline"));
  return section("session.timeline", h("div", { class: "timeline", "data-testid": "timeline" }, svg));
}

export async function renderSession(container, { api, route, backHash }) {
  const id = route.id;
  if (!id) {
    container.replaceChildren(emptyBox("session.no_id"));
    return;
  }
  const back = h("a", { href: backHash || "#/sessions", class: "back", "data-testid": "back-to-sessions" }, "← ", t("session.back"));
  container.replaceChildren(back, loadingBox());
  const path = `/api/v1/sessions/${encodeURIComponent(id)}`;
  let session;
  try {
    session = await api.get(path);
  } catch (err) {
    container.replaceChildren(back, errorBox(err, "session-error"));
    return;
  }
  const people = session.people || [];
  const slots = {
    timeline: h("div", {}, section("session.timeline", loadingBox())),
    credits: h("div", {}, section("session.credits", loadingBox())),
    evidence: h("div", {}, section("session.evidence", loadingBox())),
    recordings: h("div", {}, section("session.recordings", loadingBox())),
    observers: h("div", {}, section("session.observers", loadingBox())),
  };
  container.replaceChildren(
    back,
    header(session),
    h("div", { class: "two-col" }, peopleSection(session), slots.recordings),
    slots.timeline,
    slots.credits,
    slots.evidence,
    slots.observers,
  );
  const fill = async (slot, titleKey, load, render) => {
    try {
      slot.replaceChildren(render(await load()));
    } catch (err) {
      slot.replaceChildren(section(titleKey, errorBox(err, `${slot === slots.credits ? "credits" : "part"}-error`)));
    }
  };
  await Promise.all([
    fill(slots.timeline, "session.timeline", () => api.text(`${path}/timeline`), timelineSection),
    fill(slots.credits, "session.credits", () => api.get(`${path}/credits`), (c) => creditsSection(c, people)),
    fill(slots.evidence, "session.evidence", () => api.get(`${path}/evidence`), (e) => evidenceSection(e, people)),
    fill(slots.recordings, "session.recordings", () => api.get(`${path}/recordings`), recordingsSection),
    fill(slots.observers, "session.observers", () => api.get(`${path}/record`), observersSection),
  ]);
}
