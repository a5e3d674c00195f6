import { test } from "node:test";
import assert from "node:assert/strict";
import { tileCaptionKey, waitingKey } from "../src/stage.js";
import { createClient } from "../src/client.js";
import { linkStatus, initialLink } from "../src/presence.js";

// Issue 12, item 2: while the page knows the server is down, a tile claims no camera state.
test("a tile says reconnecting, never camera off, while the server is away", () => {
  const off = { video: false, audioOnly: false, seenVideo: false };
  assert.equal(tileCaptionKey({ ...off, linkDown: false }), "stage.camera_off");
  assert.equal(tileCaptionKey({ ...off, linkDown: true }), "stage.tile_reconnecting");
  assert.equal(tileCaptionKey({ ...off, seenVideo: true, linkDown: false }), "stage.connecting_video");
  assert.equal(tileCaptionKey({ ...off, seenVideo: true, linkDown: true }), "stage.tile_reconnecting");
  assert.equal(tileCaptionKey({ ...off, video: true, linkDown: false }), null);
  assert.equal(tileCaptionKey({ ...off, audioOnly: true, linkDown: false }), null);
  assert.equal(tileCaptionKey({ ...off, video: true, linkDown: true }), "stage.tile_reconnecting");
  // The state videos.js reads it from: the server unreachable past the timeout.
  const long = { phase: "reconnecting", link: { ...initialLink(), lostAt: 1, long: true } };
  assert.equal(linkStatus(long), "server");
});

test("both dictionaries have the neutral tile line", async () => {
  const { readFileSync } = await import("node:fs");
  for (const lang of ["zh-CN", "en"]) {
    const dict = JSON.parse(readFileSync(new URL(`../i18n/${lang}.json`, import.meta.url), "utf8"));
    assert.ok(dict["stage.tile_reconnecting"], lang);
    assert.notEqual(dict["stage.tile_reconnecting"], dict["stage.camera_off"]);
  }
});

// Issue 12, item 5: a decline is told from the server's stage_declined event, even when
// the roster never showed the invitation (one coalesced update); no second notice.
test("createClient: the teacher is told of a decline from stage_declined", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const listeners = new Map();
  const protocol = {
    on: (type, fn) => listeners.set(type, fn),
    me: () => new Promise(() => {}),
    startLocal: async () => ({ denied: null }),
    stopLocal: () => {},
  };
  const client = createClient({ protocol, loadLang: async (l) => l, rememberLang: () => {} });
  const fire = (type, data) => listeners.get(type)(data);
  const person = (id, role, extra = {}) => ({ id, name: id.toUpperCase(), role, present: true, hand: false, stage: false, pen: false, invited: false, media: { audio: false, video: false }, ...extra });
  const caps = { publish: ["audio", "video"], draw: true, grant: true, end: true, report: false };
  const session = { id: "S", title: "课", programme: "tutoring", form: "classroom", state: "live", record: false };
  fire("welcome", { you: person("t1", "instructor"), caps, session, people: [person("t1", "instructor"), person("s1", "learner")], audience: { learners: 1, listed: true }, board: { seq: 0, strokes: [] }, chat: [], resumed: false, ice_servers: [], recording: { on: false, since: null } });
  // The roster's coalesced update: s1 unchanged (invited and declined within it).
  fire("roster", { added: [], changed: [person("s1", "learner")], removed: [], audience: { learners: 1, listed: true } });
  assert.equal(client.getState().notices.filter((n) => n.key === "notice.declined").length, 0);
  fire("stage_declined", { person: "s1", name: "S1" });
  const told = client.getState().notices.filter((n) => n.key === "notice.declined");
  assert.equal(told.length, 1);
  assert.deepEqual(told[0].params, { name: "S1" });
  // The roster's invited going away later tells nothing more.
  fire("roster", { added: [], changed: [person("s1", "learner", { invited: true })], removed: [], audience: { learners: 1, listed: true } });
  fire("roster", { added: [], changed: [person("s1", "learner")], removed: [], audience: { learners: 1, listed: true } });
  assert.equal(client.getState().notices.filter((n) => n.key === "notice.declined").length, 1);
  t.mock.timers.runAll();
});

// Issue 12, item 7: no developer English and no needless error after the end.
test("createClient: a command refused as ended after the end tells nothing", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const listeners = new Map();
  const never = () => new Promise(() => {});
  const protocol = new Proxy({ on: (type, fn) => listeners.set(type, fn), startLocal: async () => ({ denied: null }), stopLocal: () => {} }, {
    get: (target, key) => (key in target ? target[key] : never),
  });
  const client = createClient({ protocol, loadLang: async (l) => l, rememberLang: () => {} });
  const fire = (type, data) => listeners.get(type)(data);
  const me = { id: "s1", name: "S1", role: "learner", present: true, hand: false, stage: false, pen: false, media: { audio: false, video: false } };
  const session = { id: "S", title: "课", programme: "tutoring", form: "one_to_one", state: "live", record: false };
  fire("welcome", { you: me, caps: { publish: ["audio", "video"], draw: true, grant: false, end: false, report: false }, session, people: [me], audience: { learners: 1, listed: true }, board: { seq: 0, strokes: [] }, chat: [], resumed: false, ice_servers: [], recording: { on: false, since: null } });
  fire("ended", { by: "t1", feedback: true });
  fire("server_error", { event: "media", code: "ended", message: "this session has ended" });
  fire("server_error", { event: "ice", code: "stale", message: "this connection was replaced by a newer one" });
  assert.equal(client.getState().notices.filter((n) => n.level === "error").length, 0);
  fire("server_error", { event: "chat", code: "forbidden", message: "no" });
  assert.equal(client.getState().notices.filter((n) => n.level === "error").length, 1);
  t.mock.timers.reset();
});

test("the waiting line says the teacher stepped away when they were here, as the pill does", () => {
  assert.equal(waitingKey("classroom", "learner", false), "stage.waiting_teacher");
  assert.equal(waitingKey("classroom", "learner", true), "stage.teacher_away");
  assert.equal(waitingKey("one_to_one", "observer", true), "stage.teacher_away");
  assert.equal(waitingKey("one_to_one", "instructor", true), "stage.waiting_others");
  assert.equal(waitingKey("review", "learner", true), "stage.waiting_reviewers");
});
