// Analysis (学情分析, issue 16): what tutoring students asked about in a term — per
// subject the most-marked knowledge points, per week the marks — from
// GET /api/v1/reports/analysis, filtered by term, learner district / school and subject.
// Charts are small inline SVG drawn here (no chart library: two chart kinds, a few
// dozen lines); each has a table beside it with the same numbers, for screen readers
// and for copying.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, field } from "./dom.js";
import { buildHash, withQuery } from "./query.js";

export const FILTERS = ["term", "district", "school", "subject"];
const SVG = "http://www.w3.org/2000/svg";
const SERIES_COLOURS = ["#2f6fb0", "#c05621", "#2f855a", "#805ad5", "#b83232", "#5f6b78"];
const MAX_LINES = 5; // subjects in the weekly chart; more would be unreadable

/** The report's filters from route params: known keys, trimmed, empty dropped. Pure. */
export function analysisFilters(params) {
  const out = {};
  for (const k of FILTERS) {
    const v = params && params[k];
    if (v !== undefined && v !== null && String(v).trim() !== "") out[k] = String(v).trim();
  }
  return out;
}

export function analysisUrl(filters) {
  return withQuery("/api/v1/reports/analysis", analysisFilters(filters), FILTERS);
}

export function analysisCsvUrl(filters) {
  return withQuery("/api/v1/reports/analysis.csv", analysisFilters(filters), FILTERS);
}

/** A round axis top ≥ n: 1, 2, 5 × 10^k. Pure. */
export function niceMax(n) {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** "12.5%" of a 0..1 share. Pure. */
export function pct(share) {
  return `${(Math.round((share || 0) * 1000) / 10).toFixed(1)}%`;
}

/**
 * Horizontal bars: items [{label, value}] → rows with their geometry in a chart of
 * `width`; the longest bar is the axis top. Pure.
 */
export function barLayout(items, { width = 560, labelWidth = 180, bar = 18, gap = 8, valueWidth = 48 } = {}) {
  const top = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const span = width - labelWidth - valueWidth;
  const rows = items.map((item, i) => ({
    label: item.label,
    value: item.value,
    x: labelWidth,
    y: i * (bar + gap),
    w: Math.max(item.value > 0 ? 2 : 0, Math.round((item.value / top) * span)),
    h: bar,
  }));
  return { rows, top, height: Math.max(1, items.length * (bar + gap) - gap), width };
}

/**
 * Lines over the weeks: series [{label, values: [n per week]}] → a polyline's points
 * per series in a `width`×`height` plot (y down, 0 at the bottom). Pure.
 */
export function lineLayout(series, { width = 560, height = 160, left = 36, bottom = 20, top = 8, right = 8 } = {}) {
  const weeks = Math.max(1, ...series.map((s) => s.values.length));
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (i) => Math.round(left + (weeks === 1 ? plotW / 2 : (i * plotW) / (weeks - 1)));
  const y = (v) => Math.round(top + plotH - (v / max) * plotH);
  return {
    max,
    weeks,
    width,
    height,
    xs: Array.from({ length: weeks }, (_, i) => x(i)),
    baseline: top + plotH,
    top,
    left,
    lines: series.map((s) => ({ label: s.label, points: s.values.map((v, i) => `${x(i)},${y(v)}`).join(" ") })),
  };
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A figure: the SVG (role img, named by the caption) and its table in a <details>. */
function figure(testid, caption, chart, tableEl) {
  const id = `fig-${Math.random().toString(36).slice(2, 9)}`;
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-labelledby", id);
  return h(
    "figure",
    { class: "chart", "data-testid": testid },
    h("figcaption", { id }, caption),
    chart,
    h("details", { class: "chart-table" }, h("summary", {}, t("analysis.as_table")), tableEl),
  );
}

function barChart(points) {
  const layout = barLayout(points.map((k) => ({ label: k.knowledge_point, value: k.marks })));
  return svg(
    "svg",
    { viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, class: "bars" },
    layout.rows.map((r) =>
      svg(
        "g",
        {},
        svg("text", { x: r.x - 8, y: r.y + r.h - 5, "text-anchor": "end", class: "bar-label" }, clip(r.label, 14)),
        svg("rect", { x: r.x, y: r.y, width: r.w, height: r.h, rx: 3, class: "bar" }),
        svg("text", { x: r.x + r.w + 6, y: r.y + r.h - 5, class: "bar-value" }, r.value),
      ),
    ),
  );
}

function lineChart(series, weeks) {
  const layout = lineLayout(series);
  const every = Math.max(1, Math.ceil(layout.weeks / 10)); // label at most ~10 weeks
  return svg(
    "svg",
    { viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, class: "lines" },
    svg("line", { x1: layout.left, x2: layout.width - 8, y1: layout.baseline, y2: layout.baseline, class: "axis" }),
    svg("text", { x: layout.left - 6, y: layout.top + 8, "text-anchor": "end", class: "tick" }, layout.max),
    svg("text", { x: layout.left - 6, y: layout.baseline, "text-anchor": "end", class: "tick" }, 0),
    layout.xs.map((x, i) =>
      i % every === 0 ? svg("text", { x, y: layout.height - 4, "text-anchor": "middle", class: "tick" }, weeks[i] ? weeks[i].week : i + 1) : null,
    ),
    layout.lines.map((l, i) => svg("polyline", { points: l.points, fill: "none", stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], "stroke-width": 2, class: "line" })),
    // A dot on each week with marks: lines of equal values lie on one another, the dots
    // (drawn smaller for later series) keep each visible.
    layout.lines.map((l, i) =>
      l.points
        .split(" ")
        .filter((_, w) => series[i].values[w] > 0)
        .map((pt) => {
          const [cx, cy] = pt.split(",");
          return svg("circle", { cx, cy, r: Math.max(2, 6 - 2 * i), fill: SERIES_COLOURS[i % SERIES_COLOURS.length] });
        }),
    ),
  );
}

function clip(text, n) {
  const chars = Array.from(text || "");
  return chars.length > n ? `${chars.slice(0, n - 1).join("")}…` : text;
}

export function renderAnalysis(container, { api, route, navigate }) {
  const filters = analysisFilters(route.params);
  const results = h("div", { class: "results", "data-testid": "analysis-results" });
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.analysis")), h("div", { "data-testid": "analysis-form-slot" }), results);
  load(container, results, api, filters, navigate);
}

function filterForm(report, filters, navigate) {
  const termSelect = h(
    "select",
    { name: "term", "data-testid": "analysis-term" },
    (report.terms || []).map((term) => h("option", { value: term.name, selected: term.name === report.term.name }, `${term.name}（${term.start} – ${term.end}）`)),
  );
  // The place the report was read for: what was asked, or the office's own scope.
  const applied = report.filters || {};
  const district = h("input", { name: "district", value: filters.district || applied.district || "", autocomplete: "off", placeholder: "110112", "data-testid": "analysis-district" });
  const school = h("input", { name: "school", value: filters.school || applied.school || "", autocomplete: "off", "data-testid": "analysis-school" });
  const subject = h("input", { name: "subject", value: filters.subject || "", autocomplete: "off", list: "analysis-subjects", "data-testid": "analysis-subject" });
  const subjects = h("datalist", { id: "analysis-subjects" }, (report.subjects || []).map((s) => h("option", { value: s.subject })));
  const csv = h("a", { class: "btn btn-link", href: analysisCsvUrl({ ...filters, term: report.term.name }), download: "", "data-testid": "analysis-csv" }, t("analysis.csv"));
  const form = h(
    "form",
    { class: "filters card", role: "search", "data-testid": "analysis-form" },
    h(
      "div",
      { class: "filter-grid" },
      field("analysis.term", termSelect),
      field("analysis.district", district, "analysis.district_help"),
      field("analysis.school", school, "analysis.school_help"),
      field("analysis.subject", subject),
    ),
    subjects,
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "analysis-show" }, t("analysis.show")), csv),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    navigate(buildHash("analysis", null, analysisFilters({ term: termSelect.value, district: district.value, school: school.value, subject: subject.value })));
  });
  return form;
}

async function load(container, results, api, filters, navigate) {
  results.replaceChildren(loadingBox());
  let report;
  try {
    report = await api.get(analysisUrl(filters));
  } catch (err) {
    results.replaceChildren(errorBox(err, "analysis-error"));
    return;
  }
  const slot = container.querySelector("[data-testid=analysis-form-slot]");
  if (slot) slot.replaceChildren(filterForm(report, filters, navigate));
  const totals = report.totals || {};
  const weeks = report.weeks || [];
  const figures = h(
    "dl",
    { class: "figures card", "data-testid": "analysis-totals" },
    [
      ["analysis.total.sessions", totals.sessions],
      ["analysis.total.marked", totals.marked_sessions],
      ["analysis.total.students", totals.students],
      ["analysis.total.teachers", totals.teachers],
      ["analysis.total.marks", totals.marks],
    ].map(([key, n]) => h("div", { class: "figure" }, h("dt", {}, t(key)), h("dd", { "data-testid": key.replace("analysis.total.", "total-") }, n ?? 0))),
  );
  const head = h("p", { class: "muted", "data-testid": "analysis-summary" }, t("analysis.summary", { term: report.term.name, start: report.term.start, end: report.term.end, weeks: weeks.length }));
  const grade = report.grade_recorded ? null : h("p", { class: "muted small", "data-testid": "analysis-no-grade" }, t("analysis.no_grade"));
  const subjects = report.subjects || [];
  if (!subjects.length) {
    results.replaceChildren(head, figures, grade, emptyBox("analysis.none", "analysis-empty"));
    return;
  }
  results.replaceChildren(head, figures, grade, weeklySection(subjects, weeks), ...subjects.map((s) => subjectSection(s)), placesSection(report));
}

function weeklySection(subjects, weeks) {
  const shown = subjects.slice(0, MAX_LINES);
  const series = shown.map((s) => ({ label: s.subject, values: s.weekly }));
  const legend = h(
    "ul",
    { class: "legend" },
    shown.map((s, i) => h("li", {}, h("span", { class: "swatch", style: `background:${SERIES_COLOURS[i % SERIES_COLOURS.length]}`, "aria-hidden": "true" }), s.subject)),
  );
  const weekTable = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-testid": "analysis-weekly-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("analysis.col.week")), shown.map((s) => h("th", { scope: "col", class: "num" }, s.subject)))),
      h("tbody", {}, weeks.map((w, i) => h("tr", {}, h("th", { scope: "row" }, t("analysis.week_of", { n: w.week, start: w.start })), shown.map((s) => h("td", { class: "num" }, s.weekly[i] ?? 0))))),
    ),
  );
  return h(
    "section",
    { class: "card" },
    h("h2", {}, t("analysis.weekly")),
    figure("analysis-weekly-chart", t("analysis.weekly_caption", { n: shown.length }), lineChart(series, weeks), weekTable),
    legend,
  );
}

function subjectSection(s) {
  const points = s.knowledge_points || [];
  const rows = points.map((k) => [k.knowledge_point, String(k.marks), pct(k.share), String(k.students)]);
  const cols = [{ key: "analysis.col.point" }, { key: "analysis.col.marks", cls: "num" }, { key: "analysis.col.share", cls: "num" }, { key: "analysis.col.students", cls: "num" }];
  return h(
    "section",
    { class: "card", "data-testid": "analysis-subject-section", "data-subject": s.subject },
    h("h2", {}, s.subject, " ", h("span", { class: "muted small" }, t("analysis.subject_figures", { marks: s.marks, share: pct(s.share), students: s.students, points: s.knowledge_point_count }))),
    figure("analysis-bars", t("analysis.top_caption", { n: points.length, subject: s.subject }), barChart(points), table(cols, rows, { testid: "analysis-points-table", rowTestid: "point-row" })),
  );
}

function placesSection(report) {
  const cols = (first) => [
    { key: first },
    { key: "analysis.col.sessions", cls: "num" },
    { key: "analysis.col.students", cls: "num" },
    { key: "analysis.col.marks", cls: "num" },
    { key: "analysis.col.subjects" },
  ];
  const subjectsText = (p) => (p.subjects || []).map((s) => `${s.subject} ${s.marks}`).join("、");
  const name = (label, code) => (label ? `${label}（${code || "—"}）` : code || t("analysis.unknown_place"));
  return h(
    "section",
    { class: "card" },
    h("h2", {}, t("analysis.places")),
    h("p", { class: "muted small" }, t("analysis.places_help")),
    h("h3", {}, t("analysis.by_district")),
    table(cols("analysis.col.district"), (report.districts || []).map((d) => [name(d.district, d.district_code), String(d.sessions), String(d.students), String(d.marks), subjectsText(d)]), { testid: "analysis-districts", rowTestid: "district-row" }),
    h("h3", {}, t("analysis.by_school")),
    table(cols("analysis.col.school"), (report.schools || []).map((s) => [name(s.school, s.school_id), String(s.sessions), String(s.students), String(s.marks), subjectsText(s)]), { testid: "analysis-schools", rowTestid: "school-row" }),
  );
}
