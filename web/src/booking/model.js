// Booking pages (issue 14, item 4), the pure part: the start times a teacher may choose,
// how an offer's time and state are said, what a refusal says. Each returns i18n keys
// and params (never text), so both languages read them alike and node tests need no DOM.

export const FORMS = ["one_to_one", "lecture", "review"];
const REFUSALS = ["in_past", "too_far", "length", "closed", "capacity", "overlap", "too_many", "started", "opened", "already", "full", "same_person", "cutoff", "gone", "not_booked", "nobody", "not_yet", "over", "not_teacher", "not_learner", "not_yours", "invalid", "offline", "no_token", "bad_token", "expired", "rate_limited"];

function hhmm(minutes) {
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function minutesOf(text) {
  const [h, m] = String(text).split(":").map(Number);
  return h * 60 + m;
}

/**
 * The start times inside one day's open windows for an offer of `length` minutes, every
 * `step` minutes, later than `nowS` (epoch seconds): [{value: epoch s, label: "HH:MM"}].
 * Each window says its local from/to and its epoch start, so no time-zone arithmetic is
 * needed here (the calendar's zone is the server's business).
 */
export function startChoices(day, length, nowS, step = 10) {
  const out = [];
  for (const w of (day && day.windows) || []) {
    const from = minutesOf(w.from);
    let to = minutesOf(w.to);
    if (to <= from) to += 24 * 60; // a window to 24:00
    for (let m = from; m + length <= to; m += step) {
      const value = w.start + (m - from) * 60;
      if (value > nowS) out.push({ value, label: hhmm(m) });
    }
  }
  return out;
}

/** The lengths (minutes) a form may have, from the policy's [lo, hi], in sensible steps. */
export function lengthChoices(lengths, form) {
  const [lo, hi] = (lengths && lengths[form]) || [30, 60];
  const step = hi - lo > 60 ? 15 : 5;
  const out = [];
  for (let m = lo; m <= hi; m += step) out.push(m);
  if (out[out.length - 1] !== hi) out.push(hi);
  return out;
}

/** A day's words: [key, params] for "9月21日 周一" / "Mon 21 Sep". */
export function dayLine(date, weekday) {
  const [, m, d] = String(date).split("-").map(Number);
  return ["booking.date", { month: `booking.month.${m}`, d, weekday: `booking.weekday.${weekday}` }];
}

/**
 * What an offer's card says of its state for the viewer at `nowS`: one of
 * "cancelled", "over", "live" (the room opens now), "soon" (opens at a time),
 * and whether cancelling is still possible.
 */
export function offerState(offer, nowS) {
  const endS = offer.start_s + offer.minutes * 60;
  if (offer.state === "cancelled") return { key: "cancelled", join: false, cancel: false };
  if (nowS >= endS) return { key: "over", join: false, cancel: false };
  const cancel = !offer.session_id && nowS < offer.cancel_until_s;
  if (nowS >= offer.join_opens_s) return { key: "live", join: true, cancel };
  return { key: "soon", join: false, cancel, opensAt: offer.join_opens_s };
}

/** Places left on an offer (a lecture's count; a slot's is 0 or 1). */
export function placesLeft(offer) {
  return Math.max(0, (offer.capacity || 0) - (offer.booked || 0));
}

/** A refused call's message: [key, params]. */
export function refusal(error) {
  const code = (error && error.code) || "other";
  const e = error || {};
  const params = { min: e.min ?? "", max: e.max ?? "", capacity: e.capacity ?? "", minutes: e.minutes ?? "", days: e.days ?? "" };
  return [REFUSALS.includes(code) ? `booking.refused.${code}` : "booking.refused.other", params];
}

/** Offers grouped by teacher, in the order of their first offer (the list is by start). */
export function byTeacher(offers) {
  const groups = new Map();
  for (const o of offers || []) {
    const id = o.teacher && o.teacher.id;
    if (!groups.has(id)) groups.set(id, { teacher: o.teacher, offers: [] });
    groups.get(id).offers.push(o);
  }
  return [...groups.values()];
}

/** The HH:MM (calendar-local) the server gave, shifted by whole minutes (for "opens at"). */
export function clockAt(offer, epochS) {
  return hhmm(minutesOf(offer.time) + Math.round((epochS - offer.start_s) / 60) + 24 * 60);
}
