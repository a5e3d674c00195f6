// System (系统), for the city office: this node's readiness (/readyz, each check with
// its figure or the reason it failed) and the webhooks the platform did not receive
// (GET /api/v1/webhooks: dead letters with event, session, attempts, last error, time).

import { t } from "./i18n.js";
import { h, errorBox, emptyBox, loadingBox, table, section } from "./dom.js";
import { formatDateTime } from "./format.js";
import { buildHash } from "./query.js";

// The checks /readyz reports (signaling/server/ops.py), in its order.
const CHECKS = ["database", "journal", "redis", "disk", "web"];

export function renderSystem(container, { api }) {
  const ready = h("div", { "data-testid": "system-ready" }, loadingBox());
  const hooks = h("div", { "data-testid": "system-webhooks" }, loadingBox());
  const refresh = h("button", { type: "button", class: "btn btn-small", "data-testid": "system-refresh", onclick: () => load() }, t("system.refresh"));
  container.replaceChildren(
    h("h1", { class: "page-title" }, t("nav.system"), refresh),
    section("system.readiness", ready),
    section("system.webhooks", hooks),
  );
  const load = () => {
    loadReadiness(ready);
    loadWebhooks(hooks, api);
  };
  load();
}

/** /readyz answers 503 with the same JSON when a check fails: both are answers here. */
async function readyz() {
  let res;
  try {
    res = await fetch("/readyz", { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (err) {
    const error = new Error(String((err && err.message) || err));
    error.kind = "network";
    throw error;
  }
  try {
    return await res.json();
  } catch {
    const error = new Error(`HTTP ${res.status}`);
    error.kind = "server";
    throw error;
  }
}

async function loadReadiness(box) {
  box.replaceChildren(loadingBox());
  let body;
  try {
    body = await readyz();
  } catch (err) {
    box.replaceChildren(errorBox(err, "system-ready-error"));
    return;
  }
  const state = body.state || (body.ready ? "ready" : "not_ready");
  const checks = body.checks || {};
  const names = [...CHECKS.filter((c) => c in checks), ...Object.keys(checks).filter((c) => !CHECKS.includes(c))];
  box.replaceChildren(
    h(
      "p",
      { class: "readiness" },
      h("span", { class: `badge badge-${body.ready ? "live" : "irregular"}`, "data-testid": "system-state", "data-state": state }, t(`system.state.${state}`)),
      " ",
      h("span", { class: "muted" }, t("system.node", { node: body.node || "—" })),
    ),
    table(
      [{ key: "system.col.check" }, { key: "system.col.ok" }, { key: "system.col.detail" }],
      names.map((name) => {
        const c = checks[name] || {};
        const cells = [checkLabel(name), c.ok ? h("span", { class: "ok" }, t("system.check_ok")) : h("span", { class: "bad" }, t("system.check_failed")), checkDetail(c)];
        cells.attrs = { "data-check": name, "data-ok": c.ok ? "1" : "0" };
        return cells;
      }),
      { testid: "system-checks", rowTestid: "check-row" },
    ),
  );
}

function checkLabel(name) {
  const key = `system.check.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

/** A check's figures in words: "12.3 ms · free_mib=51200", or its error. */
function checkDetail(c) {
  if (!c.ok) return c.error || "—";
  return Object.entries(c)
    .filter(([k]) => k !== "ok")
    .map(([k, v]) => (k === "ms" ? `${v} ms` : `${k}=${v}`))
    .join(" · ");
}

async function loadWebhooks(box, api) {
  box.replaceChildren(loadingBox());
  let state;
  try {
    state = await api.get("/api/v1/webhooks");
  } catch (err) {
    // A district or school office is refused (403): the letters name every district's sessions.
    box.replaceChildren(err.kind === "forbidden" ? emptyBox("system.city_only", "system-city-only") : errorBox(err, "system-webhooks-error"));
    return;
  }
  if (!state.configured) {
    box.replaceChildren(emptyBox("system.webhooks_off", "system-webhooks-off"));
    return;
  }
  const dead = [...(state.dead || [])].reverse(); // newest first
  const figures = h("p", { class: "muted", "data-testid": "system-webhook-figures" }, t("system.webhook_figures", { delivered: state.delivered ?? 0, queued: state.queued ?? 0, dead: dead.length }));
  if (!dead.length) {
    box.replaceChildren(figures, emptyBox("system.no_dead", "system-no-dead"));
    return;
  }
  box.replaceChildren(
    figures,
    table(
      [{ key: "system.col.time" }, { key: "system.col.event" }, { key: "system.col.session" }, { key: "system.col.attempts", cls: "num" }, { key: "system.col.error" }],
      dead.map((d) => [
        formatDateTime(d.failed_at || d.created_at),
        h("span", { class: "mono" }, d.event),
        d.session_id ? h("a", { href: buildHash("session", d.session_id), class: "mono" }, d.session_id) : "—",
        d.attempts === undefined ? "—" : String(d.attempts),
        d.error || "—",
      ]),
      { testid: "system-dead", rowTestid: "dead-row" },
    ),
  );
}
