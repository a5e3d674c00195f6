import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { format, placeholders, pickLang, setDictionary, t, DEFAULT_LANG } from "../src/i18n.js";
import { SATISFACTION, PARTS, RATINGS } from "../src/feedback.js";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const zh = JSON.parse(readFileSync(join(web, "i18n/zh-CN.json"), "utf8"));
const en = JSON.parse(readFileSync(join(web, "i18n/en.json"), "utf8"));

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    // src/console/ is the programme office's console: its own dictionaries
    // (i18n/console.*.json), checked by tests/console.test.js.
    if (p === join(web, "src", "console")) return [];
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".js") ? [p] : [];
  });
}

test("zh-CN and en have exactly the same keys", () => {
  const onlyZh = Object.keys(zh).filter((k) => !(k in en));
  const onlyEn = Object.keys(en).filter((k) => !(k in zh));
  assert.deepEqual(onlyZh, [], "keys missing in en.json");
  assert.deepEqual(onlyEn, [], "keys missing in zh-CN.json");
});

test("both languages use the same {placeholders} and no empty strings", () => {
  for (const key of Object.keys(zh)) {
    assert.deepEqual(placeholders(en[key]), placeholders(zh[key]), key);
    assert.ok(zh[key].trim() && en[key].trim(), `${key} is empty`);
  }
});

test("every key the code names exists", () => {
  const used = new Set();
  const literal = /(?:\bt\(|i18n(?:Title|Placeholder|Aria)?:\s*|(?:titleKey|bodyKey|okKey):\s*|\? |: |, |push\()"([a-z_]+(?:\.[a-z_0-9]+)+)"/g;
  for (const file of sources(join(web, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(literal)) used.add(m[1]);
  }
  // Keys built at run time from a fixed set of values.
  for (const p of ["connecting", "live", "reconnecting", "ended", "error"]) used.add(`status.${p}`);
  for (const f of ["one_to_one", "lecture", "classroom", "review"]) used.add(`form.${f}`);
  for (const tab of ["chat", "people", "report"]) used.add(`tabs.${tab}`);
  for (const tool of ["pen", "eraser"]) used.add(`board.${tool}`);
  for (const i of [0, 1, 2]) used.add(`board.width${i}`);
  for (const r of ["denied", "insecure", "notfound", "busy", "error"]) used.add(`banner.denied.${r}`);
  for (const c of ["no_token", "bad_token", "unknown_session", "expired", "full", "replaced", "disconnected"]) used.add(`error.body.${c}`);
  for (const v of SATISFACTION) used.add(`feedback.satisfaction.${v}`);
  for (const p of PARTS) used.add(`feedback.${p}`).add(`feedback.${p}_hint`);
  for (const n of RATINGS) used.add(`feedback.rating_${n}`);
  const missing = [...used].filter((k) => !(k in zh)).sort();
  assert.deepEqual(missing, []);
  assert.ok(used.size > 100, `found ${used.size} keys in the code`);
});

test("Chinese is the default; t() formats and falls back to the key", () => {
  assert.equal(DEFAULT_LANG, "zh-CN");
  assert.equal(pickLang(null), "zh-CN");
  assert.equal(pickLang("en"), "en");
  assert.equal(pickLang("fr"), "zh-CN");
  setDictionary("zh-CN", zh);
  assert.equal(t("people.summary", { n: 3 }), "在线 3 人");
  assert.equal(t("no.such.key"), "no.such.key");
  assert.equal(format("{a} and {b}", { a: 1 }), "1 and {b}");
});
