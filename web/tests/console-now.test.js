// The Now page's pure helpers: a person's media health as badges (words + tone).
import { test } from "node:test";
import assert from "node:assert/strict";
import { healthBadges, formatPct, teacherNames, clock } from "../src/console/now.js";

const talking = { seconds: 10, audio: "voiced", video: "live", fps: 15, receiving: true, loss_pct: 0.4, kbps_in: 600, kbps_out: 400 };

test("a speaking teacher with live video: all green, loss in words", () => {
  const badges = healthBadges(talking);
  assert.deepEqual(badges.map((b) => [b.key, b.tone]), [
    ["now.audio.voiced", "ok"], ["now.video.live", "ok"], ["now.receiving.yes", "ok"], ["now.loss", "ok"],
  ]);
  assert.deepEqual(badges[1].params, { fps: 15 });
  assert.deepEqual(badges[3].params, { pct: "0.4" });
});

test("muted, camera off, not receiving, heavy loss", () => {
  const badges = healthBadges({ ...talking, audio: "silent", video: "camera_off", receiving: false, loss_pct: 12.4 });
  assert.deepEqual(badges.map((b) => [b.key, b.tone]), [
    ["now.audio.silent", "warn"], ["now.video.camera_off", "off"], ["now.receiving.no", "warn"], ["now.loss", "bad"],
  ]);
  assert.equal(badges[3].params.pct, "12");
  assert.equal(healthBadges({ ...talking, loss_pct: 3 })[3].tone, "warn");
});

test("no report: no loss badge; no seconds: one 'no media yet' badge; unknown words are off", () => {
  assert.equal(healthBadges({ ...talking, loss_pct: null }).length, 3);
  assert.deepEqual(healthBadges({ seconds: 0 }).map((b) => b.key), ["now.h.no_samples"]);
  assert.deepEqual(healthBadges(undefined).map((b) => b.key), ["now.h.no_samples"]);
  assert.equal(healthBadges({ ...talking, audio: "bogus" })[0].key, "now.audio.off");
});

test("numbers and names", () => {
  assert.equal(formatPct(2.46), "2.5");
  assert.equal(formatPct(0), "0");
  assert.equal(formatPct(NaN), "—");
  assert.equal(teacherNames({ instructors: [{ id: "t1", name: "王老师" }, { id: "t2", name: "" }] }), "王老师、t2");
  assert.equal(clock("2026-12-04T06:05:09Z"), "14:05:09");
  assert.equal(clock(null), "—");
});
