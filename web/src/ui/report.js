// The review report (检课报告) a reviewing instructor writes during or after
// an open-lesson review: text plus optional pictures, sent to
// POST /api/v1/me/report. One form per page; the ended view borrows it so a
// draft survives the end of the session. The text needs the policy's visible and
// distinct characters (counted here like the server, numbers from GET /me).

import { h, icon, setText, show, syncList } from "./dom.js";
import { t } from "../i18n.js";
import { countChars, countDistinct, rulesOf } from "../feedback.js";
import { countedLine, elapsedAt, formatElapsed } from "../clock.js";

/**
 * The report editor's discussion timer (issue 12, item 4): how long the review has run
 * (ticking from the server's figure) and the minutes the credits engine counted toward
 * the form's minimum, as i18n key and params; null before the review started. Pure.
 */
export function discussionTimer(clock, nowMs) {
  if (!clock || !clock.started_at) return null;
  const elapsed = formatElapsed(elapsedAt(clock, nowMs));
  const counted = countedLine(clock);
  return { key: "report.timer", params: { elapsed }, counted };
}

/** Whether a report text may be sent, and the numbers to show. Pure. */
export function reportCount(text, rules) {
  const { minChars, minDistinct } = rulesOf(rules);
  const n = countChars(text);
  const distinct = countDistinct(text);
  return { n, distinct, min: minChars, min_distinct: minDistinct, left: Math.max(0, minChars - n), ok: n >= minChars && distinct >= minDistinct };
}

const forms = new WeakMap();

export function reportForm(client) {
  if (forms.has(client)) return forms.get(client);
  const { actions } = client;
  const text = h("textarea", { class: "report-text", rows: "10", maxlength: "20000", "data-testid": "report-text", i18nPlaceholder: "report.placeholder" });
  const attachInput = h("input", { type: "file", accept: "image/*", multiple: true, hidden: true, "data-testid": "report-attach" });
  attachInput.addEventListener("change", () => {
    const files = [...(attachInput.files || [])];
    attachInput.value = "";
    for (const f of files.slice(0, 10)) actions.attachToReport(f);
  });
  const attachBtn = h("label", { class: "btn ghost small", role: "button", tabindex: "0" }, icon("clip"), h("span", { class: "label", i18n: "report.attach" }), attachInput);
  const thumbs = h("ul", { class: "attachments" });
  const uploading = h("span", { class: "muted small", hidden: true, i18n: "report.uploading" });
  const status = h("p", { class: "form-status" });
  const countText = h("p", { class: "muted small report-count", "data-testid": "report-count" });
  const timerText = h("span", {});
  const timer = h("p", { class: "small report-timer", "data-testid": "report-timer", hidden: true }, icon("timer"), timerText);
  const absent = h("p", { class: "form-status error", hidden: true, i18n: "report.not_present" });
  const submit = h("button", { class: "btn primary", type: "submit", "data-testid": "report-submit" }, h("span", { class: "label", i18n: "report.submit" }));
  const form = h(
    "form",
    { class: "report-form", "data-testid": "report-form" },
    h("h3", { i18n: "report.title" }),
    h("p", { class: "muted small", i18n: "report.help" }),
    timer,
    text,
    countText,
    absent,
    h("div", { class: "attach-row" }, attachBtn, uploading),
    thumbs,
    h("div", { class: "form-actions" }, status, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await actions.submitReport(text.value);
  });
  function counted() {
    const c = reportCount(text.value, client.getState().report.rules);
    setText(countText, c.n < c.min ? t("report.count", c) : c.distinct < c.min_distinct ? t("report.count_distinct", c) : t("report.count_ok", c));
    countText.classList.toggle("ok", c.ok);
    return c;
  }
  text.addEventListener("input", () => {
    const r = client.getState().report;
    submit.disabled = !counted().ok || r.sending || !!r.submitted_at;
  });

  function tick() {
    const s = client.getState();
    const d = s.phase === "live" ? discussionTimer(s.clock, Date.now()) : null;
    show(timer, !!d);
    if (!d) return;
    const bits = [t(d.key, d.params)];
    if (d.counted) bits.push(t(d.counted.key, d.counted.params));
    setText(timerText, bits.join(" · "));
  }
  // The elapsed time ticks between the clock's polls (every 30 s) while the editor is open.
  setInterval(() => form.isConnected && tick(), 1000);

  function update(s) {
    tick();
    const r = s.report;
    syncList(
      thumbs,
      r.attachments,
      (a) => a.id,
      (a) =>
        h(
          "li",
          {},
          h("img", { src: client.mediaUrl(a.url || a.id), alt: "" }),
          h("button", { class: "icon-btn small", type: "button", i18nAria: "report.remove", onclick: () => !client.getState().report.submitted_at && actions.detachFromReport(a.id) }, icon("close")),
        ),
      () => {},
    );
    show(uploading, r.uploading > 0);
    const done = !!r.submitted_at;
    text.readOnly = done;
    attachInput.disabled = done;
    show(attachBtn, !done);
    const c = counted();
    show(countText, !done);
    // After the end the server has said whether the journal saw this reviewer take part.
    show(absent, !done && s.phase === "ended" && !!r.rules && r.rules.took_part === false);
    submit.disabled = r.sending || done || !c.ok;
    status.classList.toggle("error", !!r.error);
    if (r.error) setText(status, t("report.error", { message: r.error.message || r.error.code }));
    else if (r.sending) setText(status, t("report.sending"));
    else if (r.submitted_at === "earlier") setText(status, t("report.submitted_earlier"));
    else if (r.submitted_at) setText(status, t("report.submitted", { time: new Date(r.submitted_at).toLocaleString(s.lang) }));
    else setText(status, "");
  }

  const api = { el: form, update };
  forms.set(client, api);
  return api;
}

export function mountReport(panel, client) {
  const rf = reportForm(client);
  return (s) => {
    if (!s.caps.report) return;
    if (s.phase !== "ended" && rf.el.parentNode !== panel) panel.append(rf.el);
    rf.update(s);
  };
}
