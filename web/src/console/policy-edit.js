// Editing the calendar and the policy numbers (校历与规则, city officers only) and their
// history for everyone: PUT /api/v1/calendar, PUT /api/v1/policy/{programme} (each first
// with preview: true, so the officer sees the diff before saving), GET …/versions,
// …/versions/{seq}.toml, POST …/versions/{seq}/restore. A refusal names its field; the
// message is shown next to that field (data-field), else above the buttons.

import { t } from "./i18n.js";
import { h } from "./dom.js";
import { formatDateTime } from "./format.js";

/** A diff entry in words: "forms.lecture.min_viewers：1 → 2". Pure. */
export function changeText(c) {
  const shown = (v) => (v === null || v === undefined ? t("edit.absent") : v === true ? t("common.yes") : v === false ? t("common.no") : v === "" ? t("policy.unnamed") : String(v));
  return `${pathLabel(c.path)}：${shown(c.old)} → ${shown(c.new)}`;
}

/** A path in words where the dictionary has them ("讲座 · 最少观看人数"), else as it is. */
export function pathLabel(path) {
  const parts = path.split(".");
  if (["holidays", "workdays"].includes(parts[0])) return `${word(`edit.seg.${parts[0]}`, parts[0])} ${parts.slice(1).join(".")}`;
  if (parts[0] === "terms") return `${word("edit.seg.terms", "terms")} ${parts.slice(1, -1).join(".")} · ${word(`edit.seg.${parts.at(-1)}`, parts.at(-1))}`;
  return parts.map((p) => word(parts[0] === "forms" && p === parts[1] ? `form.${p}` : `edit.seg.${p}`, p)).filter((w, i) => !(i === 0 && parts[0] === "forms")).join(" · ");
}

function word(key, fallback) {
  const w = t(key);
  return w === key ? fallback : w;
}

/** A number field's text as the API takes it: "" → null, "6.5" kept exact, "7" → 7. Pure. */
export function fieldValue(text, wasBool) {
  if (wasBool) return text;
  const s = String(text).trim();
  if (s === "") return null;
  return /^-?\d+$/.test(s) ? Number(s) : s;
}

export function diffList(diff, testid = "edit-diff") {
  if (!diff || !diff.length) return h("p", { class: "muted small", "data-testid": testid }, t("edit.no_diff"));
  return h("ul", { class: "diff", "data-testid": testid }, diff.map((c) => h("li", { "data-path": c.path }, changeText(c))));
}

/**
 * The save flow shared by both editors: a note, "check and preview" (PUT with preview),
 * the diff, then "save" (the same PUT without preview). `body()` builds the request;
 * fields with data-field inside `form` get the refusal next to them.
 */
function saveFlow(form, { api, path, body, onSaved, testid }) {
  const note = h("textarea", { rows: "2", class: "edit-note", "data-testid": `${testid}-note`, "aria-label": t("edit.note"), placeholder: t("edit.note_hint") });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true, "data-testid": `${testid}-problem` });
  const preview = h("div", { class: "edit-preview", hidden: true, "data-testid": `${testid}-preview` });
  const save = h("button", { type: "button", class: "btn btn-primary", hidden: true, "data-testid": `${testid}-save` }, t("edit.save"));
  const check = h("button", { type: "button", class: "btn", "data-testid": `${testid}-check` }, t("edit.check"));
  const clearErrors = () => {
    problem.hidden = true;
    for (const el of form.querySelectorAll(".field-error[data-for]")) el.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  };
  const showError = (err) => {
    const field = err && err.field;
    const target = field && form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    const text = (err && err.message) || t(`error.${(err && err.kind) || "server"}`);
    if (target) {
      target.setAttribute("aria-invalid", "true");
      target.insertAdjacentElement("afterend", h("span", { class: "field-error", role: "alert", "data-for": field, "data-testid": "edit-field-error" }, text));
      target.focus();
    } else {
      problem.textContent = err && err.status === 409 ? t("edit.stale") : text;
      problem.hidden = false;
    }
  };
  const send = async (previewOnly) => {
    clearErrors();
    let request;
    try {
      request = body();
    } catch (err) {
      showError(err);
      return;
    }
    if (!request) return;
    if (!previewOnly && !note.value.trim()) {
      showError({ field: null, message: t("edit.note_needed") });
      note.focus();
      return;
    }
    try {
      const answer = await api.put(path, { ...request, note: note.value, preview: previewOnly });
      if (previewOnly) {
        preview.replaceChildren(h("h4", {}, t("edit.preview_title")), diffList(answer.diff));
        preview.hidden = false;
        save.hidden = false;
      } else onSaved(answer.version);
    } catch (err) {
      preview.hidden = true;
      save.hidden = true;
      showError(err.code === "unchanged" ? { ...err, field: null, message: t("edit.unchanged") } : err);
    }
  };
  check.addEventListener("click", () => send(true));
  save.addEventListener("click", () => send(false));
  form.addEventListener("input", (e) => {
    if (e.target === note) return; // the reason is not part of the change
    save.hidden = true; // the preview no longer shows what would be saved
    preview.hidden = true;
  });
  return h("div", { class: "edit-actions" },
    h("label", { class: "field" }, h("span", {}, t("edit.note")), note),
    preview, problem,
    h("div", { class: "filter-actions" }, check, save));
}

// -- the calendar

export function calendarEditor(cal, api, onSaved) {
  const state = {
    terms: (cal.terms || []).map((x) => ({ name: x.name, start: x.start, end: x.end })),
    holidays: (cal.holidays || []).map((x) => ({ date: x.date, name: x.name || "" })),
    workdays: (cal.workdays || []).map((x) => x.date),
  };
  const form = h("div", { class: "edit-form", "data-testid": "calendar-edit" });
  const year = `${new Date().getFullYear()}-01-01`;
  const render = () => {
    const termRows = state.terms.map((term, i) => h("tr", { "data-testid": "edit-term-row" },
      h("td", { class: "mono" }, term.name),
      h("td", {}, dateInput(term.start, `terms[${i}].start`, (v) => (term.start = v), "edit-term-start")),
      h("td", {}, dateInput(term.end, `terms[${i}].end`, (v) => (term.end = v), "edit-term-end"))));
    const holidayRows = state.holidays.map((day, i) => (day.date < year ? null : h("tr", { "data-testid": "edit-holiday-row", "data-date": day.date },
      h("td", { class: "mono", "data-field": `holidays[${i}].date`, tabindex: "-1" }, day.date),
      h("td", {}, h("input", { type: "text", value: day.name, maxlength: "40", "data-field": `holidays[${i}].name`, "aria-label": t("edit.holiday_name"), oninput: (e) => (day.name = e.target.value) })),
      h("td", {}, h("button", { type: "button", class: "btn btn-quiet btn-small", "data-testid": "edit-holiday-remove", "aria-label": t("edit.remove_day", { date: day.date }), onclick: () => { state.holidays.splice(i, 1); render(); form.dispatchEvent(new Event("input")); } }, t("edit.remove"))))));
    const newDate = h("input", { type: "date", "data-testid": "edit-holiday-date", "aria-label": t("edit.holiday_date") });
    const newName = h("input", { type: "text", maxlength: "40", "data-testid": "edit-holiday-name", placeholder: t("edit.holiday_name_hint"), "aria-label": t("edit.holiday_name") });
    const addHoliday = h("button", { type: "button", class: "btn btn-small", "data-testid": "edit-holiday-add", onclick: () => {
      if (!newDate.value) return newDate.focus();
      state.holidays.push({ date: newDate.value, name: newName.value.trim() });
      state.holidays.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
      render();
      form.dispatchEvent(new Event("input"));
    } }, t("edit.add"));
    const newWorkday = h("input", { type: "date", "data-testid": "edit-workday-date", "aria-label": t("edit.workday_date") });
    const addWorkday = h("button", { type: "button", class: "btn btn-small", "data-testid": "edit-workday-add", onclick: () => {
      if (!newWorkday.value) return newWorkday.focus();
      state.workdays.push(newWorkday.value);
      state.workdays.sort();
      render();
      form.dispatchEvent(new Event("input"));
    } }, t("edit.add"));
    const chips = state.workdays.map((d, i) => (d < year ? null : h("span", { class: "chip chip-plain mono", "data-field": `workdays[${i}]`, tabindex: "-1", "data-testid": "edit-workday" }, d,
      h("button", { type: "button", class: "chip-x", "aria-label": t("edit.remove_day", { date: d }), onclick: () => { state.workdays.splice(i, 1); render(); form.dispatchEvent(new Event("input")); } }, "×"))));
    body.replaceChildren(
      h("h3", {}, t("policy.terms")),
      h("div", { class: "table-wrap" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", {}, t("policy.col.term")), h("th", {}, t("policy.col.start")), h("th", {}, t("policy.col.end")))), h("tbody", {}, termRows))),
      h("h3", {}, t("policy.holidays")),
      h("p", { class: "muted small" }, t("edit.holidays_help")),
      h("div", { class: "edit-add" }, newDate, newName, addHoliday),
      h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "edit-holidays" }, h("thead", {}, h("tr", {}, h("th", {}, t("policy.col.dates")), h("th", {}, t("policy.col.holiday")), h("th", {}, ""))), h("tbody", {}, holidayRows))),
      h("h3", {}, t("policy.workdays")),
      h("div", { class: "edit-add" }, newWorkday, addWorkday),
      h("div", { class: "chips" }, chips),
    );
  };
  const body = h("div", {});
  render();
  form.append(body, saveFlow(form, {
    api,
    path: "/api/v1/calendar",
    testid: "calendar",
    onSaved,
    body: () => ({ base: cal.version.seq, terms: state.terms, holidays: state.holidays, workdays: state.workdays }),
  }));
  return form;
}

function dateInput(value, field, set, testid) {
  return h("input", { type: "date", value, "data-field": field, "data-testid": testid, "aria-label": field, oninput: (e) => set(e.target.value) });
}

// -- a policy

export function policyEditor(name, p, api, onSaved) {
  const form = h("div", { class: "edit-form", "data-testid": "policy-edit", "data-programme": name });
  const inputs = [];
  const groups = new Map();
  for (const [path, value] of Object.entries(p.editable || {})) {
    const group = path.split(".").slice(0, path.startsWith("forms.") ? 2 : 1).join(".");
    if (!groups.has(group)) groups.set(group, []);
    const isBool = typeof value === "boolean";
    const input = isBool
      ? h("input", { type: "checkbox", "data-field": path, "data-testid": "policy-field", "data-path": path, checked: value })
      : h("input", { type: "text", inputmode: "decimal", value: value === null ? "" : String(value), "data-field": path, "data-testid": "policy-field", "data-path": path, placeholder: value === null ? t("edit.absent") : "" });
    inputs.push({ path, value, isBool, input });
    groups.get(group).push(h("label", { class: "field policy-field" }, h("span", {}, pathLabel(path.slice(group.length + 1)) || pathLabel(path), h("small", { class: "muted" }, ` ${t("edit.now", { value: value === null ? t("edit.absent") : isBool ? t(value ? "common.yes" : "common.no") : value })}`)), input));
  }
  form.append(
    ...[...groups].map(([group, fields]) => h("fieldset", { class: "policy-group" }, h("legend", {}, pathLabel(group)), h("div", { class: "filter-grid" }, fields))),
    saveFlow(form, {
      api,
      path: `/api/v1/policy/${name}`,
      testid: `policy-${name}`,
      onSaved,
      body: () => {
        const changes = {};
        for (const { path, value, isBool, input } of inputs) {
          const now = fieldValue(isBool ? input.checked : input.value, isBool);
          if (String(now) !== String(value)) changes[path] = now;
        }
        if (!Object.keys(changes).length) throw { field: null, message: t("edit.unchanged") };
        return { base: p.version.seq, changes };
      },
    }),
  );
  return form;
}

// -- the history of one kind

export async function historyBox(box, { api, path, canEdit, onChanged, testid }) {
  let answer;
  try {
    answer = await api.get(`${path}/versions`);
  } catch (err) {
    box.replaceChildren(h("p", { class: "field-error" }, (err && err.message) || t("error.server")));
    return;
  }
  const rows = answer.versions.map((v) => {
    const restore = canEdit && v.seq !== answer.in_effect ? restoreControl(api, path, v.seq, answer.in_effect, onChanged) : null;
    return h("li", { class: "version", "data-testid": "history-row", "data-seq": String(v.seq) },
      h("div", { class: "version-head" },
        h("strong", {}, t("edit.version", { seq: v.seq })),
        v.seq === answer.in_effect ? h("span", { class: "badge badge-live", "data-testid": "history-in-effect" }, t("edit.in_effect")) : null,
        h("span", { class: "muted" }, v.configured ? t("edit.configured") : `${formatDateTime(v.at)} · ${v.who}`),
        h("a", { href: `${path}/versions/${v.seq}.toml`, download: "", "data-testid": "history-download" }, t("edit.download"))),
      v.note ? h("p", { class: "version-note", "data-testid": "history-note" }, v.note) : null,
      v.configured ? null : diffList(v.diff, "history-diff"),
      restore);
  });
  box.replaceChildren(h("ul", { class: "history", "data-testid": testid }, rows));
}

function restoreControl(api, path, seq, base, onChanged) {
  const note = h("input", { type: "text", "data-testid": "history-restore-note", placeholder: t("edit.restore_note"), "aria-label": t("edit.restore_note") });
  const problem = h("span", { class: "field-error", role: "alert", hidden: true });
  const button = h("button", { type: "button", class: "btn btn-small", "data-testid": "history-restore", onclick: async () => {
    problem.hidden = true;
    if (!note.value.trim()) {
      problem.textContent = t("edit.note_needed");
      problem.hidden = false;
      return note.focus();
    }
    try {
      await api.post(`${path}/versions/${seq}/restore`, { base, note: note.value });
      onChanged();
    } catch (err) {
      problem.textContent = err.status === 409 ? t("edit.stale") : err.message || t("error.server");
      problem.hidden = false;
    }
  } }, t("edit.restore", { seq }));
  return h("div", { class: "edit-add" }, note, button, problem);
}
