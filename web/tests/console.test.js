import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatDateTime, formatDate, formatRange, formatDuration, formatBytes, shanghaiDay, scopeLabel, retryAfterSeconds, splitWait,
} from "../src/console/format.js";
import { buildQuery, withQuery, sessionFilters, sessionsUrl, sessionsCsvUrl, personLinks, parseHash, buildHash } from "../src/console/query.js";
import { summarizeEvidence, instructorColumns, personName, statementRows, evidenceLines } from "../src/console/summary.js";
import { createApi, kindOf, ApiError } from "../src/console/api.js";

test("times are shown in Beijing time, whatever the machine's zone", () => {
  assert.equal(formatDateTime("2026-12-04T18:05:18.396Z"), "2026-12-05 02:05");
  assert.equal(formatDateTime("2026-03-01T00:00:00Z"), "2026-03-01 08:00");
  assert.equal(formatDateTime("2026-06-30T16:00:00Z"), "2026-07-01 00:00", "midnight is 00, not 24");
  assert.equal(formatDate("2026-12-04T15:59:59Z"), "2026-12-04");
  assert.equal(formatDate("2026-12-04T16:00:00Z"), "2026-12-05");
  assert.equal(formatDateTime(null), "—");
  assert.equal(formatDateTime(""), "—");
  assert.equal(formatDateTime("not a date"), "—");
});

test("ranges: one date when both ends are on the same Beijing day", () => {
  assert.equal(formatRange("2026-12-04T06:00:00Z", "2026-12-04T07:30:00Z"), "2026-12-04 14:00–15:30");
  assert.equal(formatRange("2026-12-04T15:00:00Z", "2026-12-04T17:00:00Z"), "2026-12-04 23:00 – 2026-12-05 01:00");
  assert.equal(formatRange("2026-12-04T06:00:00Z", null), "2026-12-04 14:00 – …");
  assert.equal(formatRange(null, null), "—");
});

test("Beijing day arithmetic for default date ranges", () => {
  const now = Date.parse("2026-12-04T18:05:00Z"); // 02:05 on the 5th in Beijing
  assert.equal(shanghaiDay(now), "2026-12-05");
  assert.equal(shanghaiDay(now, -6), "2026-11-29");
});

test("durations, bytes", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(65.4), "1:05");
  assert.equal(formatDuration(3723), "1:02:03");
  assert.equal(formatDuration(null), "—");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(5 * 1024 * 1024), "5.0 MB");
});

test("scope labels: city, district with its code, school with its id", () => {
  assert.deepEqual(scopeLabel({ level: "city" }), { key: "scope.city", params: {} });
  assert.deepEqual(scopeLabel({ level: "district", district_code: "110105" }), { key: "scope.district", params: { code: "110105" } });
  assert.deepEqual(scopeLabel({ level: "school", school_id: "1111010201", district_code: "110102" }), { key: "scope.school", params: { id: "1111010201" } });
  assert.equal(scopeLabel(null).key, "scope.unknown");
});

test("Retry-After in seconds or as a date; the wait split for words", () => {
  assert.equal(retryAfterSeconds("30"), 30);
  assert.equal(retryAfterSeconds(null), null);
  assert.equal(retryAfterSeconds("soon"), null);
  const now = Date.parse("2026-12-04T18:00:00Z");
  assert.equal(retryAfterSeconds("Fri, 04 Dec 2026 18:02:00 GMT", now), 120);
  assert.deepEqual(splitWait(125), { minutes: 2, seconds: 5 });
  assert.deepEqual(splitWait(9.2), { minutes: 0, seconds: 10 });
});

test("query strings drop empty values and keep the order asked for", () => {
  assert.equal(buildQuery({ a: "1", b: "", c: null, d: undefined, e: " x y " }), "a=1&e=x+y");
  assert.equal(buildQuery({ b: "2", a: "1" }, ["a", "b"]), "a=1&b=2");
  assert.equal(withQuery("/p", {}), "/p");
  assert.equal(withQuery("/p", { term: "2026秋" }), "/p?term=2026%E7%A7%8B");
});

test("session filters: known fields only, the list and its CSV share them", () => {
  const f = sessionFilters({ from: "2026-09-01", to: "", teacher: " 王 ", evil: "x", status: "ended", cursor: "c1" });
  assert.deepEqual(f, { from: "2026-09-01", teacher: "王", status: "ended" });
  assert.equal(sessionsUrl(f, { limit: 50 }), "/api/v1/sessions?from=2026-09-01&teacher=%E7%8E%8B&status=ended&limit=50");
  assert.equal(sessionsUrl(f, { limit: 50, cursor: "abc=" }), "/api/v1/sessions?from=2026-09-01&teacher=%E7%8E%8B&status=ended&limit=50&cursor=abc%3D");
  assert.equal(sessionsCsvUrl(f), "/api/v1/sessions.csv?from=2026-09-01&teacher=%E7%8E%8B&status=ended");
  assert.equal(sessionsCsvUrl({}), "/api/v1/sessions.csv");
});

test("a person's links carry the term", () => {
  assert.deepEqual(personLinks("t1", "2026秋"), {
    json: "/api/v1/people/t1/statement?term=2026%E7%A7%8B",
    csv: "/api/v1/people/t1/statement.csv?term=2026%E7%A7%8B",
    xlsx: "/api/v1/people/t1/statement.xlsx?term=2026%E7%A7%8B",
    pdf: "/api/v1/people/t1/certificate.pdf?term=2026%E7%A7%8B",
  });
  assert.equal(personLinks("a/b", "").json, "/api/v1/people/a%2Fb/statement");
});

test("hash routes round-trip", () => {
  assert.deepEqual(parseHash(""), { page: "sessions", id: null, params: {} });
  assert.deepEqual(parseHash("#/sessions?from=2026-09-01&teacher=%E7%8E%8B"), { page: "sessions", id: null, params: { from: "2026-09-01", teacher: "王" } });
  assert.deepEqual(parseHash("#/session/s_7EqcFXIT6_SJw4RC"), { page: "session", id: "s_7EqcFXIT6_SJw4RC", params: {} });
  assert.deepEqual(parseHash("#/people/t1?term=2026%E7%A7%8B"), { page: "people", id: "t1", params: { term: "2026秋" } });
  assert.deepEqual(parseHash("#/people/%E"), { page: "people", id: "%E", params: {} }, "a broken escape is kept, not thrown");
  assert.equal(buildHash("people", "t1", { term: "2026秋" }), "#/people/t1?term=2026%E7%A7%8B");
  assert.equal(buildHash("sessions", null, {}), "#/sessions");
  const r = parseHash(buildHash("session", "s_1/x"));
  assert.equal(r.id, "s_1/x");
});

test("evidence rows add up per person", () => {
  const rows = [
    { person: "t1", minute: "2026-12-04T06:01:00Z", voiced_s: 40, silent_s: 5, video_frames: 900, confirmed: [true, false, true], forwarded_packets: 10, rr_loss_max: 0.01 },
    { person: "s1", minute: "2026-12-04T06:01:00Z", voiced_s: 2, silent_s: 50, video_frames: 0, confirmed: [], forwarded_packets: 30, rr_loss_max: null },
    { person: "t1", minute: "2026-12-04T06:00:00Z", voiced_s: 10, silent_s: 0, video_frames: 100, confirmed: [true], forwarded_packets: 5, rr_loss_max: 0.05 },
  ];
  const [t1, s1] = summarizeEvidence(rows);
  assert.equal(t1.person, "t1");
  assert.equal(t1.minutes, 2);
  assert.equal(t1.voiced_s, 50);
  assert.equal(t1.video_frames, 1000);
  assert.equal(t1.confirmed_s, 3);
  assert.equal(t1.rr_loss_max, 0.05);
  assert.equal(t1.first, "2026-12-04T06:00:00Z");
  assert.equal(t1.last, "2026-12-04T06:01:00Z");
  assert.equal(s1.rr_loss_max, null);
  assert.deepEqual(summarizeEvidence(undefined), []);
});

test("instructors, people, statement and flag evidence as table text", () => {
  assert.deepEqual(
    instructorColumns({ instructors: [
      { id: "t1", name: "王老师", school: "一中", district: "东城", school_id: "1", district_code: "110101" },
      { id: "t2", name: "李老师", school: "", district: "东城", school_id: "2", district_code: "110101" },
    ] }),
    { teacher: "王老师、李老师", school: "一中、2", district: "东城" },
  );
  assert.deepEqual(instructorColumns({}), { teacher: "", school: "", district: "" });
  assert.equal(personName([{ id: "t1", name: "王老师" }], "t1"), "王老师 (t1)");
  assert.equal(personName([], "x"), "x");
  assert.deepEqual(
    statementRows({ programmes: { training: { terms: { "2026秋": { points: "3.00", pay_cny: "300.00", sessions: 2 } }, years: { 2026: { study_hours: 4, credits: 1 } } } } }),
    [{ programme: "training", terms: [{ term: "2026秋", points: "3.00", pay_cny: "300.00", sessions: 2 }], years: [{ year: "2026", study_hours: 4, credits: 1 }] }],
  );
  assert.deepEqual(statementRows({ programmes: {} }), []);
  assert.deepEqual(evidenceLines({ minutes: 12, people: ["t1", "s1"], by_name: false }), ["minutes: 12", "people: t1; s1", "by_name: false"]);
  assert.deepEqual(
    evidenceLines({ matches: [{ learner: "s2", same: "school", place: { school_id: "1", district: "海淀区" } }, { learner: "s3" }] }),
    ["matches[1]: learner=s2, same=school, place=(school_id=1, district=海淀区)", "matches[2]: learner=s3"],
  );
});

function fakeFetch(answers) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url, init });
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return {
      ok: a.status >= 200 && a.status < 300,
      status: a.status,
      headers: { get: (k) => (a.headers || {})[k.toLowerCase()] ?? null },
      json: async () => {
        if (a.body === undefined) throw new SyntaxError("no json");
        return a.body;
      },
      text: async () => String(a.body),
    };
  };
  return { f, calls };
}

test("api: sign-in keeps the CSRF token and sends it on unsafe requests only", async () => {
  const { f, calls } = fakeFetch([
    { status: 200, body: { user: { username: "city1", level: "city" }, csrf_token: "tok" } },
    { status: 200, body: { sessions: [], next_cursor: null } },
    { status: 204 },
  ]);
  const api = createApi({ fetchImpl: f });
  const user = await api.login("city1", "pw");
  assert.equal(user.username, "city1");
  assert.equal(api.csrf, "tok");
  assert.equal(calls[0].init.credentials, "same-origin");
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(JSON.parse(calls[0].init.body), { username: "city1", password: "pw" });
  await api.get("/api/v1/sessions");
  assert.equal(calls[1].init.headers["X-CSRF-Token"], undefined);
  await api.logout();
  assert.equal(calls[2].init.headers["X-CSRF-Token"], "tok");
  assert.equal(api.csrf, "");
});

test("api: a request with no answer ends as a network error, never a spinner forever", async () => {
  const hung = (path, init) =>
    new Promise((resolve, reject) => {
      init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    });
  const api = createApi({ fetchImpl: hung, timeoutMs: { json: 20, text: 40 } });
  await assert.rejects(api.me(), (e) => e instanceof ApiError && e.kind === "network" && /no answer/.test(e.message));
  await assert.rejects(api.text("/api/v1/sessions.csv"), (e) => e.kind === "network");
  // An answer whose body never ends is bounded too.
  const slowBody = (path, init) =>
    Promise.resolve({
      ok: true,
      status: 200,
      headers: new Map(),
      json: () => new Promise((resolve, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))),
    });
  await assert.rejects(createApi({ fetchImpl: slowBody, timeoutMs: { json: 20, text: 40 } }).get("/x"), (e) => e.kind === "network");
});

test("api: failures become kinds with the server's words and the wait", async () => {
  assert.equal(kindOf(401), "unauthorized");
  assert.equal(kindOf(429), "throttled");
  assert.equal(kindOf(503), "unavailable");
  assert.equal(kindOf(500), "server");
  let expired = 0;
  const { f } = fakeFetch([
    { status: 429, headers: { "retry-after": "42" }, body: { error: { code: "throttled", message: "too many" } } },
    { status: 401, body: { error: { code: "unauthorized", message: "sign in" } } },
    { status: 401, body: { error: { code: "unauthorized", message: "sign in" } } }, // /admin/me: expired
    { status: 401, body: { error: { code: "unauthorized", message: "API key" } } },
    { status: 200, body: { user: { username: "x", level: "city" }, csrf_token: "t2" } }, // /admin/me: still in
    { status: 500 },
    new TypeError("Failed to fetch"),
  ]);
  const api = createApi({ fetchImpl: f, onUnauthorized: () => (expired += 1) });
  await assert.rejects(api.login("a", "b"), (e) => e instanceof ApiError && e.kind === "throttled" && e.retryAfter === 42 && e.message === "too many");
  await assert.rejects(api.get("/api/v1/sessions"), (e) => e.kind === "unauthorized");
  assert.equal(expired, 1, "a 401 outside sign-in, and /admin/me says 401 too: the sign-in expired");
  await assert.rejects(api.get("/api/v1/people/t1/statement"), (e) => e.kind === "forbidden");
  assert.equal(expired, 1, "a 401 of an API that does not take the sign-in is not a sign-out");
  await assert.rejects(api.get("/x"), (e) => e.kind === "server" && e.status === 500);
  await assert.rejects(api.get("/x"), (e) => e.kind === "network");
});

test("both console dictionaries have the same keys and placeholders", async () => {
  const { readFile } = await import("node:fs/promises");
  const { placeholders } = await import("../src/i18n.js");
  const zh = JSON.parse(await readFile(new URL("../i18n/console.zh-CN.json", import.meta.url), "utf8"));
  const en = JSON.parse(await readFile(new URL("../i18n/console.en.json", import.meta.url), "utf8"));
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const k of Object.keys(zh)) assert.deepEqual(placeholders(zh[k]), placeholders(en[k]), k);
});

test("every key the console code names exists in its dictionary", async () => {
  const { readFile, readdir } = await import("node:fs/promises");
  const dir = new URL("../src/console/", import.meta.url);
  const zh = JSON.parse(await readFile(new URL("../i18n/console.zh-CN.json", import.meta.url), "utf8"));
  const literal = /(?:\bt\(|key: |field\(|section\(|emptyBox\(|loadingBox\(|: |\? )"([a-z_]+(?:\.[a-z_0-9]+)+)"/g;
  const used = new Set();
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".js")) continue;
    for (const m of (await readFile(new URL(name, dir), "utf8")).matchAll(literal)) used.add(m[1]);
  }
  // Keys built at run time from fixed sets of values.
  for (const v of ["training", "tutoring"]) used.add(`programme.${v}`);
  for (const v of ["one_to_one", "lecture", "review", "classroom"]) used.add(`form.${v}`);
  for (const v of ["scheduled", "live", "ended", "unknown"]) used.add(`status.${v}`);
  for (const v of ["instructor", "learner"]) used.add(`role.${v}`);
  for (const v of ["network", "unauthorized", "forbidden", "not_found", "throttled", "invalid", "unavailable", "server"]) used.add(`error.${v}`);
  for (const v of ["evidence", "presence"]) used.add(`credits.basis.${v}`);
  for (const v of ["sessions", "session", "people", "supervision"]) used.add(`nav.${v}`);
  const missing = [...used].filter((k) => !(k in zh)).sort();
  assert.deepEqual(missing, []);
  assert.ok(used.size > 120, `found ${used.size} keys in the console code`);
});
