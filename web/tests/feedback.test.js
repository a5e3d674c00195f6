import { test } from "node:test";
import assert from "node:assert/strict";
import { countChars, countParts, composeText, problems, settlementView, points, MIN_CHARS } from "../src/feedback.js";

const LESSON = "这次辅导让我弄懂了二次函数图像的平移规律和配方法";

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
  assert.deepEqual(countParts({ gain: "一二三", reflection: " 四五 ", suggestion: "" }), { n: 5, distinct: 5 });
  assert.deepEqual(countParts({ gain: "好好", reflection: "好" }), { n: 3, distinct: 1 });
  assert.deepEqual(countParts({}), { n: 0, distinct: 0 });
});

test("the minimums, rating and satisfaction", () => {
  const text = (n) => LESSON.repeat(Math.ceil(n / LESSON.length)).slice(0, n);
  const parts = { gain: text(120), reflection: text(60), suggestion: text(19) };
  const form = { rating: 5, satisfaction: "satisfied", parts };
  assert.equal(countParts(parts).n, MIN_CHARS - 1);
  assert.deepEqual(problems(form), ["feedback.need_chars"]);
  const ok = { ...form, parts: { ...parts, suggestion: text(20) } };
  assert.deepEqual(problems(ok), []);
  const spaced = { ...form, parts: { ...parts, suggestion: parts.suggestion + "   \n \u200b\u200b " } };
  assert.deepEqual(problems(spaced), ["feedback.need_chars"], "padding with spaces or zero-width characters does not pass");
  const repeated = { ...form, parts: { gain: "学".repeat(120), reflection: "思".repeat(60), suggestion: "议".repeat(20) } };
  assert.deepEqual(problems(repeated), ["feedback.need_distinct"], "three characters repeated are not a text");
  assert.deepEqual(problems(ok, { min_chars: 300, min_distinct: 5 }), ["feedback.need_chars"], "the server's numbers win");
  assert.deepEqual(problems(repeated, { min_chars: 200, min_distinct: 3 }), []);
  assert.deepEqual(problems({ ...ok, rating: 0 }), ["feedback.need_rating"]);
  assert.deepEqual(problems({ ...ok, rating: 6 }), ["feedback.need_rating"]);
  assert.deepEqual(problems({ ...ok, satisfaction: "meh" }), ["feedback.need_satisfaction"]);
});

test("the settlement as the learner reads it", () => {
  const v = settlementView({
    effective_minutes: 30, time_points: "3.00", duration_points_per_hour: "6.00",
    rating_points_per_hour: { 1: "6.00", 2: "7.00", 3: "8.00", 4: "9.00", 5: "10.00" },
    rating_points: { 1: "3.00", 5: "5.00" }, point_value_cny: "10.00", basis: "presence",
  });
  assert.equal(v.minutes, 30);
  assert.equal(v.timePoints, "3");
  assert.equal(`${v.lowStar}–${v.highStar}`, "6–10");
  assert.equal(v.forRating(5), "5");
  assert.equal(v.pointValue, "10");
  assert.equal(points("6.50"), "6.5");
  assert.equal(settlementView(null), null);
});

test("composed text has headings and skips empty answers", () => {
  const text = composeText({ gain: " 会配方了 ", reflection: "  ", suggestion: "多举例" }, { gain: "收获", reflection: "反思", suggestion: "建议" });
  assert.equal(text, "【收获】\n会配方了\n\n【建议】\n多举例");
  assert.ok(countChars(text) >= countParts({ gain: "会配方了", suggestion: "多举例" }).n, "the server never counts fewer than we do");
});
