// The page's recording state is the server's word: known only from a welcome or a
// `recording` event on the current connection, unknown while (re)connecting, and
// people are told when the server resumed it by itself or could not start it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reduce, initialState, recordingNotice } from "../src/client.js";

const welcome = (recording) => ({
  type: "welcome",
  data: {
    you: { id: "s1", role: "learner" }, caps: {}, people: [], board: null, chat: [], resumed: false,
    session: { id: "S", state: "live", record: false }, recording,
  },
});
const ON = { on: true, since: "2026-03-02T10:00:00.000Z" };

test("unknown before the first welcome, known from it", () => {
  const s0 = initialState();
  assert.equal(s0.recordingKnown, false);
  const s = reduce(s0, welcome(ON));
  assert.equal(s.recordingKnown, true);
  assert.equal(s.recording.on, true);
});

test("a dropped socket makes the state unknown until the server says it again", () => {
  let s = reduce(initialState(), welcome(ON));
  s = reduce(s, { type: "disconnected", reason: "transport close", willReconnect: true });
  assert.equal(s.phase, "reconnecting");
  assert.equal(s.recordingKnown, false, "no 录制中 as if known during the outage");
  s = reduce(s, { type: "connecting", attempt: 3 });
  assert.equal(s.recordingKnown, false);
  // The server restarted and the teacher had turned it off: the welcome is the truth.
  s = reduce(s, welcome({ on: false, since: null }));
  assert.equal(s.recordingKnown, true);
  assert.equal(s.recording.on, false);
});

test("a recording event is the server's word too; the end makes it off and known", () => {
  let s = reduce(initialState(), welcome({ on: false, since: null }));
  s = reduce(s, { type: "connecting", attempt: 1 });
  s = reduce(s, { type: "recording", data: ON });
  assert.deepEqual([s.recording.on, s.recordingKnown], [true, true]);
  s = reduce(s, { type: "ended", data: { by: "t1", feedback: true } });
  assert.deepEqual([s.recording.on, s.recordingKnown], [false, true]);
});

test("notices: resumed and failed from the server's reason, changes on a rejoin", () => {
  const off = { on: false, since: null };
  assert.deepEqual(recordingNotice(off, { ...ON, reason: "resumed" }, false), { level: "info", key: "recording.resumed" });
  assert.deepEqual(recordingNotice(ON, { ...ON, reason: "resumed" }, true), { level: "info", key: "recording.resumed" });
  assert.deepEqual(recordingNotice(off, { on: false, since: null, reason: "failed" }, false), { level: "error", key: "recording.failed" });
  // A first welcome says nothing beyond the badge (the join page already said it).
  assert.equal(recordingNotice(off, ON, false), null);
  // Back after an outage: what changed meanwhile is said.
  assert.deepEqual(recordingNotice(ON, off, true), { level: "info", key: "recording.stopped" });
  assert.deepEqual(recordingNotice(off, ON, true), { level: "info", key: "recording.started" });
  assert.equal(recordingNotice(ON, ON, true), null);
});
