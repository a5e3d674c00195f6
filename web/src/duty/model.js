// On-demand tutoring pages (issue 14), the pure part: what to say for a teacher's
// place in the list, a call's state, a refusal. Each returns i18n keys and params,
// never text, so both languages read them alike and node tests need no DOM.

export const SUBJECTS = ["chinese", "math", "english", "morality_law", "physics", "chemistry", "biology", "history", "geography"];
export const GRADES = ["7", "8", "9"];

/** Why a teacher is listed where they are: [key, params] pieces, in the order of the sort. */
export function whyListed(teacher, subject, grade) {
  const out = [];
  for (const r of teacher.reasons || []) {
    if (r === "subject") out.push(["duty.why.subject", { subject }]);
    else if (r === "grade") out.push(["duty.why.grade", { grade }]);
    else if (r === "rated") out.push(["duty.why.rated", { rating: Number(teacher.rating).toFixed(1) }]);
    else if (r === "unrated") out.push(["duty.why.unrated", {}]);
    else if (r === "nobody_waiting") out.push(["duty.why.nobody_waiting", {}]);
    else if (r === "waiting") out.push(["duty.why.waiting", { n: teacher.waiting }]);
  }
  return out;
}

/** The student's line for their call: [key, params]. */
export function callLine(call) {
  if (!call) return null;
  const who = { name: call.teacher_name || "" };
  switch (call.state) {
    case "ringing":
      return ["duty.call.ringing", { ...who, s: call.ring_left_s ?? 30 }];
    case "queued":
      return ["duty.call.queued", { ...who, n: call.position || 1 }];
    case "accepted":
      return ["duty.call.accepted", who];
    case "declined":
      return ["duty.call.declined", who];
    case "timed_out":
      return ["duty.call.timed_out", who];
    case "cancelled":
      return [call.reason === "student" ? "duty.call.cancelled" : "duty.call.teacher_left", who];
    default:
      return null;
  }
}

const REFUSALS = ["closed", "busy", "queue_full", "already_calling", "not_on_duty", "resting", "elsewhere", "not_their_subject", "in_session", "not_ringing", "rate_limited", "no_session", "same_person"];

/** A refused command's message key (and params): the server's code, else a general one. */
export function refusal(error) {
  const code = error && error.code;
  if (code === "closed") {
    const o = error.open || {};
    const hours = (o.today || []).join("、");
    const reason = ["out_of_term", "closed_today", "outside_hours"].includes(o.reason) ? o.reason : "outside_hours";
    return [hours ? `duty.closed.${reason}_hours` : `duty.closed.${reason}`, { hours }];
  }
  if (code === "resting") {
    const until = new Date((error.until || 0) * 1000);
    const hhmm = `${String(until.getHours()).padStart(2, "0")}:${String(until.getMinutes()).padStart(2, "0")}`;
    return ["duty.refused.resting", { time: hhmm }];
  }
  return [REFUSALS.includes(code) ? `duty.refused.${code}` : "duty.refused.other", {}];
}

/** Seconds left of a ringing call, from the server's figure and the time since it came. */
export function ringLeft(call, receivedAtMs, nowMs) {
  const start = call && call.ring_left_s != null ? call.ring_left_s : 30;
  return Math.max(0, Math.ceil(start - (nowMs - receivedAtMs) / 1000));
}
