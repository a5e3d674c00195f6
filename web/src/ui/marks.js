// The tutoring teacher's marks (seed 000: "教师辅导结束后，对被辅导学生、辅导问题等进行
// 必要的在线标记"): for each learner of the session, the problem, the subject and the
// knowledge point, sent to POST /api/v1/me/marks. Saving again replaces the mark (the
// server keeps the latest). One panel per page: the side panel's tab during the
// session; the ended view borrows it, since marks stay open for the feedback window.

import { clock, h, setText, show, syncList } from "./dom.js";
import { t } from "../i18n.js";
import { countChars } from "../feedback.js";

// The nine tutoring subjects (seed 002), offered as suggestions; another may be typed.
export const SUBJECTS = ["语文", "数学", "英语", "道德与法治", "物理", "化学", "生物", "历史", "地理"];
export const MARK_FIELDS = ["subject", "knowledge_point", "problem"];
// The server's bounds (signaling/session/declarations.py, Mark).
export const LIMITS = { problem: 500, subject: 40, knowledge_point: 200 };

/** The fields of a mark that still need visible text (empty when it can be saved). Pure. */
export function markProblems(mark) {
  return MARK_FIELDS.filter((k) => countChars(mark && mark[k]) === 0);
}

const panels = new WeakMap();

export function marksPanel(client) {
  if (panels.has(client)) return panels.get(client);
  const { actions } = client;
  let state = client.getState();

  const subjects = h("datalist", { id: "mark-subjects" }, SUBJECTS.map((s) => h("option", { value: s })));
  const none = h("p", { class: "muted small", hidden: true, i18n: "marks.none" });
  const list = h("div", { class: "mark-list" });
  const el = h(
    "section",
    { class: "marks", "data-testid": "marks" },
    h("h3", { i18n: "marks.title" }),
    h("p", { class: "muted small", i18n: "marks.help" }),
    subjects,
    none,
    list,
  );

  function create(p) {
    const inputs = {
      subject: h("input", { type: "text", list: "mark-subjects", maxlength: String(LIMITS.subject), "data-testid": "mark-subject", i18nPlaceholder: "marks.subject_hint" }),
      knowledge_point: h("input", { type: "text", maxlength: String(LIMITS.knowledge_point), "data-testid": "mark-knowledge-point", i18nPlaceholder: "marks.knowledge_point_hint" }),
      problem: h("textarea", { rows: "3", maxlength: String(LIMITS.problem), "data-testid": "mark-problem", i18nPlaceholder: "marks.problem_hint" }),
    };
    const name = h("h4", { class: "mark-name" });
    const status = h("p", { class: "form-status", "data-testid": "mark-status", role: "status" });
    const save = h("button", { class: "btn primary small", type: "submit", "data-testid": "mark-save" }, h("span", { class: "label", i18n: "marks.save" }));
    const field = (key) => h("label", { class: "field" }, h("span", { class: "field-title", i18n: `marks.${key}` }), inputs[key]);
    const row = h(
      "form",
      { class: "mark-row", "data-testid": "mark-row", "data-person": p.id, novalidate: true },
      name,
      h("div", { class: "mark-pair" }, field("subject"), field("knowledge_point")),
      field("problem"),
      h("div", { class: "form-actions" }, status, save),
    );
    const read = () => Object.fromEntries(MARK_FIELDS.map((k) => [k, inputs[k].value]));
    row.parts = { inputs, name, status, save, read };
    row.dirty = false;
    row.shownAt = null;
    row.addEventListener("input", () => {
      row.dirty = true;
      update(row, p);
    });
    row.addEventListener("submit", (e) => {
      e.preventDefault();
      if (markProblems(read()).length) {
        status.classList.add("error");
        setText(status, t("marks.need_all"));
        return;
      }
      row.dirty = false;
      actions.saveMark(p.id, read());
    });
    return row;
  }

  function update(row, p) {
    const { inputs, name, status, save, read } = row.parts;
    setText(name, p.name || p.id);
    const saved = state.marks.items[p.id];
    if (saved && saved.marked_at !== row.shownAt && !row.dirty) {
      for (const k of MARK_FIELDS) inputs[k].value = saved[k] || "";
      row.shownAt = saved.marked_at;
    }
    const saving = !!state.marks.saving[p.id];
    const err = state.marks.errors[p.id];
    save.disabled = saving || markProblems(read()).length > 0;
    status.classList.toggle("error", !!err);
    status.dataset.saved = String(!!saved && !row.dirty && !saving && !err);
    if (saving) setText(status, t("marks.saving"));
    else if (err) setText(status, t("marks.error", { message: err.message || err.code }));
    else if (saved && !row.dirty) setText(status, t("marks.saved", { time: clock(saved.marked_at) }));
    else if (saved) setText(status, t("marks.changed"));
    else setText(status, t("marks.unsaved"));
  }

  function render(s, prev) {
    state = s;
    if (prev && prev.people === s.people && prev.marks === s.marks && prev.lang === s.lang) return;
    const learners = s.people.filter((p) => p.role === "learner");
    show(none, learners.length === 0);
    syncList(list, learners, (p) => p.id, create, update);
  }

  const api = { el, update: render };
  panels.set(client, api);
  return api;
}

export function mountMarks(panel, client) {
  const mp = marksPanel(client);
  return (s, prev) => {
    const marker = s.me && s.me.role === "instructor" && s.session && s.session.programme === "tutoring";
    if (!marker) return;
    if (s.phase !== "ended" && mp.el.parentNode !== panel) panel.append(mp.el);
    mp.update(s, prev);
  };
}
