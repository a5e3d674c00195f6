import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BoardTimeline, chatUntil, covered, wanted, segmentUrl, presenterVideo, audioTracks,
  formatTime, lostSpans, manifestUrl, AHEAD_S,
} from "../src/replay-model.js";
import { ReplayClock, TrackPlayer } from "../src/replay-player.js";
import { reduce, initialState } from "../src/client.js";

const stroke = (id, t, seq) => ({ t, seq, by: "t1", op: { type: "stroke", id, tool: "pen", color: "#e03131", width: 4, points: [[0, 0], [1, 1]] } });

test("the board at a moment: ops up to then, including those before the recording", () => {
  const ops = [stroke("early", -30, 1), stroke("a", 2, 2), { t: 5, seq: 3, by: "t1", op: { type: "undo", id: "a" } }, stroke("b", 7, 4), { t: 9, seq: 5, by: "t1", op: { type: "clear" } }];
  const tl = new BoardTimeline(ops);
  assert.deepEqual(tl.at(0).strokes.map((s) => s.id), ["early"]);
  assert.deepEqual(tl.at(3).strokes.map((s) => s.id), ["early", "a"]);
  assert.deepEqual(tl.at(6).strokes.map((s) => s.id), ["early"]);
  const same = tl.at(6);
  assert.equal(tl.at(6.5), same, "no op between: the same board object (no redraw)");
  assert.deepEqual(tl.at(8).strokes.map((s) => s.id), ["early", "b"]);
  assert.deepEqual(tl.at(10).strokes, []);
  assert.deepEqual(tl.at(2.5).strokes.map((s) => s.id), ["early", "a"], "seeking back rebuilds");
});

test("a background op shows its signed url", () => {
  const tl = new BoardTimeline([{ t: 1, seq: 1, by: "t1", op: { type: "background", image: "u_x", url: "/uploads/u_x?exp=1&sig=2" } }]);
  assert.equal(tl.at(0).background, null);
  assert.equal(tl.at(1).background, "/uploads/u_x?exp=1&sig=2");
});

test("chat until a moment", () => {
  const chat = [{ id: "1", t: -5 }, { id: "2", t: 3 }, { id: "3", t: 8 }];
  assert.deepEqual(chatUntil(chat, 3).map((m) => m.id), ["1", "2"]);
  assert.deepEqual(chatUntil(chat, -10), []);
});

test("segments: coverage with holes, and only what plays next is wanted", () => {
  const segs = [[1, 0.2, 10.1], [2, 10.1, 19.9], [3, 40, 50]]; // camera off 20–40
  assert.ok(covered(segs, 0));
  assert.ok(covered(segs, 15));
  assert.ok(!covered(segs, 30), "a hole: nothing to wait for");
  assert.deepEqual(wanted(segs, 0).map((s) => s[0]), [1]);
  assert.deepEqual(wanted(segs, 10.1 - AHEAD_S + 0.1).map((s) => s[0]), [1, 2]);
  assert.deepEqual(wanted(segs, 30).map((s) => s[0]), []);
  assert.deepEqual(wanted(segs, 36).map((s) => s[0]), [3]);
  assert.equal(segmentUrl("/recordings/r_1/v_2/{track}/{n}.webm?exp=1&sig=2", "v0", 3), "/recordings/r_1/v_2/v0/3.webm?exp=1&sig=2");
});

test("presenter video, all voices", () => {
  const m = { presenter: "t1", tracks: [{ id: "v0", kind: "video", person: "s1" }, { id: "a0", kind: "audio", person: "t1" }, { id: "v1", kind: "video", person: "t1" }, { id: "a1", kind: "audio", person: "s1" }] };
  assert.equal(presenterVideo(m).id, "v1");
  assert.deepEqual(audioTracks(m).map((t) => t.id), ["a0", "a1"]);
  assert.equal(presenterVideo({ tracks: [] }), null);
});

test("time formatting, lost spans, manifest url", () => {
  assert.equal(formatTime(0), "0:00");
  assert.equal(formatTime(75.9), "1:15");
  assert.equal(formatTime(3725), "1:02:05");
  assert.equal(lostSpans([{ start_s: 70, end_s: 73.2 }, { start_s: 71, end_s: 74 }, { start_s: 300, end_s: 302 }]), "1:10–1:14, 5:00–5:02");
  assert.equal(manifestUrl("?r=r_1&v=v_2&exp=9&sig=ab"), "/recordings/r_1/v_2/manifest.json?exp=9&sig=ab");
  assert.equal(manifestUrl("?r=r_1&v=v_2"), null);
});

test("the clock runs at the chosen speed, holds while media is loading, stops at the end", () => {
  let now = 0;
  const clock = new ReplayClock(10, () => now);
  const player = { kind: "video", failed: null, loaded: true, covered: () => true, loading() { return !this.loaded; }, sync() {}, pump() {}, steady: () => false };
  clock.playing = true;
  now = 1000;
  clock.tick([player]);
  assert.equal(clock.t, 1);
  clock.rate = 2;
  now = 2000;
  clock.tick([player]);
  assert.equal(clock.t, 3);
  player.loaded = false;
  now = 3000;
  clock.tick([player]);
  assert.equal(clock.t, 3, "waits for the segment");
  assert.ok(clock.waiting);
  player.loaded = true;
  for (let i = 0; i < 10; i += 1) {
    now += 1000;
    clock.tick([player]);
  }
  assert.equal(clock.t, 10);
  assert.equal(clock.playing, false);
});

test("a track makes the clock wait only for a segment not loaded yet (not past its end)", () => {
  const p = new TrackPlayer({}, { id: "v0", kind: "video", mime: "", segments: [[1, 0.2, 2.0], [2, 2.0, 4.0]] }, "", 4);
  assert.ok(p.loading(0), "just before the first frame");
  p.appended.add(1);
  assert.ok(!p.loading(1.7));
  assert.ok(p.loading(1.9), "the next one starts within a quarter second");
  p.appended.add(2);
  assert.ok(!p.loading(3.99));
  assert.ok(!p.loading(4.1), "after the track's end nothing is awaited");
});

test("recording state: welcome, recording events, off at the end", () => {
  let s = reduce(initialState(), { type: "welcome", data: { you: { id: "s1" }, caps: {}, session: { record: true }, people: [], board: null, chat: [], recording: { on: true, since: "2026-03-02T10:00:00.000Z" } } });
  assert.deepEqual(s.recording, { on: true, since: "2026-03-02T10:00:00.000Z" });
  s = reduce(s, { type: "recording", data: { on: false, since: null } });
  assert.deepEqual(s.recording, { on: false, since: null });
  s = reduce(s, { type: "recording", data: { on: true, since: "x" } });
  s = reduce(s, { type: "ended", data: { by: null, feedback: true } });
  assert.equal(s.recording.on, false);
  assert.deepEqual(reduce(initialState(), { type: "welcome", data: { you: { id: "s1" }, caps: {}, session: {}, people: [], board: null, chat: [] } }).recording, { on: false, since: null });
});
