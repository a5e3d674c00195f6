import { test } from "node:test";
import assert from "node:assert/strict";
import { byTeacher, clockAt, dayLine, lengthChoices, offerState, placesLeft, refusal, startChoices } from "../src/booking/model.js";

const day = { date: "2026-09-21", weekday: 0, windows: [{ from: "18:00", to: "22:00", start: 1000, end: 1000 + 4 * 3600 }] };

test("start choices fit the window and lie ahead", () => {
  const all = startChoices(day, 30, 0);
  assert.equal(all[0].label, "18:00");
  assert.equal(all[0].value, 1000);
  assert.equal(all.at(-1).label, "21:30"); // 21:30 + 30 min ends at 22:00
  assert.equal(all[1].value, 1000 + 600);
  const later = startChoices(day, 60, 1000 + 3600);
  assert.equal(later[0].label, "19:10"); // 19:00 itself is not ahead
  assert.deepEqual(startChoices(day, 300, 0), []);
  assert.deepEqual(startChoices(undefined, 30, 0), []);
});

test("lengths from the policy's limits", () => {
  assert.deepEqual(lengthChoices({ one_to_one: [10, 60] }, "one_to_one"), [10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
  assert.deepEqual(lengthChoices({ review: [45, 120] }, "review"), [45, 60, 75, 90, 105, 120]);
  assert.deepEqual(lengthChoices({ lecture: [60, 90] }, "lecture"), [60, 65, 70, 75, 80, 85, 90]);
});

test("a day's words", () => {
  assert.deepEqual(dayLine("2026-09-21", 0), ["booking.date", { month: "booking.month.9", d: 21, weekday: "booking.weekday.0" }]);
});

test("an offer's state for its viewer", () => {
  const o = { start_s: 10_000, minutes: 30, state: "open", join_opens_s: 9400, cancel_until_s: 6400, time: "19:00" };
  assert.deepEqual(offerState(o, 5000), { key: "soon", join: false, cancel: true, opensAt: 9400 });
  assert.equal(offerState(o, 7000).cancel, false); // past the cut-off
  assert.equal(offerState(o, 9400).key, "live");
  assert.equal(offerState({ ...o, session_id: "s_1" }, 5000).cancel, false); // room open
  assert.equal(offerState(o, 10_000 + 1800).key, "over");
  assert.equal(offerState({ ...o, state: "cancelled" }, 5000).key, "cancelled");
  assert.equal(clockAt(o, 9400), "18:50");
  assert.equal(clockAt({ ...o, time: "00:05" }, 9400), "23:55");
});

test("places, groups and refusals", () => {
  assert.equal(placesLeft({ capacity: 30, booked: 28 }), 2);
  assert.equal(placesLeft({ capacity: 1, booked: 1 }), 0);
  const groups = byTeacher([{ id: "a", teacher: { id: "t1" } }, { id: "b", teacher: { id: "t2" } }, { id: "c", teacher: { id: "t1" } }]);
  assert.deepEqual(groups.map((g) => g.offers.map((o) => o.id)), [["a", "c"], ["b"]]);
  assert.deepEqual(refusal({ code: "full", capacity: 2 }), ["booking.refused.full", { min: "", max: "", capacity: 2, minutes: "", days: "" }]);
  assert.equal(refusal({ code: "new_thing" })[0], "booking.refused.other");
  assert.equal(refusal(null)[0], "booking.refused.other");
});
