// The clock that pays, in the top bar: elapsed time for everyone in the room (ticking
// here between polls); for the teacher also the minutes counted so far, the form's
// minimum or maximum, and, when the present is not counting, why (one line). In a
// review everyone (presenter and reviewers) sees the discussion's counted minutes
// toward the form's 45 with a bar (issue 12, item 6). The figures are the server's
// (GET /api/v1/me/clock, the credits engine); nothing here computes pay. After the
// end, the teacher's summary (mountSummary).

import { h, icon, setText, show } from "./dom.js";
import { t } from "../i18n.js";
import { countedLine, elapsedAt, formatElapsed, hasCounts, reasonKey, reviewProgress } from "../clock.js";

export function mountClock(slot, client) {
  const time = h("span", { class: "clock-time", "data-testid": "clock-elapsed" });
  const counted = h("span", { class: "clock-counted", "data-testid": "clock-counted", hidden: true });
  const reason = h("span", { class: "clock-reason", "data-testid": "clock-reason", hidden: true });
  const fill = h("span", { class: "clock-fill" });
  const bar = h("span", { class: "clock-bar", role: "progressbar", "aria-valuemin": "0", "data-testid": "clock-progress", hidden: true }, fill);
  const el = h("div", { class: "clock", role: "timer", "data-testid": "clock", hidden: true }, h("span", { class: "clock-main" }, icon("timer"), time, counted), bar, reason);
  slot.append(el);

  function tick() {
    const s = client.getState();
    if (!s.clock) return;
    const text = formatElapsed(elapsedAt(s.clock, Date.now()));
    setText(time, text);
    el.setAttribute("aria-label", `${t("clock.elapsed_label")} ${text}`);
  }
  // Once a second: only the elapsed text changes (no state, no render).
  setInterval(tick, 1000);

  return (s, prev) => {
    const inRoom = s.phase === "live" || s.phase === "reconnecting";
    show(el, inRoom && !!s.clock && !s.observer);
    if (!s.clock || (prev && prev.clock === s.clock && prev.lang === s.lang)) return;
    tick();
    const form = s.session && s.session.form;
    // A review: the discussion's minutes toward the form's minimum, and a bar.
    const review = form === "review" ? reviewProgress(s.clock) : null;
    const line = review ? { key: review.reached ? "clock.review_done" : "clock.review_counted", params: review } : countedLine(s.clock);
    show(counted, !!line);
    if (line) setText(counted, t(line.key, line.params));
    show(bar, !!review);
    el.dataset.review = String(!!review);
    el.dataset.counts = String(!!line); // a phone keeps a bare elapsed time in the title row
    if (review) {
      fill.style.width = `${Math.round(review.share * 100)}%`;
      bar.classList.toggle("done", review.reached);
      bar.setAttribute("aria-valuemax", String(review.min));
      bar.setAttribute("aria-valuenow", String(Math.min(review.counted, review.min)));
      bar.setAttribute("aria-label", t("clock.review_label"));
    }
    const why = hasCounts(s.clock) && !s.clock.counting && s.clock.why_not ? s.clock.why_not : null;
    show(reason, !!why);
    el.dataset.counting = String(!why);
    if (why) {
      setText(reason, t(reasonKey(why, form)));
      reason.dataset.code = why;
    }
  };
}

/** The teacher's end-of-session summary: minutes counted (the server's final figure),
 * people who took part, and what comes next. Learners see none of it. */
export function mountSummary(slot, client) {
  const counted = h("p", { class: "summary-counted", "data-testid": "summary-counted" });
  const facts = h("p", { class: "muted small", "data-testid": "summary-facts" });
  const next = h("ul", { class: "summary-next", "data-testid": "summary-next" });
  const el = h("section", { class: "summary", "data-testid": "session-summary", hidden: true }, h("h3", { i18n: "summary.title" }), counted, facts, h("h4", { i18n: "summary.next" }), next);
  slot.append(el);

  return (s, prev) => {
    const teacher = !!(s.me && s.me.role === "instructor") && !s.observer;
    show(el, s.phase === "ended" && teacher);
    if (s.phase !== "ended" || !teacher) return;
    if (prev && prev.clock === s.clock && prev.lang === s.lang && prev.phase === s.phase) return;
    const c = s.clock;
    const final = c && c.final && hasCounts(c);
    if (!final) setText(counted, t("summary.loading"));
    else if (!c.meets_minimum && Number.isInteger(c.min_minutes)) setText(counted, t("summary.not_counted", { counted: c.counted_minutes, min: c.min_minutes }));
    else setText(counted, t("summary.counted", { counted: c.counted_minutes }));
    counted.classList.toggle("warn", !!final && !c.meets_minimum);
    const bits = [];
    if (final) bits.push(t("summary.elapsed", { time: formatElapsed(c.elapsed_s) }));
    if (final && Number.isInteger(c.took_part)) bits.push(t("summary.people", { people: c.took_part }));
    setText(facts, bits.join(" · "));
    const tutoring = s.session && s.session.programme === "tutoring";
    const steps = ["summary.next_feedback"];
    if (tutoring) steps.push("summary.next_pay", "summary.next_marks");
    steps.push("summary.next_statement");
    next.textContent = "";
    for (const key of steps) next.append(h("li", { i18n: key }));
  };
}
