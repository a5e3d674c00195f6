// Calendar & policy (校历与规则): the term calendar the server computes with (terms,
// holidays, make-up working days) and each programme's credit rules, every number with
// the seed's words the policy file quotes beside it (GET /api/v1/calendar, GET
// /api/v1/policy), and each one's history of versions. City officers edit them here
// (policy-edit.js); everyone else reads.

import { t } from "./i18n.js";
import { h, errorBox, loadingBox, table, section } from "./dom.js";
import { formatDateTime } from "./format.js";
import { calendarEditor, historyBox, policyEditor } from "./policy-edit.js";

export function renderPolicy(container, ctx) {
  const { api } = ctx;
  const again = () => renderPolicy(container, ctx);
  const calendarBox = h("div", { "data-testid": "policy-calendar" }, loadingBox());
  const rulesBox = h("div", { "data-testid": "policy-rules" }, loadingBox());
  const notice = h("p", { class: "notice notice-info", "data-testid": "policy-notice" }, t("policy.applies"));
  container.replaceChildren(h("h1", { class: "page-title" }, t("nav.policy")), notice, calendarBox, rulesBox);
  loadCalendar(calendarBox, api, again, notice);
  loadRules(rulesBox, api, again);
}

/** "版本 3 · 2026-12-04 18:00 · city-office" (0: the configured file). */
function versionLine(v, testid) {
  const text = !v || v.seq === 0 ? t("edit.version_configured") : t("edit.version_line", { seq: v.seq, at: formatDateTime(v.at), who: v.who });
  return h("p", { class: "muted small", "data-testid": testid, "data-seq": String((v && v.seq) || 0) }, text);
}

function historySection(api, path, canEdit, again, testid) {
  const box = h("div", {}, loadingBox());
  historyBox(box, { api, path, canEdit, onChanged: again, testid });
  return h("details", { class: "history-box", "data-testid": `${testid}-box` }, h("summary", {}, t("edit.history")), box);
}

/** Holidays in runs of consecutive dates with one name: [{name, first, last, days}]. Pure. */
export function holidayRuns(holidays) {
  const runs = [];
  for (const { date, name } of holidays || []) {
    const last = runs[runs.length - 1];
    const next = last && new Date(Date.parse(`${last.last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    if (last && last.name === (name || "") && next === date) {
      last.last = date;
      last.days += 1;
    } else runs.push({ name: name || "", first: date, last: date, days: 1 });
  }
  return runs;
}

async function loadCalendar(box, api, again, notice) {
  let cal;
  try {
    cal = await api.get("/api/v1/calendar");
  } catch (err) {
    box.replaceChildren(errorBox(err, "policy-calendar-error"));
    return;
  }
  // Who may edit: the city office's officers; the others see why they cannot.
  notice.append(h("span", { "data-testid": cal.can_edit ? "policy-editable" : "policy-readonly" }, ` ${t(cal.can_edit ? "policy.editable" : "policy.readonly")}`));
  const runs = holidayRuns(cal.holidays);
  // This year's and later holidays first; earlier years fold away (the sample holds five).
  const year = `${new Date().getFullYear()}-01-01`;
  const current = runs.filter((r) => r.last >= year);
  const earlier = runs.filter((r) => r.last < year);
  const holidayTable = (list, testid) =>
    table(
      [{ key: "policy.col.holiday" }, { key: "policy.col.dates" }, { key: "policy.col.days", cls: "num" }],
      list.map((r) => [r.name || t("policy.unnamed"), r.first === r.last ? r.first : `${r.first} – ${r.last}`, String(r.days)]),
      { testid, rowTestid: "holiday-row" },
    );
  box.replaceChildren(
    section(
      "policy.calendar",
      h("p", { class: "muted" }, t("policy.timezone", { zone: cal.timezone })),
      versionLine(cal.version, "calendar-version"),
      cal.sample ? h("p", { class: "notice notice-info", "data-testid": "policy-sample" }, t("policy.sample")) : null,
      h("h3", {}, t("policy.terms")),
      table(
        [{ key: "policy.col.term" }, { key: "policy.col.start" }, { key: "policy.col.end" }, { key: "policy.col.days", cls: "num" }, { key: "policy.col.working_days", cls: "num" }],
        (cal.terms || []).map((term) => [h("span", { class: "mono" }, term.name), term.start, term.end, String(term.days), String(term.working_days)]),
        { testid: "policy-terms", rowTestid: "term-row" },
      ),
      h("h3", {}, t("policy.holidays")),
      holidayTable(current, "policy-holidays"),
      earlier.length ? h("details", { class: "earlier" }, h("summary", {}, t("policy.earlier_holidays", { n: earlier.length })), holidayTable(earlier, "policy-holidays-earlier")) : null,
      h("h3", {}, t("policy.workdays")),
      h("p", { class: "muted small" }, t("policy.workdays_help")),
      h("div", { class: "chips", "data-testid": "policy-workdays" }, (cal.workdays || []).map((d) => h("span", { class: "chip chip-plain mono" }, d.date))),
      cal.can_edit ? h("details", { class: "edit-box", "data-testid": "calendar-edit-box" }, h("summary", { "data-testid": "calendar-edit-open" }, t("edit.calendar")), calendarEditor(cal, api, again)) : null,
      historySection(api, "/api/v1/calendar", cal.can_edit, again, "calendar-history"),
    ),
  );
}

async function loadRules(box, api, again) {
  let body;
  try {
    body = await api.get("/api/v1/policy");
  } catch (err) {
    box.replaceChildren(errorBox(err, "policy-rules-error"));
    return;
  }
  const programmes = Object.entries(body.programmes || {});
  box.replaceChildren(...programmes.map(([name, p]) => programmeBlock(name, p, api, body.can_edit, again)));
}

const none = (v) => v === null || v === undefined;
const hoursText = (pairs) => ((pairs || []).length ? pairs.map(([a, b]) => `${a}–${b}`).join("、") : t("policy.closed"));

/** One programme's rules as rows [rule, numbers, seed words]. */
function programmeBlock(name, p, api, canEdit, again) {
  const seed = p.seed || {};
  const rows = [];
  const row = (labelKey, text, ...seedKeys) => rows.push([t(labelKey), text, seedWords(seedKeys.flatMap((k) => seed[k] || []))]);
  row("policy.rule.point_value", t("policy.point_value", { cny: p.point_value_cny }), "point_value_cny");
  const hours = p.open_hours || {};
  row("policy.rule.open_hours", [
    h("div", {}, t("policy.working_day", { hours: hoursText(hours.working_day) })),
    h("div", {}, t("policy.rest_day", { hours: hoursText(hours.rest_day) })),
    hours.terms_only ? h("div", { class: "muted small" }, t("policy.terms_only")) : null,
  ], "open_hours");
  for (const [form, f] of Object.entries(p.forms || {})) {
    row(`form.${form}`, formLines(form, f), `forms.${form}`);
  }
  const fb = p.feedback || {};
  row("policy.rule.feedback", t("policy.feedback", { hours: fb.window_hours, days: Math.round((fb.window_hours || 0) / 24), chars: fb.min_chars, distinct: fb.min_distinct_chars }), "feedback");
  if (p.forms && p.forms.review) {
    const rp = p.reports || {};
    row("policy.rule.reports", t("policy.reports", { chars: rp.min_chars, distinct: rp.min_distinct_chars }), "reports");
  }
  row("policy.rule.study", p.study ? t("policy.study", { minutes: p.study.minutes_per_hour, hours: p.study.hours_per_credit, max: p.study.max_credits_per_year }) : t("policy.no_study"), "study");
  const caps = p.caps || {};
  row("policy.rule.caps", [
    none(caps.sessions_per_form_per_term) ? null : h("div", {}, t("policy.cap_sessions", { n: caps.sessions_per_form_per_term })),
    none(caps.points_per_term) ? null : h("div", {}, t("policy.cap_points", { n: caps.points_per_term })),
    none(caps.sessions_per_form_per_term) && none(caps.points_per_term) ? t("policy.no_caps") : null,
  ], "caps");
  const school = p.school_rule || {};
  row("policy.rule.school", school.same_school_no_points || school.same_district_no_points
    ? t("policy.school_rule", { school: t(school.same_school_no_points ? "common.yes" : "common.no"), district: t(school.same_district_no_points ? "common.yes" : "common.no") })
    : t("policy.no_school_rule"), "school_rule");
  const ev = p.evidence || {};
  row("policy.rule.evidence", t("policy.evidence", { dbov: ev.voiced_dbov, hold: ev.voice_hold_s, fps: ev.live_video_fps, within: ev.report_within_s }), "evidence");
  const sup = p.supervision || {};
  row("policy.rule.supervision", t("policy.supervision", { share: Math.round(Number(sup.min_publishing_share) * 100), alone: sup.alone_min_minutes, days: sup.same_pair_days, black: sup.black_minutes, frozen: sup.frozen_minutes, outside: sup.outside_min_minutes }), "supervision");
  return h(
    "div",
    { "data-testid": "policy-programme", "data-programme": name },
    section(
      `programme.${name}`,
      versionLine(p.version, "policy-version"),
      table([{ key: "policy.col.rule" }, { key: "policy.col.numbers" }, { key: "policy.col.seed" }], rows, { testid: "policy-table", rowTestid: "rule-row", cls: "policy" }),
      canEdit ? h("details", { class: "edit-box", "data-testid": "policy-edit-box" }, h("summary", { "data-testid": "policy-edit-open" }, t("edit.policy")), policyEditor(name, p, api, again)) : null,
      historySection(api, `/api/v1/policy/${name}`, canEdit, again, "policy-history"),
    ),
  );
}

function rating(key, r) {
  if (!r) return null;
  return h("div", {}, t(key, { one: r.at_one_star, five: r.at_five_stars, per: r.per_star, none: r.without_feedback }));
}

/** A form's numbers in words, one line each. */
function formLines(form, f) {
  const lim = f.limits || {};
  const lines = [];
  if (form === "review") {
    lines.push(h("div", {}, t("policy.review_discussion", { min: lim.min_minutes, reviewers: f.max_reviewers })));
    lines.push(h("div", {}, t("policy.review_points", { report: f.report_points, report_hours: f.report_hours, discussion: f.discussion_points, discussion_hours: f.discussion_hours })));
  } else {
    const limits = none(lim.min_minutes) && none(lim.max_minutes)
      ? t("policy.no_limits")
      : t("policy.limits", { min: none(lim.min_minutes) ? "—" : lim.min_minutes, max: none(lim.max_minutes) ? "—" : lim.max_minutes });
    lines.push(h("div", {}, limits));
  }
  if (!none(f.duration_points_per_hour)) lines.push(h("div", {}, t("policy.duration_points", { n: f.duration_points_per_hour })));
  lines.push(rating("policy.rating_points", f.rating_points_per_hour));
  if (!none(f.live_points_per_hour)) lines.push(h("div", {}, t("policy.live_points", { n: f.live_points_per_hour })));
  lines.push(rating("policy.performance_points", f.performance_points_per_hour));
  if (!none(f.viewers_per_point)) lines.push(h("div", {}, t("policy.viewer_points", { per: f.viewers_per_point, max: f.viewer_points_per_hour_max })));
  if (!none(f.min_viewers)) lines.push(h("div", { class: "muted small" }, t("policy.min_viewers", { n: f.min_viewers })));
  if (!none(f.conversation_window_s)) lines.push(h("div", { class: "muted small" }, t("policy.conversation", { s: f.conversation_window_s })));
  return lines;
}

function seedWords(quotes) {
  if (!quotes.length) return "";
  return h("div", { class: "seed" }, quotes.map((q) => h("blockquote", { lang: "zh-CN" }, q.ref ? h("span", { class: "seed-ref" }, q.ref) : null, `“${q.words}”`)));
}
