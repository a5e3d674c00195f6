import { test } from "node:test";
import assert from "node:assert/strict";
import { reduce, initialState, newerMarks } from "../src/client.js";
import { markProblems } from "../src/ui/marks.js";

const mark = (at, subject = "数学") => ({ problem: "配方", subject, knowledge_point: "二次函数", marked_at: at, by: "t1" });

test("GET /me brings the text rules, the report state and the marks", () => {
  const rules = { min_chars: 200, min_distinct: 20, window_hours: 168, window_end: null };
  const s = reduce(initialState(), {
    type: "me",
    data: { person: { id: "t1", role: "instructor" }, session: { id: "S", programme: "tutoring", state: "live" }, feedback_open: false, feedback: null, feedback_rules: rules, report_rules: null, marks: { s1: mark("2026-03-02T10:00:00.000Z") } },
  });
  assert.deepEqual(s.feedback.rules, rules);
  assert.equal(s.report.rules, null);
  assert.equal(s.marks.items.s1.subject, "数学");
});

test("a saved mark replaces the learner's earlier one; a failure keeps it", () => {
  let s = reduce(initialState(), { type: "mark_saving", learner: "s1" });
  assert.equal(s.marks.saving.s1, true);
  s = reduce(s, { type: "mark_saved", mark: { learner: "s1", ...mark("2026-03-02T10:00:00.000Z") } });
  assert.equal(s.marks.saving.s1, false);
  s = reduce(s, { type: "mark_saved", mark: { learner: "s1", ...mark("2026-03-02T10:05:00.000Z", "物理") } });
  assert.equal(s.marks.items.s1.subject, "物理");
  s = reduce(s, { type: "mark_failed", learner: "s1", error: { code: "closed", message: "closed" } });
  assert.equal(s.marks.items.s1.subject, "物理");
  assert.equal(s.marks.errors.s1.code, "closed");
});

test("the later mark wins when a save crosses a fetch", () => {
  const mine = { s1: mark("2026-03-02T10:05:00.000Z", "物理") };
  assert.equal(newerMarks(mine, { s1: mark("2026-03-02T10:00:00.000Z") }).s1.subject, "物理");
  assert.equal(newerMarks(mine, { s1: mark("2026-03-02T10:06:00.000Z", "化学") }).s1.subject, "化学");
  assert.deepEqual(Object.keys(newerMarks(mine, { s2: mark("x") })).sort(), ["s1", "s2"]);
});

test("each field of a mark needs visible text", () => {
  assert.deepEqual(markProblems({ subject: "数学", knowledge_point: "函数", problem: "配方" }), []);
  assert.deepEqual(markProblems({ subject: "\u200b", knowledge_point: "  ", problem: "x" }), ["subject", "knowledge_point"]);
  assert.deepEqual(markProblems(null), ["subject", "knowledge_point", "problem"]);
});

test("the settlement arrives once, or its error", () => {
  let s = reduce(initialState(), { type: "settlement", data: { effective_minutes: 30 } });
  assert.equal(s.settlement.data.effective_minutes, 30);
  s = reduce(s, { type: "settlement", error: { code: "uncomputable", message: "x" } });
  assert.equal(s.settlement.data, null);
  assert.equal(s.settlement.error.code, "uncomputable");
});
