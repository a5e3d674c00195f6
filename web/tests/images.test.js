import { test } from "node:test";
import assert from "node:assert/strict";
import { fitWithin, keepAsIs, MAX_EDGE } from "../src/images.js";

test("large photos are scaled to at most 1600 px on the long side", () => {
  assert.deepEqual(fitWithin(4032, 3024), { width: 1600, height: 1200, scaled: true });
  assert.deepEqual(fitWithin(3024, 4032), { width: 1200, height: 1600, scaled: true });
  assert.deepEqual(fitWithin(800, 600), { width: 800, height: 600, scaled: false });
  assert.deepEqual(fitWithin(MAX_EDGE, 10), { width: MAX_EDGE, height: 10, scaled: false });
  assert.equal(fitWithin(100000, 1).height, 1);
});

test("small accepted pictures are sent as they are", () => {
  assert.equal(keepAsIs({ type: "image/jpeg", size: 200_000, width: 1200, height: 900 }), true);
  assert.equal(keepAsIs({ type: "image/jpeg", size: 3_000_000, width: 1200, height: 900 }), false);
  assert.equal(keepAsIs({ type: "image/png", size: 100_000, width: 3000, height: 900 }), false);
  assert.equal(keepAsIs({ type: "image/heic", size: 100_000, width: 800, height: 600 }), false);
});
