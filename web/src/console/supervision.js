// Supervision: the irregular-behaviour flags of a date range, each with the facts
// it rests on, and the same list as CSV. Each flag can be marked 已核查 (reviewed) with
// an outcome and a note; "unreviewed only" hides the flags already reviewed.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, field } from "./dom.js";
import { shanghaiDay, formatDateTime } from "./format.js";
import { visible } from "../feedback.js";
import { buildHash, withQuery } from "./query.js";
import { evidenceLines } from "./summary.js";

export function renderSupervision(container, { api, route, navigate }) {
  const today = shanghaiDay(Date.now());
  const from = route.params.from || shanghaiDay(Date.now(), -6);
  const to = route.params.to || today;
  const unreviewed = route.params.unreviewed === "1";
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
    navigate(buildHash("supervision", null, { from: fromInput.value, to: toInput.value, unreviewed: unreviewed ? "1" : "" }));
  });
  const results = h("div", { class: "results", "data-testid": "supervision-results" });
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.supervision")), form, results);
  load(results, api, from, to, unreviewed);
}

// What the server allows in a note (signaling/server/supervision_api.py).
export const MAX_NOTE = 2000;

async function load(results, api, from, to, unreviewed) {
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
  const rows = flags.map((f) => {
    const cells = [
      h("a", { href: buildHash("session", f.session_id), class: "mono" }, f.session_id),
      kindLabel(f.kind),
      (f.people || []).map((p) => h("a", { href: buildHash("people", p), class: "mono person-link" }, p)),
      f.summary,
      h("ul", { class: "evidence-lines" }, evidenceLines(f.evidence).map((line) => h("li", {}, line))),
      reviewCell(api, f, () => applyFilter()),
    ];
    cells.attrs = { "data-key": f.key || "", "data-reviewed": f.review ? "1" : "0" };
    return cells;
  });
  const filterBox = h("input", { type: "checkbox", checked: unreviewed, "data-testid": "supervision-unreviewed" });
  const reviewedCount = h("span", { class: "muted small", "data-testid": "supervision-reviewed-count" });
  const filterBar = h("div", { class: "review-filter" }, h("label", {}, filterBox, " ", t("supervision.unreviewed_only")), reviewedCount);
  const flagTable = table(
    [{ key: "supervision.col.session" }, { key: "supervision.col.kind" }, { key: "supervision.col.people" }, { key: "supervision.col.summary" }, { key: "supervision.col.evidence" }, { key: "supervision.col.review" }],
    rows,
    { testid: "supervision-table", rowTestid: "flag-row", cls: "flags" },
  );
  const allDone = emptyBox("supervision.all_reviewed", "supervision-all-reviewed");
  // The filter hides rows in place: a review just saved stays on screen until the
  // box is ticked again, so the supervisor sees what they did.
  function applyFilter() {
    const trs = [...flagTable.querySelectorAll('tbody tr[data-testid="flag-row"]')];
    const done = trs.filter((tr) => tr.dataset.reviewed === "1").length;
    reviewedCount.textContent = t("supervision.reviewed_count", { done, total: trs.length });
    for (const tr of trs) tr.hidden = filterBox.checked && tr.dataset.reviewed === "1";
    allDone.hidden = !(filterBox.checked && done === trs.length);
  }
  filterBox.addEventListener("change", applyFilter);
  results.replaceChildren(head, chips, filterBar, allDone, flagTable);
  applyFilter();
}

/** The review column of one flag: its latest review, and a button opening a small form. */
function reviewCell(api, flag, onSaved) {
  const cell = h("div", { class: "review-cell", "data-testid": "flag-review" });
  const show = () => {
    const r = flag.review;
    const button = h("button", { type: "button", class: "btn btn-small", "data-testid": "review-open", disabled: !flag.key, onclick: () => edit() }, t(r ? "supervision.review_again" : "supervision.review"));
    cell.replaceChildren(
      r ? reviewShown(r) : h("span", { class: "badge badge-open", "data-testid": "review-state" }, t("supervision.unreviewed")),
      button,
    );
  };
  const edit = () => {
    const outcome = h(
      "select",
      { "data-testid": "review-outcome", "aria-label": t("supervision.outcome") },
      h("option", { value: "ok" }, t("supervision.outcome.ok")),
      h("option", { value: "irregular" }, t("supervision.outcome.irregular")),
    );
    const note = h("textarea", { rows: "3", "data-testid": "review-note", "aria-label": t("supervision.note"), placeholder: t("supervision.note_hint") });
    const counter = h("small", { class: "muted", "aria-live": "polite" });
    const problem = h("p", { class: "field-error", role: "alert", hidden: true, "data-testid": "review-problem" });
    const save = h("button", { type: "submit", class: "btn btn-primary btn-small", "data-testid": "review-save" }, t("supervision.save"));
    const cancel = h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: show }, t("supervision.cancel"));
    const count = () => {
      const n = visible(note.value).length;
      counter.textContent = t("supervision.note_count", { n, max: MAX_NOTE });
      counter.classList.toggle("over", n > MAX_NOTE);
      return n;
    };
    note.addEventListener("input", count);
    count();
    const form = h("form", { class: "review-form", "data-testid": "review-form" }, h("label", { class: "small muted" }, t("supervision.outcome")), outcome, h("label", { class: "small muted" }, t("supervision.note")), note, counter, problem, h("div", { class: "review-actions" }, save, cancel));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const n = count();
      const say = (words) => {
        problem.textContent = words;
        problem.hidden = false;
      };
      if (n > MAX_NOTE) return say(t("supervision.note_too_long", { max: MAX_NOTE }));
      if (outcome.value === "irregular" && n === 0) return say(t("supervision.note_needed"));
      save.disabled = true;
      try {
        const stored = await api.post("/api/v1/supervision/reviews", { key: flag.key, outcome: outcome.value, note: note.value });
        flag.review = stored.review;
        const tr = cell.closest("tr");
        if (tr) tr.dataset.reviewed = "1";
        show();
        onSaved();
      } catch (err) {
        save.disabled = false;
        problem.replaceChildren(errorBox(err, "review-error"));
        problem.hidden = false;
      }
    });
    cell.replaceChildren(form);
    note.focus();
  };
  show();
  return cell;
}

function reviewShown(r) {
  return h(
    "div",
    { class: "review-shown" },
    h("span", { class: `badge badge-${r.outcome === "irregular" ? "irregular" : "reviewed"}`, "data-testid": "review-state", "data-outcome": r.outcome }, `${t("supervision.reviewed")} · ${t(`supervision.outcome.${r.outcome}`)}`),
    h("div", { class: "small muted" }, t("supervision.reviewed_by", { who: r.reviewed_by, at: formatDateTime(r.at) })),
    r.note ? h("p", { class: "review-note", "data-testid": "review-note-shown" }, r.note) : null,
  );
}

function kindLabel(kind) {
  const key = `flag.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}
