import { test } from "node:test";
import assert from "node:assert/strict";
import { reduce, initialState } from "../src/client.js";

test("quality events are kept per person; malformed ones change nothing", () => {
  let s = initialState();
  s = reduce(s, { type: "quality", data: { person: "s1", level: "audio_only", reason: "network" } });
  assert.deepEqual(s.quality.s1, { level: "audio_only", reason: "network" });
  for (const data of [null, {}, { person: "s1", level: "loud" }, { person: 3, level: "full" }]) {
    assert.equal(reduce(s, { type: "quality", data }), s);
  }
  s = reduce(s, { type: "quality", data: { person: "s1", level: "full", reason: "" } });
  assert.equal(s.quality.s1.level, "full");
});

test("data saver is the learner's own choice and a welcome forgets the server's levels", () => {
  let s = reduce(initialState(), { type: "saver", on: true });
  assert.equal(s.saver, true);
  s = reduce(s, { type: "quality", data: { person: "s1", level: "audio_only", reason: "saver" } });
  s = reduce(s, { type: "welcome", data: { you: { id: "s1" }, people: [], caps: {} } });
  assert.deepEqual(s.quality, {});
  assert.equal(s.saver, true);
});
