// Supervision: the irregular-behaviour flags of a date range, each with the facts
// it rests on, and the same list as CSV.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, field } from "./dom.js";
import { shanghaiDay } from "./format.js";
import { buildHash, withQuery } from "./query.js";
import { evidenceLines } from "./summary.js";

export function renderSupervision(container, { api, route, navigate }) {
  const today = shanghaiDay(Date.now());
  const from = route.params.from || shanghaiDay(Date.now(), -6);
  const to = route.params.to || today;
  const fromInput = h("input", { type: "date", name: "from", value: from, required: true, "data-testid": "supervision-from" });
  const toInput = h("input", { type: "date", name: "to", value: to, required: true, "data-testid": "supervision-to" });
  const csv = h("a", { class: "btn btn-link", href: withQuery("/api/v1/supervision", { from, to, format: "csv" }), download: "", "data-testid": "supervision-csv" }, t("supervision.csv"));
  const form = h(
    "form",
    { class: "filters card", role: "search", "data-testid": "supervision-form" },
    h("div", { class: "filter-grid filter-grid-2" }, field("supervision.from", fromInput), field("supervision.to", toInput)),
    h("p", { class: "muted small" }, t("supervision.range_help")),
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "supervision-show" }, t("supervision.show")), csv),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    navigate(buildHash("supervision", null, { from: fromInput.value, to: toInput.value }));
  });
  const results = h("div", { class: "results", "data-testid": "supervision-results" });
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.supervision")), form, results);
  load(results, api, from, to);
}

async function load(results, api, from, to) {
  results.replaceChildren(loadingBox());
  let report;
  try {
    report = await api.get(withQuery("/api/v1/supervision", { from, to }));
  } catch (err) {
    results.replaceChildren(errorBox(err, "supervision-error"));
    return;
  }
  const flags = report.flags || [];
  const counts = Object.entries(report.counts || {});
  const head = h(
    "p",
    { class: "muted", "data-testid": "supervision-summary" },
    t("supervision.summary", { sessions: report.sessions ?? 0, flags: flags.length, from: report.from || from, to: report.to || to }),
  );
  if (!flags.length) {
    results.replaceChildren(head, emptyBox("supervision.none", "supervision-empty"));
    return;
  }
  const chips = h("div", { class: "chips" }, counts.map(([kind, n]) => h("span", { class: "chip" }, `${kindLabel(kind)} · ${n}`)));
  results.replaceChildren(
    head,
    chips,
    table(
      [{ key: "supervision.col.session" }, { key: "supervision.col.kind" }, { key: "supervision.col.people" }, { key: "supervision.col.summary" }, { key: "supervision.col.evidence" }],
      flags.map((f) => [
        h("a", { href: buildHash("session", f.session_id), class: "mono" }, f.session_id),
        kindLabel(f.kind),
        (f.people || []).map((p) => h("a", { href: buildHash("people", p), class: "mono person-link" }, p)),
        f.summary,
        h("ul", { class: "evidence-lines" }, evidenceLines(f.evidence).map((line) => h("li", {}, line))),
      ]),
      { testid: "supervision-table", rowTestid: "flag-row", cls: "flags" },
    ),
  );
}

function kindLabel(kind) {
  const key = `flag.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}
