// Honest states (issue 12, item 2), pure: what the status pill and the banner say,
// from the server's word only. "In class" needs the teacher here (a student alone is
// waiting for them, or they stepped away); a lost connection is the device's when the
// browser says it is offline, and otherwise the server's: the page never blames the
// student's Wi-Fi for a server that does not answer, and after LINK_LONG_MS it says
// so plainly, with what to do.

/** How long a lost connection is "reconnecting" before the page says the server is
 * not answering (the server keeps hands and the stage for its 30 s grace period). */
export const LINK_LONG_MS = 20000;

/** The link part of the state: when it was lost (ms), whether the browser is offline,
 * whether LINK_LONG_MS passed without a welcome. */
export function initialLink() {
  return { lostAt: null, offline: false, long: false };
}

/** Someone of `role` is here now (not me). */
function anyoneHere(s, role) {
  const me = s.me && s.me.id;
  return s.people.some((p) => p.role === role && p.present !== false && p.id !== me);
}

/**
 * Who is missing while connected: "waiting" (a learner, the teacher not here yet),
 * "teacher_away" (they were here and left), "waiting_learners" (the teacher alone),
 * or "in_class". Observers see "in_class" as soon as someone teaches.
 */
export function classStatus(s) {
  const role = s.me && s.me.role;
  if (role === "instructor") return anyoneHere(s, "learner") ? "in_class" : "waiting_learners";
  if (anyoneHere(s, "instructor")) return "in_class";
  return s.teacherSeen ? "teacher_away" : "waiting";
}

/** Whether a (re)connection is under way, and whose the trouble is: null when
 * connected or finished; "offline" (this device), "reconnecting" (just lost, or the
 * first connection), "server" (LINK_LONG_MS without an answer while online). */
export function linkStatus(s) {
  if (s.phase !== "connecting" && s.phase !== "reconnecting") return null;
  if (s.link.offline) return "offline";
  if (s.link.long) return "server";
  return s.phase === "reconnecting" ? "reconnecting" : null;
}

/** The pill: `state` is the connection's phase (what tests and styles key on: "live"
 * while connected), `detail` says more (waiting, teacher_away, offline, server…), `key`
 * is its text. */
export function pill(s) {
  const link = linkStatus(s);
  if (link) return { state: s.phase, detail: link, key: `status.${link}` };
  if (s.phase === "live") {
    const c = classStatus(s);
    // A review's learner is the presenting teacher, its instructors the reviewers.
    const review = s.session && s.session.form === "review" ? "_review" : "";
    return { state: "live", detail: c, key: c === "in_class" ? "status.live" : `status.${c}${review}` };
  }
  if (s.phase === "error" && s.error && s.error.code === "replaced" && s.error.ended) return { state: "ended", detail: "replaced", key: "status.ended" };
  return { state: s.phase, detail: "", key: `status.${s.phase}` };
}

/** Whether the people `present` include an instructor: the teacher was seen here. */
export function seesTeacher(people, me) {
  return (people || []).some((p) => p && p.role === "instructor" && p.present !== false && p.id !== me);
}
