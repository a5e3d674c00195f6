import { test } from "node:test";
import assert from "node:assert/strict";
import { clock, parseClock, searchQuery, errorKey, startAt } from "../src/lessons/model.js";

test("times shown and typed", () => {
  assert.equal(clock(75.4), "1:15");
  assert.equal(clock(3725), "1:02:05");
  assert.equal(clock(-3), "0:00");
  assert.equal(parseClock("90"), 90);
  assert.equal(parseClock("1:30"), 90);
  assert.equal(parseClock("1：30"), 90);
  assert.equal(parseClock("1:02:03"), 3723);
  assert.ok(Number.isNaN(parseClock("1:75")));
  assert.ok(Number.isNaN(parseClock("abc")));
  assert.ok(Number.isNaN(parseClock("")));
});

test("the search query leaves empty filters out", () => {
  assert.equal(searchQuery({}), "");
  assert.equal(searchQuery({ subject: "math", grade: "8", point: " 函数 ", order: "most_watched" }),
    "subject=math&grade=8&knowledge_point=%E5%87%BD%E6%95%B0&order=most_watched");
});

test("error codes and the start", () => {
  assert.equal(errorKey("too_long"), "lessons.error.too_long");
  assert.equal(errorKey("invalid"), "lessons.error.invalid");
  assert.equal(errorKey("whatever"), "lessons.error.other");
  assert.equal(startAt({ lead_s: 1.5 }, 0), 1.5);
  assert.equal(startAt({ lead_s: 1.5 }, 4), 4);
});
