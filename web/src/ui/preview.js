// ?preview=teacher|student|lecture|feedback|error|review|reviewer|check: render the UI
// from a canned state, with no server, for screenshots and a quick look at layout
// changes (review: the presenter's page; reviewer: a reviewer who is not the organiser;
// check: the device check before joining, with this browser's camera and microphone).

import { reduce, initialState } from "../client.js";
import { mountApp } from "./app.js";

const person = (id, name, role, extra = {}) => ({ id, name, role, present: true, hand: false, stage: false, pen: false, media: { audio: true, video: true }, ...extra });
const parabola = Array.from({ length: 41 }, (_, i) => [0.15 + i * 0.0175, 0.2 + ((i - 20) / 20) ** 2 * 0.55]);
const picture = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#f4efe3"/><text x="24" y="64" font-size="22" fill="#555">y = x² − 2x − 3</text><text x="24" y="110" font-size="18" fill="#888">求顶点坐标</text></svg>')}`;

const REVIEWERS = [person("r1", "陈老师", "instructor"), person("r2", "刘老师", "instructor", { media: { audio: true, video: false } }), person("r3", "周老师", "instructor")];

export async function runPreview(kind, lang) {
  if (kind === "check") {
    const { runDeviceCheck } = await import("./devicecheck.js");
    const { loadLang, rememberLang } = await import("../i18n.js");
    const me = async () => ({ person: { id: "s1", name: "李同学", role: "learner" }, session: { title: "函数图像答疑", form: "one_to_one", state: "live" } });
    const setLang = async (l) => {
      const got = await loadLang(l);
      rememberLang(got);
      return got;
    };
    await runDeviceCheck(document.getElementById("app"), { me, claims: null, setLang, lang, session: null });
    return;
  }
  if (kind === "review" || kind === "reviewer") return runReview(kind, lang);
  const teacher = kind === "teacher" || kind === "lecture";
  const form = kind === "lecture" ? "lecture" : "one_to_one";
  const you = teacher ? person("t1", "王老师", "instructor") : person("s1", "李同学", "learner", { stage: form === "one_to_one", pen: form === "one_to_one" });
  const events = [
    { type: "welcome", data: {
      you, resumed: false,
      caps: teacher ? { publish: ["audio", "video"], draw: true, grant: form !== "one_to_one", end: true, report: false } : { publish: form === "one_to_one" ? ["audio", "video"] : [], draw: form === "one_to_one", grant: false, end: false, report: false },
      session: { id: "demo", title: "函数图像答疑", programme: "tutoring", form, state: "live", record: false },
      people: [person("t1", "王老师", "instructor"), person("s1", "李同学", "learner", { stage: true, pen: true }), person("s2", "张同学", "learner", { hand: true, media: { audio: false, video: false } }), person("s3", "赵同学", "learner", { present: false })],
      board: { seq: 2, background: null, strokes: [{ id: "a", by: "t1", seq: 1, tool: "pen", color: "#1c7ed6", width: 4, points: parabola }, { id: "b", by: "t1", seq: 2, tool: "pen", color: "#e03131", width: 6, points: [[0.5, 0.72], [0.5, 0.76]] }] },
      chat: [
        { id: "c1", from: "s1", name: "李同学", text: "老师，这道题的顶点怎么求？", image: null, ts: "2026-03-02T10:02:00Z" },
        { id: "c2", from: "s1", name: "李同学", text: "", image: picture, ts: "2026-03-02T10:02:30Z" },
        { id: "c3", from: "t1", name: "王老师", text: "先配方：y = (x − 1)² − 4，所以顶点是 (1, −4)。", image: null, ts: "2026-03-02T10:03:10Z" },
      ],
    } },
    { type: "local", data: { audio: true, video: false, screen: false } },
    { type: "remote", data: teacher ? { s1: { audio: true, video: false } } : { t1: { audio: true, video: false } } },
  ];
  if (kind === "lecture") events.push({ type: "panel", panel: "people" });
  if (kind === "feedback") events.push({ type: "ended", data: { by: "t1", feedback: true } });
  if (kind === "error") events.push({ type: "connect_error", code: "expired", fatal: true, message: "" });
  mount(events, lang, teacher);
}

/** A review with three reviewers: the presenter's page, or a reviewer's (not the organiser). */
function runReview(kind, lang) {
  const presenter = person("p1", "张老师", "learner", { media: { audio: true, video: false } });
  const you = kind === "review" ? presenter : REVIEWERS[2];
  const people = [REVIEWERS[0], presenter, REVIEWERS[1], REVIEWERS[2]];
  const remote = Object.fromEntries(people.filter((p) => p.id !== you.id && p.id !== "r2").map((p) => [p.id, { audio: true, video: false }]));
  const events = [
    { type: "welcome", data: {
      you, resumed: false,
      caps: { publish: ["audio", "video"], draw: true, grant: false, end: kind === "review", report: kind === "reviewer" },
      session: { id: "demo", title: "《背影》公开课检课", programme: "training", form: "review", state: "live", record: false },
      people, board: { seq: 1, background: null, strokes: [{ id: "a", by: "p1", seq: 1, tool: "pen", color: "#1c7ed6", width: 4, points: parabola }] },
      chat: [{ id: "c1", from: "r1", name: "陈老师", text: "导入环节很自然。", image: null, ts: "2026-03-02T10:12:00Z" }],
    } },
    { type: "local", data: { audio: true, video: false, screen: false } },
    { type: "remote", data: remote },
    { type: "clock", data: { started_at: "2026-03-02T10:00:00Z", elapsed_s: 1520, counted_minutes: 24, min_minutes: 45, max_minutes: null, counting: true, why_not: null, meets_minimum: false, final: false }, at: Date.now() },
  ];
  mount(events, lang, false);
}

function mount(events, lang, teacher) {
  let state = events.reduce(reduce, initialState({ lang }));
  const subs = new Set();
  const set = (ev) => {
    state = reduce(state, ev);
    subs.forEach((f) => f(state));
  };
  const noop = async () => {};
  const client = {
    getState: () => state,
    subscribe: (f) => subs.add(f),
    mediaUrl: (u) => u,
    localStream: () => null,
    streamFor: () => null,
    actions: new Proxy({ setLang: async (l) => set({ type: "lang", lang: await (await import("../i18n.js")).loadLang(l) }), setPanel: (panel) => set({ type: "panel", panel }), setTools: (patch) => set({ type: "tools", patch }), canShareScreen: () => teacher }, { get: (o, k) => o[k] || noop }),
  };
  mountApp(document.getElementById("app"), client);
  globalThis.opentutor = Object.freeze({ state: () => structuredClone(state) });
}
