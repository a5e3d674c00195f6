import { test } from "node:test";
import assert from "node:assert/strict";
import { wantedReceivers, tracksByPerson, Protocol } from "../src/protocol.js";

test("an offer always receives at least one audio and one video track", () => {
  assert.deepEqual(wantedReceivers([]), { audio: 1, video: 1 });
  assert.deepEqual(wantedReceivers(undefined), { audio: 1, video: 1 });
  const streams = [
    { person: "t1", kind: "audio" }, { person: "t1", kind: "video" },
    { person: "s2", kind: "audio" }, { person: "s2", kind: "video" }, { person: "s3", kind: "audio" },
  ];
  assert.deepEqual(wantedReceivers(streams), { audio: 3, video: 2 });
});

test("the mid map groups by person", () => {
  const byPerson = tracksByPerson({ 2: { person: "t1", kind: "audio" }, 3: { person: "t1", kind: "video" }, 4: { person: "s2", kind: "audio" }, 5: null });
  assert.deepEqual(Object.keys(byPerson).sort(), ["s2", "t1"]);
  assert.deepEqual(byPerson.t1.map((x) => x.kind).sort(), ["audio", "video"]);
});

test("signed picture URLs are used as they are; bare upload ids are not fetchable", () => {
  const p = new Protocol({ token: "a.b.c", origin: "https://tutor.example", env: {} });
  assert.equal(p.mediaUrl("u_abcdefgh"), null);
  assert.equal(p.mediaUrl("/uploads/u_x?exp=1&sig=2"), "/uploads/u_x?exp=1&sig=2");
  assert.equal(p.mediaUrl(null), null);
});

test("HTTP errors carry the server's code and field", async () => {
  const env = { fetch: async () => ({ ok: false, status: 400, json: async () => ({ error: { code: "too_short", message: "text", field: "text" } }) }) };
  const p = new Protocol({ token: "t", origin: "", env });
  await assert.rejects(p.feedback({}), (err) => err.status === 400 && err.code === "too_short" && err.field === "text");
  const offline = new Protocol({ token: "t", origin: "", env: { fetch: async () => { throw new TypeError("down"); } } });
  await assert.rejects(offline.me(), (err) => err.code === "network");
});
