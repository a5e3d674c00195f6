// `moved` naming a node that does not answer (it just died): the page stays, says so,
// and asks its own node again with a growing pause; a node that answers is followed.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { movedBackoffMs, movedHref, Protocol } from "../src/protocol.js";
import { linkLang } from "../src/i18n.js";

test("moved keeps the link, changes the node, and does not ask for the device check again", () => {
  assert.equal(
    movedHref("http://127.0.0.1:8080/join?token=a.b.c&codec=h264", "http://127.0.0.1:8082"),
    "http://127.0.0.1:8082/join?token=a.b.c&codec=h264&check=0",
  );
  assert.equal(
    movedHref("https://n1.tutor.example.org/join?token=t&check=1", "https://n2.tutor.example.org/"),
    "https://n2.tutor.example.org/join?token=t&check=0",
  );
});

test("moved carries the language this person chose (the other origin's storage does not know it)", () => {
  assert.equal(
    movedHref("http://127.0.0.1:8080/join?token=t", "http://127.0.0.1:8082", "en"),
    "http://127.0.0.1:8082/join?token=t&check=0&lang=en",
  );
  assert.equal(linkLang("http://127.0.0.1:8082/join?token=t&check=0&lang=en"), "en");
  assert.equal(linkLang("http://127.0.0.1:8082/join?token=t&lang=fr"), null, "a language we do not have");
  assert.equal(linkLang("http://127.0.0.1:8082/join?token=t"), null);
  assert.equal(linkLang("not a url"), null);
});

test("the pause grows and is bounded", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map(movedBackoffMs), [1000, 2000, 4000, 8000, 10000, 10000]);
  assert.equal(movedBackoffMs(0), 1000);
});

function protocolWith(fetch) {
  const p = new Protocol({ token: "t", origin: "http://b", env: { fetch } });
  const seen = [];
  for (const type of ["moved", "server_error", "connecting"]) p.on(type, (d) => seen.push([type, d]));
  let connects = 0;
  p.connect = () => { connects += 1; };
  return { p, seen, connects: () => connects };
}

test("a node that answers is followed", async () => {
  const asked = [];
  const { p, seen } = protocolWith(async (url, init) => { asked.push([url, init.mode]); return {}; });
  await p.followMoved("http://a:8000");
  assert.deepEqual(asked, [["http://a:8000/healthz", "no-cors"]]);
  assert.deepEqual(seen, [["moved", { url: "http://a:8000" }]]);
});

test("a dead node is not followed: a message, then this node again, later each time", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { p, seen, connects } = protocolWith(async () => { throw new TypeError("Failed to fetch"); });
    await p.followMoved("http://a:8000");
    assert.equal(seen.some(([t]) => t === "moved"), false);
    assert.deepEqual(seen[0], ["server_error", { event: "connect", code: "node_unreachable", message: "http://a:8000" }]);
    mock.timers.tick(999);
    assert.equal(connects(), 0);
    mock.timers.tick(1);
    assert.equal(connects(), 1);
    await p.followMoved("http://a:8000");  // still named, still dead: twice the pause
    mock.timers.tick(1999);
    assert.equal(connects(), 1);
    mock.timers.tick(1);
    assert.equal(connects(), 2);
  } finally {
    mock.timers.reset();
  }
});
