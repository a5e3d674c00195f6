// Pure helpers of the console: dates in Beijing time, durations, numbers, scopes.
// No DOM, no fetch: tested by web/tests/console.test.js under node --test.

export const ZONE = "Asia/Shanghai";

const PARTS = new Intl.DateTimeFormat("en-CA", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** {date: "YYYY-MM-DD", time: "HH:mm", seconds: "ss"} of an instant in Beijing, or null. */
export function shanghaiParts(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  const p = Object.fromEntries(PARTS.formatToParts(d).map((x) => [x.type, x.value]));
  const hour = p.hour === "24" ? "00" : p.hour;
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${hour}:${p.minute}`, seconds: p.second };
}

/** "2026-12-05 02:05" (Beijing time) for an ISO UTC text; "—" when absent or unreadable. */
export function formatDateTime(value) {
  const p = shanghaiParts(value);
  return p ? `${p.date} ${p.time}` : "—";
}

/** "YYYY-MM-DD" in Beijing for an instant ("—" when absent). */
export function formatDate(value) {
  const p = shanghaiParts(value);
  return p ? p.date : "—";
}

/** "2026-12-05 14:00–15:30", or both dates when the range crosses midnight in Beijing. */
export function formatRange(start, end) {
  const a = shanghaiParts(start);
  const b = shanghaiParts(end);
  if (!a && !b) return "—";
  if (!a) return `— – ${b.date} ${b.time}`;
  if (!b) return `${a.date} ${a.time} – …`;
  return a.date === b.date ? `${a.date} ${a.time}–${b.time}` : `${a.date} ${a.time} – ${b.date} ${b.time}`;
}

/** The Beijing calendar date `days` after the instant `now` (ms or Date): "YYYY-MM-DD". */
export function shanghaiDay(now, days = 0) {
  const ms = (now instanceof Date ? now.getTime() : Number(now)) + days * 86_400_000;
  return shanghaiParts(ms).date;
}

/** Seconds as "1:02:03" or "2:03"; "—" for nothing. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "—";
  const s = Math.max(0, Math.round(Number(seconds)));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

/** Bytes in KB / MB / GB, one decimal. */
export function formatBytes(n) {
  const v = Number(n);
  if (!Number.isFinite(v) || v < 0) return "—";
  if (v < 1024) return `${v} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

/** The i18n key and params of a staff user's scope (市级 / 区级 <code> / 校级 <id>). */
export function scopeLabel(user) {
  if (!user) return { key: "scope.unknown", params: {} };
  if (user.level === "city") return { key: "scope.city", params: {} };
  if (user.level === "district") return { key: "scope.district", params: { code: user.district_code || "" } };
  if (user.level === "school") return { key: "scope.school", params: { id: user.school_id || "" } };
  return { key: "scope.unknown", params: {} };
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); null if none. */
export function retryAfterSeconds(header, now = Date.now()) {
  if (header === null || header === undefined || header === "") return null;
  const text = String(header).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Wait time in words-ready parts: {minutes, seconds} rounded up to whole seconds. */
export function splitWait(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  return { minutes: Math.floor(s / 60), seconds: s % 60 };
}
