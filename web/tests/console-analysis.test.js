// The Analysis page's pure helpers: its URLs, the axis top and the chart geometry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analysisFilters, analysisUrl, analysisCsvUrl, niceMax, pct, barLayout, lineLayout } from "../src/console/analysis.js";

test("filters: known keys, trimmed, empties dropped; JSON and CSV share them", () => {
  assert.deepEqual(analysisFilters({ term: " 2026-autumn ", district: "", subject: "数学", top: "3" }), { term: "2026-autumn", subject: "数学" });
  assert.equal(analysisUrl({ subject: "数学", term: "2026-autumn" }), "/api/v1/reports/analysis?term=2026-autumn&subject=%E6%95%B0%E5%AD%A6");
  assert.equal(analysisCsvUrl({ district: "110112" }), "/api/v1/reports/analysis.csv?district=110112");
  assert.equal(analysisUrl({}), "/api/v1/reports/analysis");
});

test("axis tops are 1, 2, 5 × 10^k", () => {
  assert.deepEqual([0, 1, 3, 7, 10, 11, 48, 120].map(niceMax), [1, 1, 5, 10, 10, 20, 50, 200]);
  assert.equal(pct(0.6667), "66.7%");
  assert.equal(pct(1), "100.0%");
});

test("bars: the longest is scaled to the axis top, an empty one stays empty", () => {
  const { rows, top, height } = barLayout([{ label: "a", value: 5 }, { label: "b", value: 1 }, { label: "c", value: 0 }], { width: 300, labelWidth: 100, valueWidth: 0, bar: 10, gap: 5 });
  assert.equal(top, 5);
  assert.deepEqual(rows.map((r) => [r.x, r.y, r.w]), [[100, 0, 200], [100, 15, 40], [100, 30, 0]]);
  assert.equal(height, 40);
});

test("lines: one point per week, 0 on the baseline, the top at the axis top", () => {
  const l = lineLayout([{ label: "数学", values: [0, 2, 1] }], { width: 120, height: 60, left: 20, right: 0, top: 0, bottom: 10 });
  assert.equal(l.max, 2);
  assert.deepEqual(l.xs, [20, 70, 120]);
  assert.equal(l.lines[0].points, "20,50 70,0 120,25");
  const one = lineLayout([{ label: "x", values: [3] }], { width: 120, height: 60, left: 20, right: 0, top: 0, bottom: 10 });
  assert.deepEqual(one.xs, [70]); // a single week sits in the middle
});
