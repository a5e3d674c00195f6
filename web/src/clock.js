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

/** The i18n key of a why-not code. Pure. */
export function reasonKey(code) {
  return `clock.why.${WHY_NOT.includes(code) ? code : "not_effective"}`;
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
