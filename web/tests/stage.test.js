import { test } from "node:test";
import assert from "node:assert/strict";
import { roleKey, stageLayout, tileEntries, tileOrder, waitingKey } from "../src/stage.js";
import { audienceOnly, claimsOf, meterShare, passedKey, rememberPassed, rms, skipReason } from "../src/device-check.js";
import { reasonKey, reviewProgress } from "../src/clock.js";

const person = (id, role, extra = {}) => ({ id, name: id, role, present: true, media: { audio: false, video: false }, ...extra });
const state = (form, me, people, remote = {}) => ({ me: { id: me }, session: { form }, people, media: { remote } });

test("a review names the presenter and the reviewers, never teacher and student", () => {
  assert.equal(roleKey("review", "learner"), "role.presenter");
  assert.equal(roleKey("review", "instructor"), "role.reviewer");
  assert.equal(roleKey("review", "observer"), null);
  assert.equal(roleKey("one_to_one", "instructor"), "people.instructor");
  assert.equal(roleKey("lecture", "learner"), null);
  assert.equal(waitingKey("review", "learner"), "stage.waiting_reviewers");
  assert.equal(waitingKey("review", "instructor"), "stage.waiting_presenter");
  assert.equal(waitingKey("one_to_one", "learner"), "stage.waiting_teacher");
  assert.equal(waitingKey("lecture", "observer"), "stage.waiting_teacher");
  assert.equal(waitingKey("one_to_one", "instructor"), "stage.waiting_others");
});

test("every participant of a review has a tile, with or without a camera", () => {
  const people = [person("r1", "instructor"), person("p1", "learner"), person("r2", "instructor"), person("r3", "instructor", { present: false })];
  const s = state("review", "r1", people, { r2: { audio: true, video: true } });
  assert.deepEqual(tileEntries(s), [["r2", { audio: true, video: true }], ["p1", { audio: false, video: false }]]);
  // The presenter first, then the reviewers.
  assert.ok(tileOrder("review", "learner") < tileOrder("review", "instructor"));
  assert.ok(tileOrder("lecture", "instructor") < tileOrder("lecture", "learner"));
});

test("a lecture's audience gets no tiles; its teacher does, camera or not", () => {
  const people = [person("t1", "instructor"), person("s1", "learner"), person("s2", "learner")];
  assert.deepEqual(tileEntries(state("lecture", "s1", people)), [["t1", { audio: false, video: false }]]);
  assert.deepEqual(tileEntries(state("lecture", "s1", people, { s2: { audio: true, video: true } })).map(([id]) => id), ["s2", "t1"]);
  assert.deepEqual(tileEntries(state("lecture", "t1", people)), []);
  assert.deepEqual(tileEntries({ me: null, session: null, people: [], media: { remote: {} } }), []);
});

test("the stage layout never puts my picture over the waiting line", () => {
  assert.equal(stageLayout(0, true), "waiting");
  assert.equal(stageLayout(0, false), "alone");
  assert.equal(stageLayout(1, false), "one");
  assert.equal(stageLayout(3, false), "grid");
});

test("the review clock: the discussion's counted minutes toward the form's 45", () => {
  const clock = { counted_minutes: 18, min_minutes: 45, meets_minimum: false };
  assert.deepEqual(reviewProgress(clock), { counted: 18, min: 45, share: 0.4, reached: false });
  assert.deepEqual(reviewProgress({ ...clock, counted_minutes: 47, meets_minimum: true }), { counted: 47, min: 45, share: 1, reached: true });
  assert.equal(reviewProgress({ ...clock, counted_minutes: null }), null); // no counted figures
  assert.equal(reviewProgress({ ...clock, min_minutes: null }), null);
  assert.equal(reviewProgress(null), null);
  assert.equal(reasonKey("alone", "review"), "clock.why_review.alone");
  assert.equal(reasonKey("alone"), "clock.why.alone");
  assert.equal(reasonKey("nobody_voiced", "review"), "clock.why.nobody_voiced");
  assert.equal(reasonKey("something new", "review"), "clock.why.not_effective");
});

function memory(entries = {}) {
  const m = new Map(Object.entries(entries));
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
}

const token = (claims) => `x.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.y`;

test("the device check: shown by default, skipped when asked, for observers, or once passed here", () => {
  const claims = claimsOf(token({ sub: "s1", sid: "abc", role: "learner", name: "李同学" }));
  assert.equal(claims.name, "李同学");
  assert.equal(claimsOf("not a token"), null);
  const none = new URLSearchParams("token=x");
  assert.equal(skipReason({ params: none, claims, local: memory(), session: memory() }), null);
  assert.equal(skipReason({ params: new URLSearchParams("token=x&check=0"), claims, local: memory(), session: memory() }), "param");
  assert.equal(skipReason({ params: none, claims: { ...claims, role: "observer" }, local: memory(), session: memory() }), "observer");
  assert.equal(skipReason({ params: none, claims, local: memory({ "opentutor.devicecheck": "off" }), session: memory() }), "device");
  const tab = memory();
  rememberPassed(tab, claims);
  assert.equal(skipReason({ params: none, claims, local: memory(), session: tab }), "passed");
  // Another person's link in the same tab still gets its own check.
  assert.equal(skipReason({ params: none, claims: { ...claims, sub: "s2" }, local: memory(), session: tab }), null);
  assert.equal(passedKey(claims), "opentutor.checked.abc.s1");
  // Storage that throws (private mode) never breaks the page: the check is shown.
  const refusing = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); } };
  assert.equal(skipReason({ params: none, claims, local: refusing, session: refusing }), null);
  rememberPassed(refusing, claims);
  assert.equal(audienceOnly("lecture", "learner"), true);
  assert.equal(audienceOnly("one_to_one", "learner"), false);
  assert.equal(audienceOnly("lecture", "instructor"), false);
});

test("the microphone meter: silence empty, speech past a third, a full-scale tone full", () => {
  assert.equal(rms([]), 0);
  assert.equal(meterShare(0), 0);
  assert.equal(meterShare(rms(new Float32Array(512).fill(1))), 1);
  assert.ok(meterShare(0.001) === 0); // −60 dBFS: room hum
  const speech = meterShare(0.05); // about −26 dBFS
  assert.ok(speech > 1 / 3 && speech < 1, String(speech));
});

test("the status pill names the reviewers and the presenter in a review", async () => {
  const { pill } = await import("../src/presence.js");
  const base = { phase: "live", link: { lostAt: null, offline: false, long: false }, teacherSeen: false };
  const people = [{ id: "r1", role: "instructor", present: true }, { id: "p1", role: "learner", present: true }];
  const alone = (me, role) => ({ ...base, me: { id: me, role }, session: { form: "review" }, people: people.filter((p) => p.id === me) });
  assert.equal(pill(alone("p1", "learner")).key, "status.waiting_review");
  assert.equal(pill(alone("r1", "instructor")).key, "status.waiting_learners_review");
  assert.equal(pill({ ...alone("p1", "learner"), teacherSeen: true }).key, "status.teacher_away_review");
  assert.equal(pill({ ...base, me: { id: "p1", role: "learner" }, session: { form: "review" }, people }).key, "status.live");
  assert.equal(pill({ ...alone("p1", "learner"), session: { form: "one_to_one" } }).key, "status.waiting");
});
