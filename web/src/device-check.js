// The device check before joining (issue 12, item 1): pure helpers for
// ui/devicecheck.js, tested in tests/device-check.test.js.
//
// When it is shown: every join link, before the room, on a phone and on a laptop —
// except an observer's (a supervisor publishes nothing), a link with `&check=0` (a
// platform that ran its own check), a device whose localStorage says
// `opentutor.devicecheck` = `off` (a school's shared classroom computer, set up once;
// the test suite's browsers), and a reload of the same link in the same tab (this
// session's check was passed: a reload mid-class goes straight back in).

export const DEVICE_SETTING = "opentutor.devicecheck";
const PASSED_PREFIX = "opentutor.checked.";

/** The claims of a join token, read without checking it (the server decides); null
 * when unreadable. Pure. */
export function claimsOf(token) {
  try {
    const part = String(token || "").split(".")[1] || "";
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Where a passed check is remembered for this tab (sessionStorage). Pure. */
export function passedKey(claims) {
  return `${PASSED_PREFIX}${(claims && claims.sid) || ""}.${(claims && claims.sub) || ""}`;
}

function read(storage, key) {
  try {
    return storage ? storage.getItem(key) : null;
  } catch {
    return null; // storage refused (private mode): no memory, the check is shown
  }
}

/**
 * Why the check is skipped, or null when it is shown: "param" (`&check=0`),
 * "observer", "device" (the device setting), "passed" (this tab passed it for this
 * person and session). A link without readable claims still gets the check: the
 * room says what is wrong with it after. Pure (storages passed in).
 */
export function skipReason({ params, claims, local, session }) {
  if (params && params.get("check") === "0") return "param";
  if (claims && claims.role === "observer") return "observer";
  if (read(local, DEVICE_SETTING) === "off") return "device";
  if (claims && read(session, passedKey(claims)) === "1") return "passed";
  return null;
}

/** Remember for this tab that the check was passed (a reload goes straight in). */
export function rememberPassed(session, claims) {
  try {
    if (session) session.setItem(passedKey(claims), "1");
  } catch {
    /* storage refused: the next reload shows the check again */
  }
}

/** A learner of a lecture or classroom joins as audience: no camera until invited
 * on stage, so the check does not open one by itself. Pure. */
export function audienceOnly(form, role) {
  return role === "learner" && (form === "lecture" || form === "classroom");
}

/** Root mean square of audio samples (−1…1). Pure. */
export function rms(samples) {
  const n = samples ? samples.length : 0;
  if (!n) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / n);
}

/** The meter's share (0–1) for a level: −60 dBFS and below empty, −10 dBFS full. Pure. */
export function meterShare(level) {
  if (!(level > 0)) return 0;
  const db = 20 * Math.log10(level);
  return Math.max(0, Math.min(1, (db + 60) / 50));
}

/** Heard: the meter went past a third (about −43 dBFS: speech, not room noise). Pure. */
export const HEARD_SHARE = 1 / 3;
