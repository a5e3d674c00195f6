import { test } from "node:test";
import assert from "node:assert/strict";
import { reduce, initialState } from "../src/client.js";
import { visibleStrokes } from "../src/whiteboard.js";

const person = (id, role = "learner", extra = {}) => ({
  id, name: id.toUpperCase(), role, present: true, hand: false, stage: false, pen: false,
  media: { audio: false, video: false }, ...extra,
});

const welcome = (extra = {}) => ({
  type: "welcome",
  data: {
    you: person("s1"),
    caps: { publish: [], draw: false, grant: false, end: false, report: false },
    session: { id: "S", title: "函数", programme: "tutoring", form: "lecture", state: "live", record: false },
    people: [person("t1", "instructor"), person("s1")],
    board: { seq: 1, background: null, strokes: [{ type: "stroke", id: "a", by: "t1", seq: 1, tool: "pen", color: "#000000", width: 2, points: [[0, 0], [1, 1]] }] },
    chat: [{ id: "c1", from: "t1", name: "T1", text: "hi", image: null, ts: "2026-03-02T10:00:00Z" }],
    resumed: false,
    ...extra,
  },
});

const run = (...events) => events.reduce(reduce, initialState());

test("starts connecting; welcome makes it live with people, board and chat", () => {
  const s0 = initialState();
  assert.equal(s0.phase, "connecting");
  const s = reduce(s0, welcome());
  assert.equal(s.phase, "live");
  assert.equal(s.me.id, "s1");
  assert.equal(s.people.length, 2);
  assert.deepEqual(s.board.strokes.map((x) => x.id), ["a"]);
  assert.equal(s.chat.items.length, 1);
  assert.equal(s0.phase, "connecting", "the old state is not changed");
});

const roster = ({ added = [], changed = [], removed = [], learners = 1, listed = true } = {}) => ({
  type: "roster",
  data: { added, changed, removed, audience: { learners, listed } },
});

test("roster upserts add, update, and keep people who left", () => {
  let s = run(welcome(), roster({ changed: [person("s2")], learners: 2 }));
  assert.deepEqual(s.people.map((p) => p.id), ["t1", "s1", "s2"]);
  assert.deepEqual(s.audience, { learners: 2, listed: true });
  s = reduce(s, roster({ changed: [{ ...person("s2"), present: false }] }));
  assert.equal(s.people.length, 3);
  assert.equal(s.people.find((p) => p.id === "s2").present, false);
});

test("raising my hand updates me and the list", () => {
  const s = run(welcome(), roster({ changed: [person("s1", "learner", { hand: true })] }));
  assert.equal(s.me.hand, true);
  assert.equal(s.people.find((p) => p.id === "s1").hand, true);
});

test("grants: caps change and the person shows stage and pen", () => {
  const s = run(
    welcome(),
    { type: "caps", data: { publish: ["audio", "video"], draw: true, grant: false, end: false, report: false } },
    roster({ changed: [person("s1", "learner", { stage: true, pen: true })] }),
  );
  assert.deepEqual(s.caps.publish, ["audio", "video"]);
  assert.equal(s.caps.draw, true);
  assert.equal(s.me.stage, true);
  const revoked = reduce(s, { type: "caps", data: { publish: [], draw: false, grant: false, end: false, report: false } });
  assert.deepEqual(revoked.caps.publish, []);
  assert.equal(revoked.caps.draw, false);
});

test("chat appends once per id and counts unread when the chat panel is hidden", () => {
  const msg = { id: "c2", from: "t1", name: "T1", text: "看黑板", image: null, ts: "2026-03-02T10:01:00Z" };
  let s = run(welcome(), { type: "panel", panel: "people" }, { type: "chat", data: msg }, { type: "chat", data: msg });
  assert.deepEqual(s.chat.items.map((c) => c.id), ["c1", "c2"]);
  assert.equal(s.chat.unread, 1);
  s = reduce(s, { type: "chat", data: { ...msg, id: "c3", from: "s1" } });
  assert.equal(s.chat.unread, 1, "my own messages are not unread");
  s = reduce(s, { type: "panel", panel: "chat" });
  assert.equal(s.chat.unread, 0);
});

test("board ops: stroke, pending echo, undo, clear, background; old seqs ignored", () => {
  const stroke = (id, seq, by = "s1") => ({ type: "board", data: { seq, ts: "t", by, op: { type: "stroke", id, tool: "pen", color: "#e03131", width: 4, points: [[0.1, 0.1]] } } });
  let s = run(welcome(), { type: "stroke_pending", stroke: { id: "p1", by: "s1", tool: "pen", color: "#e03131", width: 4, points: [[0.2, 0.2]] } });
  assert.deepEqual(visibleStrokes(s.board).map((x) => x.id), ["a", "p1"]);
  s = reduce(s, stroke("p1", 2));
  assert.deepEqual(s.board.pending, []);
  assert.deepEqual(s.board.strokes.map((x) => x.id), ["a", "p1"]);
  assert.equal(s.board.seq, 2);
  s = reduce(s, stroke("zz", 2));
  assert.deepEqual(s.board.strokes.map((x) => x.id), ["a", "p1"], "a repeated seq changes nothing");
  s = reduce(s, { type: "board", data: { seq: 3, ts: "t", by: "s1", op: { type: "undo", id: "p1" } } });
  assert.deepEqual(s.board.strokes.map((x) => x.id), ["a"]);
  s = reduce(s, { type: "board", data: { seq: 4, ts: "t", by: "t1", op: { type: "background", image: "u_abcdefgh" } } });
  assert.equal(s.board.background, "u_abcdefgh");
  s = reduce(s, { type: "board", data: { seq: 5, ts: "t", by: "t1", op: { type: "clear" } } });
  assert.deepEqual(s.board.strokes, []);
  assert.equal(s.board.background, "u_abcdefgh", "clear keeps the background");
  s = reduce(s, { type: "stroke_pending", stroke: { id: "p2", by: "s1", tool: "pen", color: "#000000", width: 2, points: [[0, 0]] } });
  s = reduce(s, { type: "stroke_failed", id: "p2" });
  assert.deepEqual(visibleStrokes(s.board), []);
});

test("board_state replaces the board (resume) and keeps my pending strokes", () => {
  let s = run(welcome(), { type: "stroke_pending", stroke: { id: "p9", by: "s1", tool: "pen", color: "#000000", width: 2, points: [[0, 0]] } });
  s = reduce(s, { type: "board_state", data: { seq: 7, background: "/uploads/u_x?exp=1&sig=2", strokes: [] } });
  assert.equal(s.board.seq, 7);
  assert.equal(s.board.background, "/uploads/u_x?exp=1&sig=2");
  assert.deepEqual(visibleStrokes(s.board).map((x) => x.id), ["p9"]);
});

test("ended: learners get the feedback form, media stops", () => {
  let s = run(welcome(), { type: "local", data: { audio: true, video: true, screen: false } }, { type: "ended", data: { by: "t1", feedback: true } });
  assert.equal(s.phase, "ended");
  assert.equal(s.session.state, "ended");
  assert.equal(s.feedback.open, true);
  assert.deepEqual(s.media.local, { audio: false, video: false, screen: false });
  s = reduce(s, { type: "disconnected", reason: "io server disconnect", willReconnect: false });
  assert.equal(s.phase, "ended", "the disconnect after the end is not an error");
});

test("opening the link after the end goes straight to the ended page", () => {
  const s = run({ type: "me", data: { person: { id: "s1", name: "李", role: "learner" }, session: { id: "S", form: "one_to_one", state: "ended" }, feedback_open: true, feedback: null } });
  assert.equal(s.phase, "ended");
  assert.equal(s.feedback.open, true);
  assert.equal(s.feedback.submitted, false);
  const done = run({ type: "me", data: { person: { id: "s1", role: "learner" }, session: { state: "ended" }, feedback_open: true, feedback: { submitted_at: "2026-03-02T12:00:00Z" } } });
  assert.equal(done.feedback.submitted, true);
});

test("connection states: reconnecting after a drop, fatal connect errors, replaced", () => {
  let s = run(welcome(), { type: "disconnected", reason: "transport close", willReconnect: true });
  assert.equal(s.phase, "reconnecting");
  s = reduce(s, { type: "connect_error", code: "network", message: "", fatal: false });
  assert.equal(s.phase, "reconnecting");
  s = reduce(s, welcome({ resumed: true }));
  assert.equal(s.phase, "live");
  assert.equal(s.resumed, true);

  const expired = run({ type: "connect_error", code: "expired", message: "", fatal: true });
  assert.equal(expired.phase, "error");
  assert.equal(expired.error.code, "expired");
  const full = run({ type: "connect_error", code: "full", message: "", fatal: true });
  assert.equal(full.error.code, "full");
  const endedLink = run({ type: "connect_error", code: "ended", message: "", fatal: true });
  assert.equal(endedLink.phase, "ended");
  const replaced = run(welcome(), { type: "replaced" });
  assert.equal(replaced.phase, "error");
  assert.equal(replaced.error.code, "replaced");
  assert.equal(reduce(replaced, welcome()).phase, "error", "a final phase stays final");
});

test("the state stays plain data", () => {
  const s = run(welcome(), { type: "remote", data: { t1: { audio: true, video: true } } });
  assert.deepEqual(structuredClone(s), s);
});

test("a refusal reported twice (ack and error event) shows one notice", () => {
  const notice = (id) => ({ type: "notice", notice: { id, level: "error", key: "error.action", code: "board_full", message: "full" } });
  const s = run(welcome(), notice(1), notice(2));
  assert.equal(s.notices.length, 1);
  const other = reduce(s, { type: "notice", notice: { id: 3, level: "error", key: "error.action", code: "rate_limited", message: "slow" } });
  assert.equal(other.notices.length, 2);
});
