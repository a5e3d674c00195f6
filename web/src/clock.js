// The clock that pays (issue 12, item 3): pure helpers for what the header and the
// end dialog say of GET /api/v1/me/clock. The server computes every figure with the
// credits engine; the page only ticks the elapsed time between polls and words it.

/** Why-not codes the server sends (recorder/credits/clock.py CODES); anything else is
 * worded as the generic "not counting" so a newer server never shows a raw key. */
export const WHY_NOT = Object.freeze([
  "not_started", "ended", "nobody_present", "outside_hours", "alone", "instructor_absent",
  "instructor_silent", "no_viewers", "nobody_voiced", "above_maximum", "not_effective",
]);

/** "12:05" under an hour, "1:02:05" from then on; never negative. Pure. */
export function formatElapsed(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/**
 * Elapsed seconds now: the server's `elapsed_s` when it answered (`at`, ms of this
 * page's clock) plus the time since, so a wrong clock on the laptop changes nothing.
 * A session not started or ended does not tick. Pure.
 */
export function elapsedAt(clock, nowMs) {
  if (!clock) return 0;
  const base = Number(clock.elapsed_s) || 0;
  if (!clock.started_at || clock.final) return base;
  return base + Math.max(0, Math.floor((nowMs - (clock.at || nowMs)) / 1000));
}

/** Why-not codes worded apart in a review (presenter and reviewers, not teacher and learner). */
const REVIEW_WHY = Object.freeze(["alone", "instructor_absent"]);

/** The i18n key of a why-not code, in `form`'s words. Pure. */
export function reasonKey(code, form = null) {
  const known = WHY_NOT.includes(code) ? code : "not_effective";
  return form === "review" && REVIEW_WHY.includes(known) ? `clock.why_review.${known}` : `clock.why.${known}`;
}

/**
 * A review's discussion toward the form's minimum (45 minutes in training.toml): the
 * counted minutes, the minimum, the share reached (0–1) and whether it is reached;
 * null without counted figures or a minimum. The minutes are the credits engine's
 * (GET /api/v1/me/clock), not the elapsed time. Pure.
 */
export function reviewProgress(clock) {
  if (!hasCounts(clock)) return null;
  const min = clock.min_minutes;
  if (!Number.isInteger(min) || min <= 0) return null;
  const counted = clock.counted_minutes;
  const reached = clock.meets_minimum === true || counted >= min;
  return { counted, min, share: reached ? 1 : Math.max(0, Math.min(1, counted / min)), reached };
}

/** Whether the clock carries the instructor's counted figures. Pure. */
export function hasCounts(clock) {
  return !!clock && Number.isInteger(clock.counted_minutes);
}

/**
 * What the end dialog warns about, or null: ending now counts nothing because the
 * counted minutes are below the form's minimum. `{counted, min}` for the message.
 * Pure.
 */
export function endWarning(clock) {
  if (!hasCounts(clock) || clock.final) return null;
  const min = clock.min_minutes;
  if (!Number.isInteger(min) || min <= 0) return null;
  if (clock.meets_minimum === true || clock.counted_minutes >= min) return null;
  return { counted: clock.counted_minutes, min };
}

/**
 * The header's counted line as an i18n key and params: "已计 12 分钟 · 至少 60 分钟才计入",
 * "已计 60 分钟 · 最多计 60 分钟", or the bare count. Pure.
 */
export function countedLine(clock) {
  if (!hasCounts(clock)) return null;
  const counted = clock.counted_minutes;
  const { min_minutes: min, max_minutes: max } = clock;
  if (Number.isInteger(min) && counted < min) return { key: "clock.counted_min", params: { counted, min } };
  if (Number.isInteger(max)) return { key: "clock.counted_max", params: { counted, max } };
  return { key: "clock.counted", params: { counted } };
}
