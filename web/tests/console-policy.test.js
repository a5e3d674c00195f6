import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { setDictionary } from "../src/i18n.js";
import { changeText, fieldValue, pathLabel } from "../src/console/policy-edit.js";

test("policy fields: empty removes, decimals stay exact text, whole numbers are numbers", () => {
  assert.equal(fieldValue(" ", false), null);
  assert.equal(fieldValue("6.5", false), "6.5");
  assert.equal(fieldValue("60", false), 60);
  assert.equal(fieldValue(true, true), true);
});

test("a diff entry in Chinese words", async () => {
  setDictionary("zh-CN", JSON.parse(await readFile(new URL("../i18n/console.zh-CN.json", import.meta.url), "utf8")));
  assert.equal(pathLabel("forms.lecture.min_viewers"), "名师直播讲堂 · 最少同时观看人数");
  assert.equal(changeText({ path: "forms.lecture.min_viewers", old: 1, new: 2 }), "名师直播讲堂 · 最少同时观看人数：1 → 2");
  assert.equal(changeText({ path: "holidays.2026-11-20", old: null, new: "校庆日" }), "节假日 2026-11-20：（无） → 校庆日");
  assert.equal(changeText({ path: "terms.2026-autumn.end", old: "2027-01-22", new: "2027-01-29" }), "学期 2026-autumn · 结束：2027-01-22 → 2027-01-29");
  assert.equal(pathLabel("supervision.unknown_thing"), "督导阈值 · unknown_thing");
});
