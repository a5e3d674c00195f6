import { test } from "node:test";
import assert from "node:assert/strict";
import { countChars, countParts, composeText, problems, MIN_CHARS } from "../src/feedback.js";

test("whitespace does not count; Chinese, letters, digits and punctuation do", () => {
  assert.equal(countChars(""), 0);
  assert.equal(countChars("   \n\t "), 0);
  assert.equal(countChars("收获很大"), 4);
  assert.equal(countChars("收 获\n很大"), 4);
  assert.equal(countChars("a b c"), 3);
  assert.equal(countChars("1+1=2。"), 6);
  assert.equal(countChars("\u3000全角空格\u3000"), 4, "the ideographic space is whitespace too");
  assert.equal(countChars("👍🏻好"), 3, "code points, not UTF-16 units");
  assert.equal(countChars(null), 0);
});

test("the three answers count together", () => {
  assert.equal(countParts({ gain: "一二三", reflection: " 四五 ", suggestion: "" }), 5);
  assert.equal(countParts({}), 0);
});

test("the ≥ 200 rule, rating and satisfaction", () => {
  const parts = { gain: "学".repeat(120), reflection: "思".repeat(60), suggestion: "议".repeat(19) };
  const form = { rating: 5, satisfaction: "satisfied", parts };
  assert.equal(countParts(parts), MIN_CHARS - 1);
  assert.deepEqual(problems(form), ["feedback.need_chars"]);
  const ok = { ...form, parts: { ...parts, suggestion: parts.suggestion + "议" } };
  assert.deepEqual(problems(ok), []);
  const spaced = { ...form, parts: { ...parts, suggestion: parts.suggestion + "   \n  " } };
  assert.deepEqual(problems(spaced), ["feedback.need_chars"], "padding with spaces does not pass");
  assert.deepEqual(problems({ ...ok, rating: 0 }), ["feedback.need_rating"]);
  assert.deepEqual(problems({ ...ok, rating: 6 }), ["feedback.need_rating"]);
  assert.deepEqual(problems({ ...ok, satisfaction: "meh" }), ["feedback.need_satisfaction"]);
});

test("composed text has headings and skips empty answers", () => {
  const text = composeText({ gain: " 会配方了 ", reflection: "  ", suggestion: "多举例" }, { gain: "收获", reflection: "反思", suggestion: "建议" });
  assert.equal(text, "【收获】\n会配方了\n\n【建议】\n多举例");
  assert.ok(countChars(text) >= countParts({ gain: "会配方了", suggestion: "多举例" }), "the server never counts fewer than we do");
});
