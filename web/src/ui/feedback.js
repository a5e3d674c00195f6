// After the session: "session ended" for everyone; for a learner the
// programme's feedback form (rating, satisfaction, 收获/反思/建议 with at least
// 200 characters, whitespace not counted); for a reviewer the review report.
// The same join link reaches this page for 7 days, so the draft is kept in
// localStorage until it is sent.

import { h, icon, setText, show } from "./dom.js";
import { t } from "../i18n.js";
import { MIN_CHARS, PARTS, RATINGS, SATISFACTION, countParts, problems } from "../feedback.js";
import { reportForm } from "./report.js";

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
  const bar = h("span", { class: "fill" });
  const countText = h("span", { class: "count-text" });
  const counter = h("div", { class: "counter", "data-testid": "feedback-count" }, h("div", { class: "bar" }, bar), countText);
  const status = h("p", { class: "form-status", role: "status" });
  const submit = h("button", { class: "btn primary wide", type: "submit", "data-testid": "feedback-submit" }, h("span", { class: "label", i18n: "feedback.submit" }));

  const form = h(
    "form",
    { class: "feedback-form", "data-testid": "feedback-form", novalidate: true },
    h("h3", { i18n: "feedback.title" }),
    h("p", { class: "muted small", i18n: "feedback.intro" }),
    h("fieldset", { class: "stars" }, h("legend", { i18n: "feedback.rating" }), h("div", { class: "star-row" }, stars, ratingText)),
    h("fieldset", { class: "choices" }, h("legend", { i18n: "feedback.satisfaction" }), h("div", { class: "choice-row" }, choices)),
    fields,
    counter,
    status,
    submit,
  );

  function read() {
    const rating = Number((stars.find((l) => l.input.checked) || { input: { value: 0 } }).input.value);
    const satisfaction = (choices.find((l) => l.input.checked) || { input: { value: "" } }).input.value;
    const parts = Object.fromEntries(PARTS.map((p) => [p, areas[p].value]));
    return { rating, satisfaction, parts };
  }

  function refresh() {
    const f = read();
    for (const l of stars) l.classList.toggle("on", Number(l.dataset.n) <= f.rating);
    for (const l of choices) l.classList.toggle("on", l.input.checked);
    setText(ratingText, f.rating ? t(`feedback.rating_${f.rating}`) : "");
    const n = countParts(f.parts);
    bar.style.width = `${Math.min(100, (n / MIN_CHARS) * 100)}%`;
    counter.classList.toggle("ok", n >= MIN_CHARS);
    setText(countText, n >= MIN_CHARS ? t("feedback.count_ok", { n }) : t("feedback.count", { n, left: MIN_CHARS - n, min: MIN_CHARS }));
    const todo = problems(f);
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
      setText(status, todo.map((k) => t(k, { min: MIN_CHARS })).join(" "));
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
    submit.disabled = fb.sending || problems(read()).length > 0;
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

export function mountEnded(view, client) {
  const title = h("h2", { i18n: "ended.title" });
  const body = h("p", { class: "muted" });
  const thanks = h("div", { class: "thanks", hidden: true, "data-testid": "feedback-done" }, icon("check", "icon big ok"), h("p", { class: "thanks-text" }));
  const closed = h("p", { class: "muted", hidden: true, i18n: "feedback.closed" });
  const fb = feedbackForm(client);
  const reportSlot = h("div", { class: "report-slot" });
  // Replay links of a recorded session (signed for this person; they open the replay page).
  const replays = h("div", { class: "replay-links", hidden: true, "data-testid": "replay-links" });
  const card = h("div", { class: "card ended-card" }, h("div", { class: "card-icon calm" }, icon("check")), title, body, replays, thanks, closed, fb.el, reportSlot);
  view.append(card);

  return (s, prev) => {
    if (s.phase !== "ended") return;
    const learner = s.me && s.me.role === "learner";
    const reviewer = s.me && s.me.role === "instructor" && s.session && s.session.form === "review";
    setText(body, t(learner ? "ended.body_learner" : "ended.body"));

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
    if (!prev || prev.lang !== s.lang) fb.refresh();

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
  };
}
