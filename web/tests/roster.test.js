// Who is here (docs/protocol.md, "Who is here: roster and audience"): the reducer
// applies coalesced `roster` deltas and the `audience` count; a welcome replaces both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reduce, initialState, applyRoster, createClient } from "../src/client.js";

const person = (id, role = "learner", extra = {}) => ({
  id, name: id.toUpperCase(), role, present: true, hand: false, stage: false, pen: false,
  media: { audio: false, video: false }, ...extra,
});

const caps = { publish: [], draw: false, grant: false, end: false, report: false };
const session = { id: "S", title: "讲座", programme: "training", form: "lecture", state: "live", record: false };

const welcome = (you, people, audience) => ({
  type: "welcome",
  data: { you, caps, session, people, audience, board: { seq: 0, background: null, strokes: [] }, chat: [], resumed: false },
});

const roster = (data) => ({
  type: "roster",
  data: { added: [], changed: [], removed: [], audience: { learners: 0, listed: true }, ...data },
});

const run = (...events) => events.reduce(reduce, initialState());

test("applyRoster: upserts in order, removals, never myself, same array when nothing changed", () => {
  const people = [person("t1", "instructor"), person("s1"), person("s9")];
  const next = applyRoster(people, { added: [person("s5", "learner", { hand: true })], changed: [{ ...person("t1", "instructor"), present: false }], removed: ["s9", "s1"] }, "s1");
  assert.deepEqual(next.map((p) => p.id), ["t1", "s1", "s5"]);
  assert.equal(next[0].present, false);
  assert.equal(people.length, 3, "the old list is not changed");
  assert.equal(applyRoster(people, { added: [], changed: [], removed: [] }), people);
});

test("a burst of joins in one roster event: everyone upserted, the count taken", () => {
  const s0 = run(welcome(person("t1", "instructor"), [person("t1", "instructor"), person("s1", "learner", { present: false }), person("s2", "learner", { present: false })], { learners: 0, listed: true }));
  const s = reduce(s0, roster({ changed: [person("s1"), person("s2")], audience: { learners: 2, listed: true } }));
  assert.deepEqual(s.people.map((p) => [p.id, p.present]), [["t1", true], ["s1", true], ["s2", true]]);
  assert.deepEqual(s.audience, { learners: 2, listed: true });
});

test("a big audience: the welcome lists who matters, rosters bring hands and the count", () => {
  let s = run(welcome(person("s7"), [person("t1", "instructor"), person("s7")], { learners: 1500, listed: false }));
  assert.deepEqual(s.audience, { learners: 1500, listed: false });
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s7"]);
  s = reduce(s, roster({ audience: { learners: 1620, listed: false } }));
  assert.equal(s.audience.learners, 1620);
  assert.equal(s.people.length, 2, "a count-only roster lists nobody new");
  s = reduce(s, roster({ added: [person("s42", "learner", { hand: true })], audience: { learners: 1620, listed: false } }));
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s7", "s42"]);
  s = reduce(s, roster({ removed: ["s42"], audience: { learners: 1619, listed: false } }));
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s7"]);
});

test("in a big audience my own state comes alone; my entry never leaves my list", () => {
  let s = run(welcome(person("s7"), [person("t1", "instructor"), person("s7")], { learners: 10, listed: false }));
  s = reduce(s, roster({ added: [person("s7", "learner", { hand: true })], audience: { learners: 10, listed: false } }));
  assert.equal(s.me.hand, true);
  s = reduce(s, roster({ removed: ["s7"], audience: { learners: 10, listed: false } }));
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s7"]);
  s = reduce(s, roster({ changed: [person("s7")], audience: { learners: 10, listed: false } }));
  assert.equal(s.me.hand, false);
  assert.equal(s.people.find((p) => p.id === "s7").hand, false);
});

test("a reconnect's welcome replaces the list and the count, not merges", () => {
  let s = run(welcome(person("s7"), [person("t1", "instructor"), person("s7")], { learners: 10, listed: false }));
  s = reduce(s, roster({ added: [person("s3", "learner", { stage: true })], audience: { learners: 11, listed: false } }));
  s = reduce(s, { type: "disconnected", willReconnect: true });
  s = reduce(s, welcome(person("s7"), [person("t1", "instructor"), person("s7")], { learners: 4, listed: false }));
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s7"]);
  assert.equal(s.audience.learners, 4);
});

test("a welcome without an audience (an older server) counts the learners it lists", () => {
  const s = run(welcome(person("s1"), [person("t1", "instructor"), person("s1"), person("s2", "learner", { present: false })]));
  assert.deepEqual(s.audience, { learners: 1, listed: true });
});

test("a roster after the end changes nothing", () => {
  const s = run(welcome(person("s1"), [person("t1", "instructor"), person("s1")], { learners: 1, listed: true }), { type: "ended", data: { by: "t1", feedback: true } });
  assert.equal(reduce(s, roster({ changed: [person("s2")] })), s);
});

test("createClient: an instructor is told of a hand that went up in a roster, once", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const listeners = new Map();
  const protocol = {
    on: (type, fn) => listeners.set(type, fn),
    me: () => new Promise(() => {}),
    startLocal: async () => ({ denied: null }),
    stopLocal: () => {},
  };
  const client = createClient({ protocol, loadLang: async (l) => l, rememberLang: () => {} });
  const fire = (type, data) => listeners.get(type)(data);
  const teacherCaps = { publish: ["audio", "video"], draw: true, grant: true, end: true, report: false };
  fire("welcome", { ...welcome(person("t1", "instructor"), [person("t1", "instructor"), person("s1")], { learners: 1, listed: true }).data, caps: teacherCaps });
  const hand = { added: [], changed: [person("s1", "learner", { hand: true })], removed: [], audience: { learners: 1, listed: true } };
  fire("roster", hand);
  fire("roster", hand); // the same state again: no second notice
  const notices = client.getState().notices.filter((n) => n.key === "notice.hand");
  assert.equal(notices.length, 1);
  assert.deepEqual(notices[0].params, { name: "S1" });
  t.mock.timers.runAll();
});
