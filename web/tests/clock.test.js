import { test } from "node:test";
import assert from "node:assert/strict";
import { countedLine, elapsedAt, endWarning, formatElapsed, hasCounts, reasonKey, WHY_NOT } from "../src/clock.js";
import { reduce, initialState } from "../src/client.js";

const teacher = { started_at: "2024-03-06T10:00:00Z", elapsed_s: 600, counted_minutes: 8, meets_minimum: false, min_minutes: 10, max_minutes: 60, counting: true, why_not: null, final: false };
const learner = { started_at: "2024-03-06T10:00:00Z", elapsed_s: 600, counted_minutes: null, meets_minimum: null, min_minutes: 10, max_minutes: 60, counting: null, why_not: null, final: false };

test("elapsed time is worded as a clock", () => {
  assert.deepEqual([0, 59, 60, 605, 3599, 3600, 3725, -4, "x"].map(formatElapsed), ["0:00", "0:59", "1:00", "10:05", "59:59", "1:00:00", "1:02:05", "0:00", "0:00"]);
});

test("elapsed ticks from the server's figure, not the laptop's clock", () => {
  const c = { ...teacher, at: 1_000_000 };
  assert.equal(elapsedAt(c, 1_000_000), 600);
  assert.equal(elapsedAt(c, 1_065_400), 665);
  assert.equal(elapsedAt(c, 900_000), 600); // a clock stepping back never goes negative
  assert.equal(elapsedAt({ ...c, final: true }, 2_000_000), 600); // ended: stays
  assert.equal(elapsedAt({ ...c, started_at: null, elapsed_s: 0 }, 2_000_000), 0);
  assert.equal(elapsedAt(null, 5), 0);
});

test("the end dialog warns below the form's minimum only", () => {
  assert.deepEqual(endWarning(teacher), { counted: 8, min: 10 });
  assert.equal(endWarning({ ...teacher, counted_minutes: 10, meets_minimum: true }), null);
  assert.equal(endWarning({ ...teacher, min_minutes: null }), null); // tutoring: no minimum
  assert.equal(endWarning(learner), null); // no counted figures: nothing to warn of
  assert.equal(endWarning({ ...teacher, final: true }), null);
  assert.equal(endWarning(null), null);
  assert.deepEqual(endWarning({ ...teacher, counted_minutes: 0, min_minutes: 60 }), { counted: 0, min: 60 });
});

test("the counted line names the minimum until reached, then the maximum", () => {
  assert.deepEqual(countedLine(teacher), { key: "clock.counted_min", params: { counted: 8, min: 10 } });
  assert.deepEqual(countedLine({ ...teacher, counted_minutes: 25 }), { key: "clock.counted_max", params: { counted: 25, max: 60 } });
  assert.deepEqual(countedLine({ ...teacher, min_minutes: null, max_minutes: null }), { key: "clock.counted", params: { counted: 8 } });
  assert.equal(countedLine(learner), null);
  assert.equal(hasCounts(learner), false);
});

test("every why-not code has its key; an unknown one is worded generically", () => {
  for (const code of WHY_NOT) assert.equal(reasonKey(code), `clock.why.${code}`);
  assert.equal(reasonKey("from_a_newer_server"), "clock.why.not_effective");
});

test("the reducer keeps the clock with the moment it arrived", () => {
  const s = reduce(initialState(), { type: "clock", data: teacher, at: 42 });
  assert.deepEqual(s.clock, { ...teacher, at: 42 });
  assert.equal(reduce(s, { type: "clock", data: null, at: 43 }), s);
});
