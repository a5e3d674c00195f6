// A supervisor's read-only page (issue 16): the role is read from the link's token
// before anything is asked of the server, and the welcome of an observer keeps the
// page read-only; the Now page's 旁听 opens its tab inside the click.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, reduce, roleOfToken } from "../src/client.js";
import { observeSession } from "../src/console/now.js";

function tokenWith(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
}

test("the role of a join token, or null", () => {
  assert.equal(roleOfToken(tokenWith({ role: "observer", name: "督导" })), "observer");
  assert.equal(roleOfToken(tokenWith({ role: "learner" })), "learner");
  for (const bad of ["", "x", "a.b.c", null, "a.!!!.c", tokenWith(["role"])]) assert.equal(roleOfToken(bad), null);
});

test("an observer's welcome makes the page read-only", () => {
  const welcome = { you: { id: "~tz-office", name: "tz-office", role: "observer" }, caps: { publish: [], draw: false }, session: { form: "lecture" }, people: [{ id: "t1", role: "instructor" }] };
  const s = reduce(initialState(), { type: "welcome", data: welcome });
  assert.equal(s.observer, true);
  assert.deepEqual(s.caps.publish, []);
  const learner = reduce(initialState(), { type: "welcome", data: { ...welcome, you: { id: "s1", role: "learner" } } });
  assert.equal(learner.observer, false);
  // No feedback form for an observer when the session ends.
  const ended = reduce(s, { type: "ended", data: { feedback: true } });
  assert.equal(ended.feedback.open, null);
});

test("旁听 opens the tab first, then sends it to the link; a refusal closes it", async () => {
  const tab = { opener: "console", closed: false, location: { replace(url) { tab.url = url; } }, close() { tab.closed = true; } };
  const opened = [];
  const open = (url) => (opened.push(url), tab);
  const ok = { post: async (path) => ({ join_url: `http://x/join?token=t&for=${path}` }) };
  await observeSession(ok, "s_1", { open });
  assert.deepEqual(opened, ["about:blank"]);
  assert.equal(tab.opener, null);
  assert.equal(tab.url, "http://x/join?token=t&for=/api/v1/live/s_1/observe");
  const errors = [];
  const refused = { post: async () => { throw Object.assign(new Error("no such session"), { kind: "not_found" }); } };
  await observeSession(refused, "s_2", { open, failed: (e) => errors.push(e.kind) });
  assert.equal(tab.closed, true);
  assert.deepEqual(errors, ["not_found"]);
});
