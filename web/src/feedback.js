// The programme's feedback form, pure parts: the ≥ 200 character rule
// (研修计划: "不少于200字的收获、反思和意见建议") and how the three answers
// become the one `text` field of POST /api/v1/me/feedback.

export const MIN_CHARS = 200;
export const RATINGS = [1, 2, 3, 4, 5];
export const SATISFACTION = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"];
export const PARTS = ["gain", "reflection", "suggestion"]; // 收获 / 反思 / 建议

/** Characters that count: Unicode code points that are not whitespace. */
export function countChars(text) {
  let n = 0;
  for (const ch of String(text || "")) if (!/\s/u.test(ch)) n += 1;
  return n;
}

/** Total counted characters over the three answers. */
export function countParts(parts) {
  return PARTS.reduce((n, key) => n + countChars(parts && parts[key]), 0);
}

/** Join the answers under their headings (headings are given, already translated). */
export function composeText(parts, headings) {
  return PARTS.filter((key) => countChars(parts && parts[key]) > 0)
    .map((key) => `【${headings[key]}】\n${String(parts[key]).trim()}`)
    .join("\n\n");
}

/** Problems that keep the form from being sent, as i18n keys (empty when it can go). */
export function problems(form) {
  const out = [];
  if (!RATINGS.includes(form && form.rating)) out.push("feedback.need_rating");
  if (!SATISFACTION.includes(form && form.satisfaction)) out.push("feedback.need_satisfaction");
  if (countParts(form && form.parts) < MIN_CHARS) out.push("feedback.need_chars");
  return out;
}
