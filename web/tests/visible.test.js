import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { countChars, countDistinct, visible } from "../src/feedback.js";

// The table's numbers are the server's (recorder/credits/texts.py):
// tests/signaling/test_participant_rules.py checks the same file against Python.
const table = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "visible-chars.json"), "utf8"));

test("the browser counts visible and distinct characters like the server", () => {
  assert.ok(table.length >= 15);
  for (const row of table) {
    assert.equal(countChars(row.text), row.visible, `${row.note}: visible`);
    assert.equal(countDistinct(row.text), row.distinct, `${row.note}: distinct`);
  }
});

test("the refused texts of issue 9", () => {
  assert.equal(countChars("\u200b".repeat(200)), 0, "zero-width spaces are not characters");
  assert.equal(countDistinct("a".repeat(200)), 1);
  assert.equal(countDistinct("👍".repeat(200)), 1);
  assert.deepEqual(visible("ＡＢ"), ["A", "B"], "NFKC first");
});

test("a report counts like feedback, with the report's numbers", async () => {
  const { reportCount } = await import("../src/ui/report.js");
  const rules = { min_chars: 5, min_distinct: 3 };
  assert.equal(reportCount("好好好好好", rules).ok, false, "five of one character");
  assert.equal(reportCount("教学设计好", rules).ok, true);
  assert.equal(reportCount("教 学\u200b设", rules).n, 3);
  assert.equal(reportCount("", null).min, 200, "the shipped policy's number until GET /me answers");
});
