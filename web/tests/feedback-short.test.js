// Forms that fit the person (issue 12, item 4): a tutoring student rates what they
// learned and may leave the comment out; training keeps the 200-character answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { feedbackBody, problems } from "../src/feedback.js";

const TUTORING_RULES = { min_chars: 0, min_distinct: 0 }; // GET /api/v1/me in tutoring
const TRAINING_RULES = { min_chars: 200, min_distinct: 20 };
const headings = { gain: "收获", reflection: "反思", suggestion: "建议" };

test("a tutoring student needs only the rating", () => {
  assert.deepEqual(problems({ rating: 0, comment: "" }, TUTORING_RULES, true), ["feedback.need_rating"]);
  assert.deepEqual(problems({ rating: 4, comment: "" }, TUTORING_RULES, true), []);
  assert.deepEqual(problems({ rating: 4, comment: "讲得很清楚" }, TUTORING_RULES, true), []);
  assert.deepEqual(feedbackBody({ rating: 4, comment: "  讲得很清楚 \n" }, headings, true), { rating: 4, text: "讲得很清楚" });
  assert.deepEqual(feedbackBody({ rating: 5, comment: "" }, headings, true), { rating: 5, text: "" }, "no satisfaction, no headings");
});

test("training keeps the rating, the satisfaction and 200 characters", () => {
  const parts = { gain: "", reflection: "", suggestion: "" };
  assert.deepEqual(problems({ rating: 4, satisfaction: "", parts }, TRAINING_RULES), ["feedback.need_satisfaction", "feedback.need_chars"]);
  const body = feedbackBody({ rating: 4, satisfaction: "satisfied", parts: { ...parts, gain: "学到了" } }, headings);
  assert.deepEqual(body, { rating: 4, satisfaction: "satisfied", text: "【收获】\n学到了" });
});
