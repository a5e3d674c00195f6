// People: a teacher's (or learner's) id and a term → their statement per programme
// (points and pay per term, study hours and credits per year), with the CSV, XLSX
// and certificate PDF links.

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, field, section } from "./dom.js";
import { buildHash, personLinks } from "./query.js";
import { statementRows } from "./summary.js";

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function renderPeople(container, { api, route, navigate }) {
  const id = (route.id || route.params.id || "").trim();
  const term = (route.params.term || "").trim();
  const idInput = h("input", { name: "id", value: id, required: true, autocomplete: "off", spellcheck: "false", "data-testid": "people-id", placeholder: t("people.id_hint") });
  const termInput = h("input", { name: "term", value: term, autocomplete: "off", "data-testid": "people-term", placeholder: t("people.term_hint") });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true, "data-testid": "people-problem" });
  const form = h(
    "form",
    { class: "filters card", role: "search", "data-testid": "people-form" },
    h("div", { class: "filter-grid filter-grid-2" }, field("people.id", idInput), field("people.term", termInput, "people.term_help")),
    problem,
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "people-show" }, t("people.show"))),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const want = idInput.value.trim();
    if (!ID.test(want)) {
      problem.textContent = t(want ? "people.bad_id" : "people.need_id");
      problem.hidden = false;
      idInput.focus();
      return;
    }
    navigate(buildHash("people", want, { term: termInput.value.trim() }));
  });
  const results = h("div", { class: "results", "data-testid": "people-results" });
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.people")), form, results);
  if (!id) {
    results.replaceChildren(emptyBox("people.start", "people-start"));
    idInput.focus();
    return;
  }
  if (!ID.test(id)) {
    results.replaceChildren(emptyBox("people.bad_id", "people-bad"));
    return;
  }
  load(results, api, id, term);
}

async function load(results, api, id, term) {
  const links = personLinks(id, term);
  const downloads = h(
    "div",
    { class: "downloads", "data-testid": "people-downloads" },
    h("span", { class: "muted" }, t("people.downloads")),
    h("a", { class: "btn btn-link", href: links.csv, download: "", "data-testid": "people-csv" }, t("people.csv")),
    h("a", { class: "btn btn-link", href: links.xlsx, download: "", "data-testid": "people-xlsx" }, t("people.xlsx")),
    h("a", { class: "btn btn-link", href: links.pdf, download: "", "data-testid": "people-pdf" }, t("people.pdf")),
  );
  const head = h(
    "div",
    { class: "card person-head" },
    h("h2", { "data-testid": "people-person" }, t("people.statement_of", { id })),
    h("p", { class: "muted" }, term ? t("people.for_term", { term }) : t("people.all_terms")),
    downloads,
  );
  results.replaceChildren(head, loadingBox());
  let statement;
  try {
    statement = await api.get(links.json);
  } catch (err) {
    results.replaceChildren(head, errorBox(err, "people-error"));
    return;
  }
  const programmes = statementRows(statement);
  if (!programmes.length) {
    results.replaceChildren(head, emptyBox("people.none", "people-empty"));
    return;
  }
  const blocks = programmes.map((p) =>
    h(
      "div",
      { "data-testid": "statement-programme", "data-programme": p.programme },
      section(
        `programme.${p.programme}`,
        h("h3", {}, t("people.terms")),
        p.terms.length
          ? table(
              [{ key: "people.col.term" }, { key: "people.col.sessions", cls: "num" }, { key: "people.col.points", cls: "num" }, { key: "people.col.pay", cls: "num" }],
              p.terms.map((r) => [r.term === "(no term)" ? t("people.no_term") : r.term, String(r.sessions ?? 0), String(r.points), `¥${r.pay_cny}`]),
              { testid: "statement-terms" },
            )
          : emptyBox("people.no_terms"),
        h("h3", {}, t("people.years")),
        p.years.length
          ? table(
              [{ key: "people.col.year" }, { key: "people.col.study_hours", cls: "num" }, { key: "people.col.credits", cls: "num" }],
              p.years.map((r) => [r.year, String(r.study_hours ?? 0), String(r.credits ?? 0)]),
              { testid: "statement-years" },
            )
          : emptyBox("people.no_years", "statement-no-years"),
      ),
    ),
  );
  results.replaceChildren(head, ...blocks);
}
