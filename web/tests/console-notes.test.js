import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { noteText } from "../src/console/summary.js";
import { format } from "../src/i18n.js";

const zh = JSON.parse(readFileSync(new URL("../i18n/console.zh-CN.json", import.meta.url), "utf8"));
const translate = (key, params) => (key in zh ? format(zh[key], params) : undefined);

test("a credits note is said from its code, a coded param first", () => {
  assert.equal(noteText({ code: "outside_open_hours", params: { minutes: 12 } }, "outside open hours: 12 min", translate),
    "开放时间以外：12 分钟");
  const feedback = { code: "feedback_no_study_hours", params: { problem: { code: "problem.feedback_too_short", params: { min: 200, has: 3 } } } };
  assert.equal(noteText(feedback, "…", translate), "反馈至少需要 200 个可见字符（现有 3 个）：不计学时");
  const cap = { code: "form_cap", params: { n: 2, form: { code: "form.lecture", params: {} } } };
  assert.equal(noteText(cap, "second lecture this term: no points", translate), "本学期第 2 场名师直播讲堂：不计积分");
});

test("without a code, or with one this console does not know, the engine's words", () => {
  assert.equal(noteText(undefined, "outside open hours: 12 min", translate), "outside open hours: 12 min");
  assert.equal(noteText({ code: "rule_of_2030", params: {} }, "a rule of 2030", translate), "a rule of 2030");
  const unknownInner = { code: "feedback_not_valid", params: { problem: { code: "problem.new", params: {} } } };
  assert.equal(noteText(unknownInner, "new problem: not valid", translate), "new problem: not valid");
  assert.equal(noteText({ code: "text", params: { text: "as written" } }, "as written", translate), "as written");
  assert.equal(noteText("junk", "words", translate), "words");
});
