// Micro-lessons page: the pure parts (times shown and typed, the search query, which
// message an error code shows). No DOM; tested by web/tests/lessons.test.js.

export const SUBJECTS = ["chinese", "math", "english", "morality_law", "physics", "chemistry", "biology", "history", "geography"];
export const GRADES = ["7", "8", "9"];
export const ORDERS = ["newest", "most_watched"];

/** 75.4 → "1:15"; 3725 → "1:02:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

/** What a teacher types for a start or end: "90", "1:30", "1:02:03", "1：30" → seconds; else NaN. */
export function parseClock(text) {
  const parts = String(text).trim().replace(/：/g, ":").split(":");
  if (!parts.length || parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return NaN;
  if (parts.slice(1).some((p) => Number(p) >= 60)) return NaN;
  return parts.reduce((total, p) => total * 60 + Number(p), 0);
}

/** The list's query string from the filters (empty ones left out). */
export function searchQuery({ subject = "", grade = "", point = "", order = "newest" } = {}) {
  const q = new URLSearchParams();
  if (subject) q.set("subject", subject);
  if (grade) q.set("grade", grade);
  if (point.trim()) q.set("knowledge_point", point.trim());
  if (order && order !== "newest") q.set("order", order);
  return q.toString();
}

const KNOWN = ["too_long", "too_short", "too_many", "out_of_range", "not_yours", "no_recording", "busy", "teachers_only", "expired", "bad_token", "no_token"];

/** The message key for a refusal's code; fields without a code of their own say "invalid". */
export function errorKey(code) {
  return KNOWN.includes(code) ? `lessons.error.${code}` : code === "invalid" ? "lessons.error.invalid" : "lessons.error.other";
}

/** Where the player should begin: the file starts at the keyframe lead_s before the chosen start. */
export function startAt(lesson, currentTime) {
  const lead = Number(lesson && lesson.lead_s) || 0;
  return currentTime < lead ? lead : currentTime;
}
