// Sessions: the filter form, the table, "more" by next_cursor, and the CSV export
// with the same filters. The filters live in the hash (#/sessions?from=…), so a
// search can be bookmarked and the back button works.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, field } from "./dom.js";
import { formatDateTime } from "./format.js";
import { buildHash, sessionFilters, sessionsCsvUrl, sessionsUrl } from "./query.js";
import { instructorColumns } from "./summary.js";

export const PAGE_SIZE = 50;
const PROGRAMMES = ["training", "tutoring"];
const FORMS = ["one_to_one", "lecture", "review", "classroom"];
const STATUSES = ["scheduled", "live", "ended"];

const COLUMNS = [
  { key: "sessions.col.start" },
  { key: "sessions.col.title" },
  { key: "sessions.col.form" },
  { key: "sessions.col.teacher" },
  { key: "sessions.col.school" },
  { key: "sessions.col.district" },
  { key: "sessions.col.status" },
  { key: "sessions.col.learners", cls: "num" },
];

function select(name, values, current, prefix) {
  return h(
    "select",
    { name, "data-testid": `filter-${name}` },
    h("option", { value: "" }, t("common.all")),
    values.map((v) => h("option", { value: v, selected: v === current }, t(`${prefix}.${v}`))),
  );
}

function input(name, type, current, extra = {}) {
  return h("input", { name, type, value: current || "", "data-testid": `filter-${name}`, ...extra });
}

export function statusBadge(status) {
  return h("span", { class: `badge badge-${status || "unknown"}`, "data-status": status }, t(`status.${status || "unknown"}`));
}

function row(s) {
  const who = instructorColumns(s);
  const cells = [
    formatDateTime(s.started_at || s.scheduled_start),
    h("a", { href: buildHash("session", s.id), "data-testid": "session-link" }, s.title || s.id),
    t(`form.${s.form}`),
    who.teacher,
    who.school,
    who.district,
    statusBadge(s.status),
    String(s.learners ?? "—"),
  ];
  cells.attrs = { "data-session": s.id };
  return cells;
}

export function renderSessions(container, { api, route, navigate }) {
  const filters = sessionFilters(route.params);
  const form = h(
    "form",
    { class: "filters card", "data-testid": "sessions-filters", role: "search" },
    h(
      "div",
      { class: "filter-grid" },
      field("sessions.f.from", input("from", "date", filters.from)),
      field("sessions.f.to", input("to", "date", filters.to)),
      field("sessions.f.programme", select("programme", PROGRAMMES, filters.programme, "programme")),
      field("sessions.f.form", select("form", FORMS, filters.form, "form")),
      field("sessions.f.teacher", input("teacher", "search", filters.teacher, { placeholder: t("sessions.f.teacher_hint") })),
      field("sessions.f.school", input("school", "search", filters.school, { placeholder: t("sessions.f.school_hint") })),
      field("sessions.f.district", input("district", "search", filters.district, { placeholder: t("sessions.f.district_hint") })),
      field("sessions.f.status", select("status", STATUSES, filters.status, "status")),
    ),
    h(
      "div",
      { class: "filter-actions" },
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "sessions-search" }, t("sessions.search")),
      h("button", { type: "button", class: "btn", "data-testid": "sessions-reset", onclick: () => navigate(buildHash("sessions")) }, t("sessions.reset")),
      h("a", { class: "btn btn-link", href: sessionsCsvUrl(filters), download: "", "data-testid": "sessions-csv" }, t("sessions.csv")),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    const next = buildHash("sessions", null, sessionFilters(data));
    if (next === location.hash) load(); // same search again: reload
    else navigate(next);
  });

  const results = h("div", { class: "results", "data-testid": "sessions-results" });
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.sessions")), form, results);

  let shown = [];
  async function load(cursor) {
    const more = results.querySelector('[data-testid="sessions-more"]');
    if (!cursor) {
      shown = [];
      results.replaceChildren(loadingBox());
    } else if (more) {
      more.disabled = true;
      more.textContent = t("common.loading");
    }
    let page;
    try {
      page = await api.get(sessionsUrl(filters, { limit: PAGE_SIZE, cursor }));
    } catch (err) {
      if (!cursor) results.replaceChildren(errorBox(err));
      else {
        const retry = h("div", { class: "more-failed" }, errorBox(err), moreButton(cursor));
        if (more) more.replaceWith(retry);
        else results.append(retry);
      }
      return;
    }
    shown = shown.concat(page.sessions || []);
    if (shown.length === 0) {
      results.replaceChildren(emptyBox(Object.keys(filters).length ? "sessions.empty_filtered" : "sessions.empty"));
      return;
    }
    const parts = [
      h("p", { class: "muted count", "data-testid": "sessions-count" }, t(page.next_cursor ? "sessions.count_more" : "sessions.count", { n: shown.length })),
      table(COLUMNS, shown.map(row), { testid: "sessions-table", rowTestid: "session-row" }),
    ];
    if (page.next_cursor) parts.push(moreButton(page.next_cursor));
    results.replaceChildren(...parts);
  }

  function moreButton(cursor) {
    return h("button", { type: "button", class: "btn more", "data-testid": "sessions-more", onclick: () => load(cursor) }, t("sessions.more"));
  }

  load();
}
