// After the session: "session ended" for everyone; for a learner the
// programme's feedback form: in training (teacher-learners, seed 001) the rating,
// satisfaction and 收获/反思/建议 with the policy's visible and distinct characters,
// counted live like the server; in tutoring (a 13-year-old on a phone) only how much
// they learned, five thumb-sized stars, and an optional comment; for a reviewer the
// review report; for a tutoring teacher the marks. A tutoring learner first sees the
// settlement (seed 000: "根据自己实际在线学习的情况（学习时长和学习的实际获得等）……支付在线
// 教师积分"): the effective minutes and their points, then the rating of the learning
// gain that sets the rest. The same join link reaches this page for the feedback
// window, so the draft is kept in localStorage until it is sent.

import { h, icon, setText, show } from "./dom.js";
import { t, tn } from "../i18n.js";
import { PARTS, RATINGS, SATISFACTION, countParts, problems, rulesOf, settlementView } from "../feedback.js";

const isShort = (s) => !!(s.session && s.session.programme === "tutoring");
import { reportForm } from "./report.js";
import { marksPanel } from "./marks.js";
import { mountSummary } from "./clock.js";

function draftKey(s) {
  return `opentutor.feedback.${(s.session && s.session.id) || "session"}.${(s.me && s.me.id) || "me"}`;
}

function feedbackForm(client) {
  const { actions } = client;
  let key = null;

  const stars = RATINGS.map((n) => {
    const input = h("input", { type: "radio", name: "rating", value: String(n), class: "cover", "data-testid": `feedback-rating-${n}` });
    const label = h("label", { class: "star", "data-n": String(n) }, input, icon("star"), h("span", { class: "visually-hidden" }, String(n)));
    label.input = input;
    return label;
  });
  const ratingText = h("span", { class: "rating-text muted" });
  // Tutoring: the rating is the learning gain, and what it pays is said next to it.
  const ratingLegend = h("legend", { text: t("feedback.rating") });
  const ratingRange = h("p", { class: "rating-range small", hidden: true, "data-testid": "rating-range" });
  const choices = SATISFACTION.map((v) => {
    const input = h("input", { type: "radio", name: "satisfaction", value: v, class: "cover", "data-testid": `feedback-satisfaction-${v}` });
    const label = h("label", { class: "choice" }, input, h("span", { i18n: `feedback.satisfaction.${v}` }));
    label.input = input;
    return label;
  });
  const areas = {};
  const fields = PARTS.map((part) => {
    areas[part] = h("textarea", { name: part, rows: "4", maxlength: "5000", "data-testid": `feedback-${part}`, i18nPlaceholder: `feedback.${part}_hint` });
    return h("label", { class: "field" }, h("span", { class: "field-title", i18n: `feedback.${part}` }), areas[part]);
  });
  // Tutoring: one optional box instead of the three answers.
  const comment = h("textarea", { name: "comment", rows: "3", maxlength: "2000", "data-testid": "feedback-comment", i18nPlaceholder: "feedback.comment_hint" });
  const commentField = h("label", { class: "field", hidden: true }, h("span", { class: "field-title", i18n: "feedback.comment" }), comment);
  const intro = h("p", { class: "muted small" });
  const heading = h("h3");
  const bar = h("span", { class: "fill" });
  const countText = h("span", { class: "count-text" });
  const counter = h("div", { class: "counter", "data-testid": "feedback-count" }, h("div", { class: "bar" }, bar), countText);
  const status = h("p", { class: "form-status", role: "status" });
  const submitLabel = h("span", { class: "label" });
  const submit = h("button", { class: "btn primary wide", type: "submit", "data-testid": "feedback-submit" }, submitLabel);

  const choiceSet = h("fieldset", { class: "choices" }, h("legend", { i18n: "feedback.satisfaction" }), h("div", { class: "choice-row" }, choices));
  const partFields = h("div", { class: "parts" }, fields);
  const form = h(
    "form",
    { class: "feedback-form", "data-testid": "feedback-form", novalidate: true },
    heading,
    intro,
    h("fieldset", { class: "stars" }, ratingLegend, ratingRange, h("div", { class: "star-row" }, stars, ratingText)),
    choiceSet,
    partFields,
    commentField,
    counter,
    status,
    submit,
  );

  function read() {
    const rating = Number((stars.find((l) => l.input.checked) || { input: { value: 0 } }).input.value);
    const satisfaction = (choices.find((l) => l.input.checked) || { input: { value: "" } }).input.value;
    const parts = Object.fromEntries(PARTS.map((p) => [p, areas[p].value]));
    return { rating, satisfaction, parts, comment: comment.value };
  }

  function params() {
    const s = client.getState();
    const { minChars, minDistinct } = rulesOf(s.feedback.rules);
    const f = read();
    const { n, distinct } = countParts(isShort(s) ? { gain: f.comment } : f.parts);
    return { n, distinct, min: minChars, min_distinct: minDistinct, left: Math.max(0, minChars - n) };
  }

  function refresh() {
    const s = client.getState();
    const f = read();
    for (const l of stars) l.classList.toggle("on", Number(l.dataset.n) <= f.rating);
    for (const l of choices) l.classList.toggle("on", l.input.checked);
    const short = isShort(s);
    const view = short ? settlementView(s.settlement.data) : null;
    setText(heading, t(short ? "feedback.title_tutoring" : "feedback.title"));
    setText(intro, t(short ? "feedback.intro_tutoring" : "feedback.intro"));
    setText(submitLabel, t(short ? "feedback.submit_tutoring" : "feedback.submit"));
    show(choiceSet, !short);
    show(partFields, !short);
    show(commentField, short);
    show(counter, !short || countParts({ gain: f.comment }).n > 0);
    setText(ratingLegend, t(short ? "feedback.rating_gain" : "feedback.rating"));
    show(ratingRange, !!view);
    if (view) {
      const range = t("settlement.rating_range", { low: view.lowStar, high: view.highStar });
      setText(ratingRange, f.rating ? `${range} · ${t("settlement.rating_now", { stars: f.rating, per_hour: view.perHourFor(f.rating), points: view.forRating(f.rating) })}` : range);
    }
    setText(ratingText, f.rating ? t(short ? `feedback.gain_${f.rating}` : `feedback.rating_${f.rating}`) : "");
    const p = params();
    const enough = p.n >= p.min;
    const varied = p.distinct >= p.min_distinct;
    bar.style.width = `${Math.min(100, (p.n / Math.max(1, p.min)) * 100)}%`;
    counter.classList.toggle("ok", enough && varied);
    counter.dataset.visible = String(p.n);
    counter.dataset.distinct = String(p.distinct);
    setText(countText, short ? tn("feedback.count_comment", p.n, p) : !enough ? t("feedback.count", p) : !varied ? t("feedback.count_distinct", p) : t("feedback.count_ok", p));
    const todo = problems(f, s.feedback.rules, short);
    const sending = client.getState().feedback.sending;
    submit.disabled = todo.length > 0 || sending;
    submit.setAttribute("aria-disabled", String(submit.disabled));
    if (key) {
      try {
        localStorage.setItem(key, JSON.stringify(f));
      } catch {
        /* storage full or private mode: nothing to keep */
      }
    }
    return todo;
  }

  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const todo = refresh();
    if (todo.length) {
      setText(status, todo.map((k) => t(k, params())).join(" "));
      return;
    }
    actions.submitFeedback(read());
  });

  function restore(s) {
    key = draftKey(s);
    try {
      const d = JSON.parse(localStorage.getItem(key) || "null");
      if (d) {
        for (const l of stars) l.input.checked = Number(l.dataset.n) === d.rating;
        for (const l of choices) l.input.checked = l.input.value === d.satisfaction;
        for (const p of PARTS) areas[p].value = (d.parts && d.parts[p]) || "";
        comment.value = d.comment || "";
      }
    } catch {
      /* a broken draft is ignored */
    }
    refresh();
  }

  function update(s) {
    const fb = s.feedback;
    if (key === null && s.me && s.me.id) restore(s);
    status.classList.toggle("error", !!fb.error);
    if (fb.error) setText(status, t("feedback.error", { message: fb.error.message || fb.error.code }));
    else if (fb.sending) setText(status, t("feedback.sending"));
    submit.disabled = fb.sending || problems(read(), fb.rules, isShort(s)).length > 0;
  }

  function forget() {
    if (key) {
      try {
        localStorage.removeItem(key);
      } catch {
        /* ignore */
      }
    }
  }

  return { el: form, update, refresh, forget };
}

/** The learner's payment step of a tutoring session: minutes, points for time, and
 * what the rating below adds. */
function settlementCard() {
  const minutes = h("strong", { class: "value", "data-testid": "settlement-minutes" });
  const timePoints = h("strong", { class: "value", "data-testid": "settlement-time-points" });
  const perHour = h("span", { class: "muted small" });
  const range = h("strong", { class: "value", "data-testid": "settlement-rating-range" });
  const note = h("p", { class: "muted small" });
  const status = h("p", { class: "form-status" });
  const el = h(
    "section",
    { class: "settlement", "data-testid": "settlement", hidden: true },
    h("h3", { i18n: "settlement.title" }),
    h("p", { class: "muted small", i18n: "settlement.intro" }),
    h(
      "dl",
      { class: "settlement-grid" },
      h("div", {}, h("dt", { i18n: "settlement.minutes_label" }), h("dd", {}, minutes)),
      h("div", {}, h("dt", { i18n: "settlement.time_points_label" }), h("dd", {}, timePoints, perHour)),
      h("div", {}, h("dt", { i18n: "settlement.rating_label" }), h("dd", {}, range)),
    ),
    note,
    status,
  );

  function update(s) {
    const tutoringLearner = s.me && s.me.role === "learner" && s.session && s.session.programme === "tutoring";
    show(el, !!tutoringLearner);
    if (!tutoringLearner) return;
    const view = settlementView(s.settlement.data);
    const err = s.settlement.error;
    status.classList.toggle("error", !!err);
    setText(status, err ? t("settlement.error", { message: err.message || err.code }) : view ? "" : t("settlement.loading"));
    el.dataset.ready = String(!!view);
    if (!view) return;
    setText(minutes, t("settlement.minutes", { minutes: view.minutes }));
    setText(timePoints, t("settlement.time_points", { points: view.timePoints }));
    setText(perHour, t("settlement.per_hour", { per_hour: view.perHourTime }));
    setText(range, t("settlement.rating_range", { low: view.lowStar, high: view.highStar }));
    const basis = s.settlement.data.basis === "evidence" ? "settlement.basis_evidence" : "settlement.basis_presence";
    const bits = [t(basis), t("settlement.point_value", { cny: view.pointValue })];
    if (view.minutes === 0) bits.unshift(t("settlement.not_counted"));
    // One sentence per span: each is a whole text of the dictionary.
    note.textContent = "";
    note.append(...bits.map((text, i) => h("span", {}, i && s.lang === "en" ? ` ${text}` : text)));
  }

  return { el, update };
}

export function mountEnded(view, client) {
  const title = h("h2", { i18n: "ended.title" });
  const body = h("p", { class: "muted" });
  const thanks = h("div", { class: "thanks", hidden: true, "data-testid": "feedback-done" }, icon("check", "icon big ok"), h("p", { class: "thanks-text" }));
  const closed = h("p", { class: "muted", hidden: true, "data-testid": "feedback-closed" });
  const fb = feedbackForm(client);
  const reportSlot = h("div", { class: "report-slot" });
  const marksSlot = h("div", { class: "report-slot marks-slot" });
  const settle = settlementCard();
  // Replay links of a recorded session (signed for this person; they open the replay page).
  const replays = h("div", { class: "replay-links", hidden: true, "data-testid": "replay-links" });
  // The teacher's summary: minutes counted, people, what comes next (ui/clock.js).
  const summarySlot = h("div", { class: "summary-slot" });
  const summary = mountSummary(summarySlot, client);
  const card = h("div", { class: "card ended-card" }, h("div", { class: "card-icon calm" }, icon("check")), title, body, summarySlot, replays, settle.el, thanks, closed, fb.el, reportSlot, marksSlot);
  view.append(card);

  return (s, prev) => {
    summary(s, prev);
    if (s.phase !== "ended") return;
    const learner = s.me && s.me.role === "learner";
    const reviewer = s.me && s.me.role === "instructor" && s.session && s.session.form === "review";
    const marker = s.me && s.me.role === "instructor" && s.session && s.session.programme === "tutoring";
    settle.update(s);
    setText(body, t(learner ? (isShort(s) ? "ended.body_tutoring" : "ended.body_learner") : "ended.body"));

    const fbState = s.feedback;
    const showForm = learner && !fbState.submitted && fbState.open === true;
    show(fb.el, showForm);
    if (showForm) fb.update(s);
    show(thanks, learner && fbState.submitted);
    if (learner && fbState.submitted) {
      if (!prev || !prev.feedback.submitted) fb.forget();
      const when = fbState.submitted_at ? new Date(fbState.submitted_at).toLocaleString(s.lang) : "";
      setText(thanks.querySelector(".thanks-text"), t("feedback.thanks", { time: when }));
    }
    show(closed, learner && !fbState.submitted && fbState.open === false);
    setText(closed, t("feedback.closed", { days: Math.round(((fbState.rules && fbState.rules.window_hours) || 168) / 24) }));
    if (!prev || prev.lang !== s.lang || prev.settlement !== s.settlement || prev.feedback.rules !== fbState.rules) fb.refresh();

    if (!prev || prev.replays !== s.replays || prev.lang !== s.lang) {
      replays.textContent = "";
      for (const r of s.replays) {
        const minutes = Math.max(1, Math.round((r.duration_s || 0) / 60));
        replays.append(h("a", { class: "btn primary", href: r.replay_url, target: "_blank", rel: "noopener", "data-testid": "replay-link" }, icon("play"), h("span", { class: "label", text: t("replay.watch", { minutes }) })));
      }
    }
    show(replays, s.replays.length > 0);

    show(reportSlot, reviewer);
    if (reviewer) {
      const rf = reportForm(client);
      if (rf.el.parentNode !== reportSlot) reportSlot.append(rf.el);
      rf.update(s);
    }
    show(marksSlot, marker);
    if (marker) {
      const mp = marksPanel(client);
      if (mp.el.parentNode !== marksSlot) marksSlot.append(mp.el);
      mp.update(s, prev);
    }
  };
}
