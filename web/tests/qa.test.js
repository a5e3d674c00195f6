import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { KNOWN_ERRORS, STATES, canSend, clock, errorLine, stateKey, voiceLeft, voiceMime } from "../src/qa/model.js";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const zh = JSON.parse(readFileSync(join(web, "i18n/zh-CN.json"), "utf8"));

test("every state and known refusal has words in both languages", () => {
  for (const s of STATES) assert.ok(zh[stateKey(s)], s);
  for (const code of KNOWN_ERRORS) assert.ok(zh[errorLine({ code })[0]], code);
  assert.equal(stateKey("weird"), "qa.state.open");
});

test("a refusal the page does not know shows the server's message", () => {
  assert.deepEqual(errorLine({ code: "rate_limited", message: "slow down" }), ["qa.error.other", { message: "slow down" }]);
  assert.equal(errorLine(null)[0], "qa.error.offline");
  assert.equal(errorLine({ code: "too_large" }, { max_photo_bytes: 4194304 })[1].mib, 4);
});

test("voice note: time left, clock and the format asked for", () => {
  assert.equal(voiceLeft(0, 120), 120);
  assert.equal(voiceLeft(119_500, 120), 1);
  assert.equal(voiceLeft(200_000, 120), 0);
  assert.equal(clock(65), "1:05");
  assert.equal(voiceMime((m) => m === "audio/webm"), "audio/webm");
  assert.equal(voiceMime((m) => m.startsWith("audio/webm;codecs=opus")), "audio/webm;codecs=opus");
  assert.equal(voiceMime(() => false), "");
});

test("a post needs text or a file, within the bound", () => {
  assert.equal(canSend("", 0, 10), false);
  assert.equal(canSend("  ", 0, 10), false);
  assert.equal(canSend("", 1, 10), true);
  assert.equal(canSend("问题", 0, 10), true);
  assert.equal(canSend("x".repeat(11), 0, 10), false);
});
