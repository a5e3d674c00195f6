import { test } from "node:test";
import assert from "node:assert/strict";
import {
  emptyBoard, applyBoardEvent, applyBoardState, addPending, visibleStrokes, lastStrokeBy,
  simplify, splitPoints, newStrokeId, roundPoint, MAX_POINTS,
} from "../src/whiteboard.js";

const ev = (seq, by, op) => ({ seq, ts: "2026-03-02T10:00:00Z", by, op });
const stroke = (id, extra = {}) => ({ type: "stroke", id, tool: "pen", color: "#1f2933", width: 4, points: [[0.1, 0.2], [0.3, 0.4]], ...extra });
const ids = (b) => visibleStrokes(b).map((s) => s.id);

test("ops in server order give the visible strokes", () => {
  let b = emptyBoard();
  b = applyBoardEvent(b, ev(1, "t1", stroke("a")));
  b = applyBoardEvent(b, ev(2, "s1", stroke("b", { tool: "eraser", width: 28 })));
  b = applyBoardEvent(b, ev(3, "t1", stroke("c")));
  assert.deepEqual(ids(b), ["a", "b", "c"]);
  assert.equal(b.strokes[1].tool, "eraser");
  assert.equal(b.strokes[1].by, "s1");
  b = applyBoardEvent(b, ev(4, "t1", { type: "undo", id: "a" }));
  assert.deepEqual(ids(b), ["b", "c"]);
  b = applyBoardEvent(b, ev(5, "t1", { type: "clear" }));
  assert.deepEqual(ids(b), []);
  b = applyBoardEvent(b, ev(6, "s1", stroke("d")));
  assert.deepEqual(ids(b), ["d"]);
  assert.equal(b.seq, 6);
});

test("late or repeated ops are ignored; unknown ops only advance seq", () => {
  let b = applyBoardEvent(emptyBoard(), ev(1, "t1", stroke("a")));
  assert.equal(applyBoardEvent(b, ev(1, "t1", stroke("x"))), b);
  assert.equal(applyBoardEvent(b, { seq: "2", op: stroke("x") }), b);
  b = applyBoardEvent(b, ev(2, "t1", { type: "laser" }));
  assert.deepEqual(ids(b), ["a"]);
  assert.equal(b.seq, 2);
});

test("my stroke shows at once and is confirmed by the echo", () => {
  let b = addPending(emptyBoard(), { ...stroke("mine"), by: "s1" });
  assert.deepEqual(ids(b), ["mine"]);
  b = applyBoardEvent(b, ev(1, "t1", stroke("other")));
  assert.deepEqual(ids(b), ["other", "mine"], "pending strokes draw on top until confirmed");
  b = applyBoardEvent(b, ev(2, "s1", stroke("mine")));
  assert.deepEqual(ids(b), ["other", "mine"]);
  assert.equal(b.pending.length, 0);
  assert.equal(lastStrokeBy(b, "s1"), "mine");
  assert.equal(lastStrokeBy(b, "t1"), "other");
  assert.equal(lastStrokeBy(b, "nobody"), null);
});

test("a clear does not remove strokes the server has not sequenced yet", () => {
  let b = addPending(applyBoardEvent(emptyBoard(), ev(1, "t1", stroke("a"))), { ...stroke("p"), by: "s1" });
  b = applyBoardEvent(b, ev(2, "t1", { type: "clear" }));
  assert.deepEqual(ids(b), ["p"]);
});

test("board_state (late join, resume) is taken as is, with by and seq", () => {
  const b = applyBoardState(emptyBoard(), {
    seq: 9, background: "/uploads/u_12345678?exp=1&sig=x",
    strokes: [{ ...stroke("k"), by: "t1", seq: 8 }],
  });
  assert.equal(b.seq, 9);
  assert.equal(b.strokes[0].by, "t1");
  assert.equal(b.background, "/uploads/u_12345678?exp=1&sig=x");
  const next = applyBoardEvent(b, ev(10, "t1", { type: "background", image: null }));
  assert.equal(next.background, null);
});

test("points: rounding, simplification, splitting at the server's limit", () => {
  assert.deepEqual(roundPoint(0.123456, 1.7), [0.1235, 1]);
  assert.deepEqual(roundPoint(-0.2, 0.5), [0, 0.5]);
  const dense = Array.from({ length: 100 }, (_, i) => [i / 100000, 0]);
  const s = simplify(dense);
  assert.ok(s.length < 10);
  assert.deepEqual(s[0], dense[0]);
  assert.deepEqual(s[s.length - 1], dense[99]);
  const long = Array.from({ length: 4500 }, (_, i) => [i / 4500, 0.5]);
  const parts = splitPoints(long);
  assert.ok(parts.every((p) => p.length <= MAX_POINTS && p.length >= 1));
  assert.deepEqual(parts[0][parts[0].length - 1], parts[1][0], "pieces join without a gap");
  assert.deepEqual(parts.at(-1).at(-1), long.at(-1));
  assert.deepEqual(splitPoints([[0, 0]]), [[[0, 0]]]);
});

test("stroke ids match the server's pattern and do not repeat", () => {
  const seen = new Set();
  for (let i = 0; i < 500; i += 1) {
    const id = newStrokeId();
    assert.match(id, /^[A-Za-z0-9_-]{1,40}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 500);
});
