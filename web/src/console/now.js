// Now (实时课堂): the sessions live now, who is in each and how their
// media looked in the last seconds (GET /api/v1/live). Refreshed every 5 s while the
// page is visible: a hidden tab asks nothing (the office leaves the console open all
// day), and the refresh resumes at once when it shows again. With several nodes the
// node asked gathers every node's sessions, and names any that did not answer.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox } from "./dom.js";
import { shanghaiParts } from "./format.js";
import { buildHash } from "./query.js";

export const REFRESH_MS = 5000;
export const LOSS_WARN_PCT = 2; // a little loss is heard as crackle
export const LOSS_BAD_PCT = 10; // video freezes, speech breaks up

/**
 * The badges of one person's media health, in the order shown: [{key, params, tone}].
 * tone: "ok" | "warn" | "bad" | "off" (colour; the words say the same). Pure.
 */
export function healthBadges(health) {
  if (!health || !health.seconds) return [{ key: "now.h.no_samples", params: {}, tone: "off" }];
  const out = [];
  const audioTone = { voiced: "ok", silent: "warn", unknown: "ok", off: "off" }[health.audio] || "off";
  out.push({ key: `now.audio.${health.audio in { voiced: 1, silent: 1, unknown: 1 } ? health.audio : "off"}`, params: {}, tone: audioTone });
  if (health.video === "live") out.push({ key: "now.video.live", params: { fps: health.fps }, tone: "ok" });
  else out.push({ key: "now.video.camera_off", params: {}, tone: "off" });
  if (health.receiving) out.push({ key: "now.receiving.yes", params: {}, tone: "ok" });
  else out.push({ key: "now.receiving.no", params: {}, tone: "warn" });
  if (health.loss_pct !== null && health.loss_pct !== undefined) {
    const pct = Number(health.loss_pct);
    const tone = pct >= LOSS_BAD_PCT ? "bad" : pct >= LOSS_WARN_PCT ? "warn" : "ok";
    out.push({ key: "now.loss", params: { pct: formatPct(pct) }, tone });
  }
  return out;
}

/** "0", "2.5", "12": one decimal only below 10 %. Pure. */
export function formatPct(pct) {
  if (!Number.isFinite(pct)) return "—";
  return pct < 10 ? String(Math.round(pct * 10) / 10) : String(Math.round(pct));
}

/** "HH:mm:ss" in Beijing of an ISO instant, "—" when absent. Pure. */
export function clock(value) {
  const p = shanghaiParts(value);
  return p ? `${p.time}:${p.seconds}` : "—";
}

/** The teachers' names of a live session, joined. Pure. */
export function teacherNames(session) {
  return (session.instructors || []).map((p) => p.name || p.id).join("、");
}

function badge(b) {
  return h("span", { class: `badge health health-${b.tone}`, "data-tone": b.tone, "data-key": b.key }, t(b.key, b.params));
}

function recordingBadge(recording) {
  const on = !!(recording && recording.on);
  return h("span", { class: `badge health health-${on ? "rec" : "off"}`, "data-testid": "now-recording", "data-on": on ? "1" : "0" }, t(on ? "now.recording.on" : "now.recording.off"));
}

function peopleTable(session) {
  const people = session.people || [];
  if (!people.length) return emptyBox("now.nobody", "now-nobody");
  return h(
    "table",
    { class: "data now-people", "data-testid": "now-people" },
    h("thead", {}, h("tr", {}, ["now.p.name", "now.p.role", "now.p.joined", "now.p.media", "now.p.rate"].map((k) => h("th", { scope: "col" }, t(k))))),
    h(
      "tbody",
      {},
      people.map((p) => {
        const hl = p.health || {};
        return h(
          "tr",
          { "data-testid": "now-person", "data-person": p.id },
          h("td", {}, p.name || p.id),
          h("td", {}, t(`role.${p.role}`)),
          h("td", { class: "mono" }, clock(p.joined_at)),
          h("td", {}, h("div", { class: "health-badges" }, healthBadges(hl).map(badge))),
          h("td", { class: "num" }, hl.seconds ? t("now.rate", { up: Math.round(hl.kbps_in || 0), down: Math.round(hl.kbps_out || 0) }) : "—"),
        );
      }),
    ),
  );
}

const COLUMNS = [
  ["now.col.title", ""],
  ["now.col.form", ""],
  ["now.col.teacher", ""],
  ["now.col.people", "num"],
  ["now.col.minutes", "num"],
  ["now.col.recording", ""],
  ["now.col.details", ""],
  ["now.col.observe", ""],
];

/**
 * 旁听: ask for this viewer's observer link (issue 16) and open it in a new tab. The
 * tab is opened inside the click, before the request: one opened after an await is
 * a popup the browser blocks. `failed(err)` shows why it was refused.
 */
export async function observeSession(api, sessionId, { open = (url) => window.open(url, "_blank"), failed = () => {} } = {}) {
  const tab = open("about:blank");
  try {
    const link = await api.post(`/api/v1/live/${encodeURIComponent(sessionId)}/observe`);
    if (tab) {
      tab.opener = null; // the class's page gets no handle on the console
      tab.location.replace(link.join_url);
    } else open(link.join_url); // popups refused: one more try, from the answer
    return link;
  } catch (err) {
    if (tab) tab.close();
    failed(err);
    return null;
  }
}

function observeCell(s, api, redraw, notices) {
  const button = h(
    "button",
    {
      type: "button",
      class: "btn btn-quiet now-observe",
      "data-testid": "now-observe",
      "data-session": s.id,
      title: t("now.observe_hint"),
      onclick: async () => {
        button.disabled = true;
        notices.delete(s.id);
        await observeSession(api, s.id, { failed: (err) => notices.set(s.id, err) });
        button.disabled = false;
        redraw();
      },
    },
    t("now.observe"),
  );
  const watching = s.observers || [];
  const err = notices.get(s.id);
  return h(
    "td",
    {},
    button,
    watching.length ? h("div", { class: "muted small", "data-testid": "now-observers" }, t("now.observers", { names: watching.join("、") })) : null,
    err ? h("div", { class: "notice notice-error small", role: "alert", "data-testid": "now-observe-error" }, t("now.observe_failed", { message: err.message || err.kind || "" })) : null,
  );
}

function sessionsTable(sessions, open, redraw, api, notices) {
  const rows = [];
  for (const s of sessions) {
    const isOpen = open.has(s.id);
    const detailId = `now-detail-${s.id}`;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "btn btn-quiet now-toggle",
        "aria-expanded": isOpen ? "true" : "false",
        "aria-controls": detailId,
        "data-testid": "now-toggle",
        onclick: () => {
          if (open.has(s.id)) open.delete(s.id);
          else open.add(s.id);
          redraw();
        },
      },
      t(isOpen ? "now.hide" : "now.show", { n: (s.people || []).length }),
    );
    rows.push(
      h(
        "tr",
        { "data-testid": "now-row", "data-session": s.id },
        h("td", {}, h("a", { href: buildHash("session", s.id), "data-testid": "now-session-link" }, s.title || s.id)),
        h("td", {}, t(`form.${s.form}`)),
        h("td", {}, teacherNames(s) || "—"),
        h("td", { class: "num", "data-testid": "now-count" }, String((s.people || []).length)),
        h("td", { class: "num" }, String(s.minutes ?? 0)),
        h("td", {}, recordingBadge(s.recording)),
        h("td", {}, toggle),
        observeCell(s, api, redraw, notices),
      ),
    );
    if (isOpen) rows.push(h("tr", { class: "now-detail", id: detailId }, h("td", { colspan: String(COLUMNS.length) }, peopleTable(s))));
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data now", "data-testid": "now-table" },
      h("thead", {}, h("tr", {}, COLUMNS.map(([k, cls]) => h("th", { scope: "col", class: cls || null }, t(k))))),
      h("tbody", {}, rows),
    ),
  );
}

export function renderNow(container, { api }) {
  const status = h("p", { class: "muted small", role: "status", "data-testid": "now-status" }, t("now.lead"));
  const results = h("div", { class: "results", "data-testid": "now-results" }, loadingBox());
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.now")), status, results);

  const open = new Set(); // expanded sessions, kept across refreshes
  const notices = new Map(); // session → why its 旁听 was refused (until the next click)
  let last = null; // the last answer, shown (with a notice) when a refresh fails
  let timer = null;
  let busy = false;

  function draw(failed) {
    const parts = [];
    if (failed) parts.push(last ? h("div", { class: "notice notice-info", role: "alert", "data-testid": "now-stale" }, t("now.stale", { time: clock(last.at) })) : errorBox(failed, "now-error"));
    if (last) {
      const sessions = last.sessions || [];
      const missing = last.unreachable || [];
      if (missing.length) parts.push(h("div", { class: "notice notice-info", role: "alert", "data-testid": "now-unreachable" }, t("now.unreachable", { nodes: missing.join(", ") })));
      parts.push(sessions.length ? sessionsTable(sessions, open, () => draw(failed), api, notices) : emptyBox("now.empty", "now-empty"));
      status.replaceChildren(
        t("now.updated", { node: last.node || "—", time: clock(last.at), s: REFRESH_MS / 1000 }),
        last.several_nodes ? ` ${t("now.several_nodes")}` : "",
      );
    }
    results.replaceChildren(...parts);
  }

  async function tick() {
    timer = null;
    if (!container.isConnected) return stop(); // another page replaced this one
    if (document.hidden || busy) return;
    busy = true;
    let failed = null;
    try {
      last = await api.get("/api/v1/live");
    } catch (err) {
      failed = err;
    } finally {
      busy = false;
    }
    if (!container.isConnected) return stop();
    draw(failed);
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden && container.isConnected) timer = setTimeout(tick, REFRESH_MS);
  }

  function onVisibility() {
    if (!container.isConnected) return stop();
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else if (timer === null && !busy) {
      tick(); // back in view: fresh figures at once
    }
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    document.removeEventListener("visibilitychange", onVisibility);
  }

  document.addEventListener("visibilitychange", onVisibility);
  tick();
}
