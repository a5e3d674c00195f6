// The programme's feedback form, pure parts: counting like the server
// (recorder/credits/texts.py), the minimums, and how the three answers become the
// one `text` field of POST /api/v1/me/feedback.
//
// A text counts its *visible* characters: after NFKC, not whitespace, separators
// (Z*), control/format/unassigned/private characters (C*: U+200B, U+FEFF, bidi
// marks) or combining marks (M*); and it needs a minimum of *distinct* ones, so that
// "a"×200 or 👍×200 is not a text. The numbers are the programme policy's, sent by
// GET /api/v1/me as `feedback_rules` (the defaults below are the shipped policies').

export const MIN_CHARS = 200;
export const MIN_DISTINCT = 20;
export const RATINGS = [1, 2, 3, 4, 5];
export const SATISFACTION = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"];
export const PARTS = ["gain", "reflection", "suggestion"]; // 收获 / 反思 / 建议

const HIDDEN = /[\p{Z}\p{C}\p{M}\s]/u;

/** The characters of `text` that count, in order (code points, after NFKC). */
export function visible(text) {
  const out = [];
  for (const ch of String(text || "").normalize("NFKC")) if (!HIDDEN.test(ch)) out.push(ch);
  return out;
}

/** How many characters count toward a minimum length. */
export function countChars(text) {
  return visible(text).length;
}

/** How many different characters count. */
export function countDistinct(text) {
  return new Set(visible(text)).size;
}

/** The minimums from GET /api/v1/me (`feedback_rules` / `report_rules`), or the defaults. */
export function rulesOf(rules) {
  const n = (v, d) => (Number.isInteger(v) && v >= 0 ? v : d);
  return { minChars: n(rules && rules.min_chars, MIN_CHARS), minDistinct: n(rules && rules.min_distinct, MIN_DISTINCT) };
}

/** Counted and distinct characters over the three answers together. */
export function countParts(parts) {
  const all = PARTS.flatMap((key) => visible(parts && parts[key]));
  return { n: all.length, distinct: new Set(all).size };
}

/** Join the answers under their headings (headings are given, already translated). */
export function composeText(parts, headings) {
  return PARTS.filter((key) => countChars(parts && parts[key]) > 0)
    .map((key) => `【${headings[key]}】\n${String(parts[key]).trim()}`)
    .join("\n\n");
}

/** Text problems as i18n keys: too few visible characters, too few different ones. */
export function textProblems(counts, rules) {
  const { minChars, minDistinct } = rulesOf(rules);
  const out = [];
  if (counts.n < minChars) out.push("feedback.need_chars");
  else if (counts.distinct < minDistinct) out.push("feedback.need_distinct");
  return out;
}

/**
 * Problems that keep the form from being sent, as i18n keys (empty when it can go).
 * A tutoring student (`short`) only rates what they learned; their comment is optional
 * (the policy's min_chars is 0 there) but, when written, is counted like any text.
 */
export function problems(form, rules, short = false) {
  const out = [];
  if (!RATINGS.includes(form && form.rating)) out.push("feedback.need_rating");
  if (short) return out.concat(textProblems(countParts({ gain: form && form.comment }), rules));
  if (!SATISFACTION.includes(form && form.satisfaction)) out.push("feedback.need_satisfaction");
  return out.concat(textProblems(countParts(form && form.parts), rules));
}

/** The body of POST /api/v1/me/feedback: a tutoring student's rating and optional
 * comment, or training's rating, satisfaction and the three answers under headings. */
export function feedbackBody(form, headings, short = false) {
  if (short) return { rating: form.rating, text: String(form.comment || "").trim() };
  return { rating: form.rating, satisfaction: form.satisfaction, text: composeText(form.parts, headings) };
}

/** "6" for 6.00, "6.5" for 6.50: points as people read them. */
export function points(value) {
  const x = Number(value);
  if (!Number.isFinite(x)) return "0";
  return String(Math.round(x * 100) / 100);
}

/**
 * What the learner's payment step shows, from GET /api/v1/me/settlement: the minutes,
 * the points for time, and the range the rating sets ("1–5 星 → 每小时 6–10 积分").
 */
export function settlementView(s) {
  if (!s) return null;
  const perHour = s.rating_points_per_hour || {};
  const forSession = s.rating_points || {};
  return {
    minutes: Number(s.effective_minutes) || 0,
    timePoints: points(s.time_points),
    perHourTime: points(s.duration_points_per_hour),
    lowStar: points(perHour["1"]),
    highStar: points(perHour["5"]),
    pointValue: points(s.point_value_cny),
    forRating: (r) => points(forSession[String(r)]),
    perHourFor: (r) => points(perHour[String(r)]),
  };
}
