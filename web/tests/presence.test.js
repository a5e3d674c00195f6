// Honest states and consent (issue 12, items 2 and 5): the pure pill/banner choice and
// the reducer events behind it, the stage invitation, hand notices, a replaced tab.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { reduce, initialState } from "../src/client.js";
import { classStatus, linkStatus, pill } from "../src/presence.js";
import { setDictionary, tn } from "../src/i18n.js";

const person = (id, role = "learner", extra = {}) => ({
  id, name: id.toUpperCase(), role, present: true, hand: false, stage: false, pen: false,
  media: { audio: false, video: false }, invited: false, muted: false, ...extra,
});

const welcome = (people, you = person("s1")) => ({
  type: "welcome",
  data: {
    you,
    caps: { publish: [], draw: false, grant: false, end: false, report: false },
    session: { id: "S", title: "函数", programme: "tutoring", form: "lecture", state: "live", record: true },
    people,
    recording: { on: true, since: "2026-03-02T10:00:00Z" },
    resumed: false,
  },
});
const changed = (...people) => ({ type: "roster", data: { added: [], changed: people, removed: [], audience: { learners: 1, listed: true } } });
const run = (...events) => events.reduce(reduce, initialState());

test("a student alone is waiting for the teacher, not in class", () => {
  const s = run(welcome([person("t1", "instructor", { present: false }), person("s1")]));
  assert.equal(classStatus(s), "waiting");
  assert.deepEqual(pill(s), { state: "live", detail: "waiting", key: "status.waiting" });
  const joined = reduce(s, changed(person("t1", "instructor")));
  assert.equal(classStatus(joined), "in_class");
  assert.deepEqual(pill(joined), { state: "live", detail: "in_class", key: "status.live" });
  const away = reduce(joined, changed(person("t1", "instructor", { present: false })));
  assert.equal(classStatus(away), "teacher_away", "once seen, a missing teacher stepped away");
  assert.equal(pill(away).key, "status.teacher_away");
});

test("a teacher alone waits for learners", () => {
  const t1 = person("t1", "instructor");
  const s = run(welcome([t1, person("s1", "learner", { present: false })], t1));
  assert.equal(classStatus(s), "waiting_learners");
  assert.equal(classStatus(reduce(s, changed(person("s1")))), "in_class");
});

test("a lost link: reconnecting, then the server (never the student's Wi-Fi) after the timeout", () => {
  const live = run(welcome([person("t1", "instructor"), person("s1")]));
  const lost = [{ type: "disconnected", willReconnect: true }, { type: "link_lost", at: 1000 }].reduce(reduce, live);
  assert.equal(lost.phase, "reconnecting");
  assert.equal(linkStatus(lost), "reconnecting");
  assert.equal(lost.recordingKnown, false, "the badge no longer claims recording");
  assert.equal(reduce(lost, { type: "link_lost", at: 5000 }).link.lostAt, 1000, "the first loss counts");
  assert.equal(reduce(lost, { type: "link_long", since: 999 }), lost, "a timer of an older loss is ignored");
  const long = reduce(lost, { type: "link_long", since: 1000 });
  assert.equal(linkStatus(long), "server");
  assert.deepEqual(pill(long), { state: "reconnecting", detail: "server", key: "status.server" });
  const offline = reduce(long, { type: "online", on: false });
  assert.equal(linkStatus(offline), "offline", "the browser says it is this device");
  const back = reduce(reduce(offline, { type: "online", on: true }), welcome([person("t1", "instructor"), person("s1")]));
  assert.equal(linkStatus(back), null);
  assert.deepEqual(back.link, { lostAt: null, offline: false, long: false });
  assert.equal(back.recordingKnown, true);
});

test("a first connection that never answers says so too", () => {
  const s = run({ type: "connecting" }, { type: "link_lost", at: 1 });
  assert.equal(linkStatus(s), null, "connecting: nothing to report yet");
  assert.equal(linkStatus(reduce(s, { type: "link_long", since: 1 })), "server");
});

test("the stage invitation is mine to answer; the roster and the event agree", () => {
  const s = run(welcome([person("t1", "instructor"), person("s1")]));
  const asked = reduce(s, { type: "invited", data: { what: "stage", open: true, by: "T1" } });
  assert.equal(asked.me.invited, true);
  assert.equal(reduce(asked, { type: "invited", data: { open: false } }).me.invited, false);
  const viaRoster = reduce(s, changed(person("s1", "learner", { invited: true })));
  assert.equal(viaRoster.me.invited, true);
});

test("hand notices replace each other instead of stacking", () => {
  let s = initialState();
  for (const [id, name] of [[1, "A"], [2, "B"], [3, "C"]]) {
    s = reduce(s, { type: "notice", notice: { id, level: "info", key: "notice.hand", params: { name }, group: "hand" } });
  }
  s = reduce(s, { type: "notice", notice: { id: 4, level: "info", key: "notice.pen_on" } });
  assert.deepEqual(s.notices.map((n) => n.id), [3, 4]);
});

test("a replaced tab learns the session ended", () => {
  const s = run(welcome([person("t1", "instructor"), person("s1")]), { type: "replaced" });
  assert.equal(s.phase, "error");
  const over = reduce(s, { type: "replaced_ended" });
  assert.equal(over.error.ended, true);
  assert.deepEqual(pill(over), { state: "ended", detail: "replaced", key: "status.ended" });
  const live = run(welcome([person("t1", "instructor"), person("s1")]));
  assert.equal(reduce(live, { type: "replaced_ended" }), live, "only a replaced tab");
});

test("English counts: 1 raised hand, 2 raised hands; Chinese has one form", () => {
  const web = join(dirname(fileURLToPath(import.meta.url)), "..");
  const en = JSON.parse(readFileSync(join(web, "i18n/en.json"), "utf8"));
  const zh = JSON.parse(readFileSync(join(web, "i18n/zh-CN.json"), "utf8"));
  setDictionary("en", en);
  assert.equal(tn("people.summary_hands", 1, { n: 3, hands: 1 }), "3 here · 1 raised hand");
  assert.equal(tn("people.summary_hands", 2, { n: 3, hands: 2 }), "3 here · 2 raised hands");
  assert.equal(tn("people.audience", 1, { n: 1 }), "1 learner here");
  setDictionary("zh-CN", zh);
  assert.equal(tn("people.summary_hands", 1, { n: 3, hands: 1 }), "在线 3 人 · 1 人举手");
});

test("the report editor's discussion timer ticks from the server's figure", async () => {
  const { discussionTimer } = await import("../src/ui/report.js");
  assert.equal(discussionTimer(null, 0), null);
  assert.equal(discussionTimer({ started_at: null, elapsed_s: 0 }, 0), null, "not started");
  const clock = { started_at: "2026-03-02T10:00:00Z", elapsed_s: 600, at: 1000, counted_minutes: 9, min_minutes: 45 };
  const d = discussionTimer(clock, 1000 + 65_000);
  assert.deepEqual(d.params, { elapsed: "11:05" });
  assert.deepEqual(d.counted, { key: "clock.counted_min", params: { counted: 9, min: 45 } });
});
