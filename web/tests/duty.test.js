import { test } from "node:test";
import assert from "node:assert/strict";
import { callLine, refusal, ringLeft, whyListed } from "../src/duty/model.js";

test("why a teacher is listed first, in the order of the sort", () => {
  const why = whyListed({ reasons: ["subject", "grade", "rated", "nobody_waiting"], rating: 4.75, waiting: 0 }, "math", "8");
  assert.deepEqual(why.map(([k]) => k), ["duty.why.subject", "duty.why.grade", "duty.why.rated", "duty.why.nobody_waiting"]);
  assert.equal(why[2][1].rating, "4.8");
  assert.deepEqual(whyListed({ reasons: ["unrated", "waiting"], waiting: 2 }, "", "")[1], ["duty.why.waiting", { n: 2 }]);
});

test("a call's line for the student", () => {
  assert.deepEqual(callLine({ state: "queued", position: 2, teacher_name: "王老师" }), ["duty.call.queued", { name: "王老师", n: 2 }]);
  assert.equal(callLine({ state: "cancelled", reason: "teacher_away" })[0], "duty.call.teacher_left");
  assert.equal(callLine({ state: "cancelled", reason: "student" })[0], "duty.call.cancelled");
  assert.equal(callLine(null), null);
});

test("refusals name the reason, closed ones with today's hours", () => {
  assert.deepEqual(refusal({ code: "closed", open: { reason: "outside_hours", today: ["18:00–21:00"] } }), ["duty.closed.outside_hours_hours", { hours: "18:00–21:00" }]);
  assert.equal(refusal({ code: "closed", open: { reason: "out_of_term", today: [] } })[0], "duty.closed.out_of_term");
  assert.equal(refusal({ code: "busy" })[0], "duty.refused.busy");
  assert.equal(refusal({ code: "something_new" })[0], "duty.refused.other");
});

test("the ring count-down", () => {
  assert.equal(ringLeft({ ring_left_s: 30 }, 1000, 1000), 30);
  assert.equal(ringLeft({ ring_left_s: 30 }, 1000, 11_500), 20);
  assert.equal(ringLeft({ ring_left_s: 5 }, 0, 60_000), 0);
});
