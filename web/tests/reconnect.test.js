import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FIRST_PATH_SETTLE_MS,
  IDLE_POLL_MS,
  NEW_PATH_GRACE_MS,
  RECONNECT_FIRST_MS,
  RECONNECT_MAX_MS,
  SILENT_REBUILD_MS,
  SUSPECT_MS,
  isPath,
  linkVerdict,
  received,
} from "../src/reconnect.js";

const T = 100_000; // "now" in these cases, ms

test("a path that works, or came back, is kept", () => {
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - 100, pathAt: null }), "keep");
  assert.equal(linkVerdict({ ice: "completed", now: T, lastProgressAt: T - SUSPECT_MS + 1, pathAt: T - 5000 }), "keep");
  // ICE says connected again and packets arrive: the new one is dropped.
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - 200, pathAt: T - 3000 }), "keep");
});

test("no network to switch to: wait, whatever the old one says", () => {
  for (const ice of ["disconnected", "failed", "connected"]) {
    assert.equal(linkVerdict({ ice, now: T, lastProgressAt: T - 60_000, pathAt: null }), "wait");
  }
});

test("ICE gave up: switch as soon as there is a network", () => {
  assert.equal(linkVerdict({ ice: "failed", now: T, lastProgressAt: T - 30_000, pathAt: T }), "rebuild");
});

test("ICE lost: the old path gets a grace once the network is back, then the switch", () => {
  const lost = { ice: "disconnected", lastProgressAt: T - 8000 };
  assert.equal(linkVerdict({ ...lost, now: T, pathAt: T - NEW_PATH_GRACE_MS + 1 }), "wait");
  assert.equal(linkVerdict({ ...lost, now: T, pathAt: T - NEW_PATH_GRACE_MS }), "rebuild");
  // A link that blinked: packets again right after the network returned, no switch yet.
  assert.equal(linkVerdict({ ice: "disconnected", now: T, lastProgressAt: T - 300, pathAt: T - 2000 }), "wait");
});

test("ICE still says connected but nothing arrives: the switch waits for a silence no live path has", () => {
  const path = T - 5000;
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - SUSPECT_MS, pathAt: path }), "wait");
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - SILENT_REBUILD_MS + 1, pathAt: path }), "wait");
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - SILENT_REBUILD_MS, pathAt: path }), "rebuild");
  // Nobody's media comes to us (an empty room): silence proves nothing, ICE decides.
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - 20_000, pathAt: path, media: false }), "keep");
  assert.equal(linkVerdict({ ice: "disconnected", now: T, lastProgressAt: T - 20_000, pathAt: path, media: false }), "rebuild");
  // The network only just appeared: its grace first.
  assert.equal(linkVerdict({ ice: "connected", now: T, lastProgressAt: T - 20_000, pathAt: T - 10 }), "wait");
});

test("the timers keep their order", () => {
  // A suspect path is checked within the idle poll; the silence that switches is longer
  // than Chromium's 2.5 s connectivity checks; socket.io's retries grow to a bound.
  assert.ok(SUSPECT_MS < SILENT_REBUILD_MS && SILENT_REBUILD_MS > 2500);
  assert.ok(IDLE_POLL_MS <= SUSPECT_MS);
  assert.ok(RECONNECT_FIRST_MS < RECONNECT_MAX_MS);
  assert.ok(FIRST_PATH_SETTLE_MS < NEW_PATH_GRACE_MS);
});

function report(entries) {
  return { forEach: (fn) => entries.forEach(fn) };
}

test("the receive counter grows with bytes, checks and answers on any candidate pair", () => {
  const before = received(report([
    { type: "candidate-pair", bytesReceived: 1000, responsesReceived: 3, requestsReceived: 2 },
    { type: "transport", bytesReceived: 999999 },
  ]));
  const checkOnly = received(report([
    { type: "candidate-pair", bytesReceived: 1000, responsesReceived: 4, requestsReceived: 2 },
    { type: "transport", bytesReceived: 999999 },
  ]));
  assert.equal(before, 1005);
  assert.ok(checkOnly > before); // an answer to a connectivity check proves the path too
  assert.equal(received(report([{ type: "transport", bytesReceived: 7 }, { type: "inbound-rtp", bytesReceived: 3 }])), 7);
  assert.equal(received(report([{ type: "inbound-rtp", bytesReceived: 3 }, { type: "inbound-rtp", bytesReceived: 4 }])), 7);
  assert.equal(received(report([])), 0);
});

test("a path is any candidate, not the end-of-gathering marker", () => {
  assert.ok(isPath({ candidate: "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host" }));
  assert.ok(!isPath({ candidate: "" }));
  assert.ok(!isPath(null));
  assert.ok(!isPath(undefined));
});
