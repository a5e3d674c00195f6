// Small DOM helpers of the console pages: element building, tables, and the
// words for loading, empty and failed states.

import { t } from "./i18n.js";
import { splitWait } from "./format.js";

/** h("a", {href, class, text, "data-testid": …, onclick}, child…) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** The words of a failed request (ApiError or anything thrown). */
export function errorText(err) {
  const kind = (err && err.kind) || "server";
  if (kind === "throttled") {
    const wait = err.retryAfter;
    if (wait === null || wait === undefined) return t("error.throttled");
    const { minutes, seconds } = splitWait(wait);
    return minutes > 0 ? t("error.throttled_min", { minutes, seconds }) : t("error.throttled_s", { seconds });
  }
  const base = t(`error.${kind}`);
  const detail = err && err.message && err.kind && err.kind !== "network" ? err.message : "";
  return kind === "invalid" || kind === "server" ? (detail ? `${base}（${detail}）` : base) : base;
}

export function errorBox(err, testid = "error") {
  return h("div", { class: "notice notice-error", role: "alert", "data-testid": testid, "data-kind": (err && err.kind) || "server" }, errorText(err));
}

export function emptyBox(key, testid = "empty", params) {
  return h("div", { class: "notice notice-empty", "data-testid": testid }, t(key, params));
}

export function loadingBox(key = "common.loading") {
  return h("div", { class: "notice notice-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), t(key));
}

/**
 * A table: columns [{key: i18n key, cls}], rows as arrays of cells (Node or text).
 * Numeric columns get cls "num" (right aligned, tabular figures).
 */
export function table(columns, rows, { testid, rowTestid, caption, cls } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: cls ? `data ${cls}` : "data", "data-testid": testid },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.cls }, t(c.key))))),
      h(
        "tbody",
        {},
        rows.map((cells, i) =>
          h(
            "tr",
            { "data-testid": rowTestid, ...(cells.attrs || {}) },
            cells.map((cell, j) => h("td", { class: columns[j] && columns[j].cls }, cell === "" || cell === null || cell === undefined ? "—" : cell)),
          ),
        ),
      ),
    ),
  );
}

/** A labelled form field around an input/select. */
export function field(labelKey, control, hintKey) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, t(labelKey)), control, hintKey ? h("small", { class: "muted" }, t(hintKey)) : null);
}

export function section(titleKey, ...children) {
  return h("section", { class: "card" }, h("h2", {}, t(titleKey)), ...children);
}
