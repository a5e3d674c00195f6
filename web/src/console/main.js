// The programme office's console (issue 16): sign-in, then a header (who, scope,
// language, sign-out), a nav and one page per hash route:
//   #/sessions?from=…  #/session/<id>  #/people/<id>?term=…  #/supervision?from=&to=
//   #/now (what is live on this node, refreshed every 5 s while visible)
//   #/policy (calendar and credit rules, read-only)  #/system (readiness, webhooks)

import { t, lang, storedLang, rememberLang, loadConsoleLang } from "./i18n.js";
import { createApi } from "./api.js";
import { h, errorBox } from "./dom.js";
import { scopeLabel } from "./format.js";
import { parseHash } from "./query.js";
import { renderSignin } from "./signin.js";
import { renderSessions } from "./sessions.js";
import { renderNow } from "./now.js";
import { renderSession } from "./session-page.js";
import { renderPeople } from "./people.js";
import { renderSupervision } from "./supervision.js";
import { renderSystem } from "./system.js";
import { renderPolicy } from "./policy.js";
import { renderAnalysis } from "./analysis.js";

const root = document.getElementById("console");
const state = { user: null, backHash: "#/sessions" };
const api = createApi({ onUnauthorized: () => signedOut(true) });

const PAGES = {
  sessions: renderSessions,
  now: renderNow,
  session: renderSession,
  people: renderPeople,
  supervision: renderSupervision,
  system: renderSystem,
  policy: renderPolicy,
  analysis: renderAnalysis,
};
const NAV = [
  ["sessions", "nav.sessions"],
  ["now", "nav.now"],
  ["people", "nav.people"],
  ["supervision", "nav.supervision"],
  ["policy", "nav.policy"],
  ["system", "nav.system"],
  ["analysis", "nav.analysis"],
];

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function langButton() {
  const other = lang() === "en" ? "zh-CN" : "en";
  return h(
    "button",
    { type: "button", class: "btn btn-quiet lang", lang: other, "data-testid": "lang-switch", "aria-label": t("header.lang_aria"), onclick: () => switchLang(other) },
    other === "en" ? "English" : "中文",
  );
}

async function switchLang(l) {
  try {
    await loadConsoleLang(l);
    rememberLang(l);
  } catch {
    return; // the page stays in the language it has
  }
  document.title = t("app.title");
  if (state.user) route();
  else showSignin();
}

function header(page) {
  const scope = scopeLabel(state.user);
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "研"), h("span", {}, t("app.title"))),
    h(
      "nav",
      { class: "nav", "aria-label": t("nav.aria") },
      NAV.map(([name, key]) => {
        const current = page === name || (page === "session" && name === "sessions");
        return h("a", { href: `#/${name}`, class: current ? "active" : "", "aria-current": current ? "page" : null, "data-testid": `nav-${name}` }, t(key));
      }),
    ),
    h(
      "div",
      { class: "who" },
      h("span", { class: "who-name", "data-testid": "user-name" }, state.user.username),
      h("span", { class: "scope", "data-testid": "user-scope", "data-level": state.user.level }, t(scope.key, scope.params)),
      langButton(),
      h("button", { type: "button", class: "btn btn-quiet", "data-testid": "signout", onclick: signOut }, t("header.signout")),
    ),
  );
}

async function signOut() {
  try {
    await api.logout();
  } catch {
    /* signed out on this page either way */
  }
  signedOut(false);
}

function signedOut(expired) {
  state.user = null;
  showSignin(expired ? "signin.expired" : null);
}

function showSignin(noticeKey) {
  const main = h("main", { class: "signin-main" });
  root.replaceChildren(h("div", { class: "signin-top" }, langButton()), main);
  renderSignin(main, {
    api,
    onSignedIn: (user) => {
      state.user = user;
      route();
    },
  });
  if (noticeKey) main.prepend(h("p", { class: "notice notice-info", role: "status", "data-testid": "signin-notice" }, t(noticeKey)));
}

function route({ focus = false } = {}) {
  if (!state.user) return showSignin();
  const r = parseHash(location.hash);
  const render = PAGES[r.page];
  const main = h("main", { class: "page", id: "main", tabindex: "-1" });
  root.replaceChildren(h("a", { class: "skip", href: "#main", onclick: (ev) => { ev.preventDefault(); main.focus(); } }, t("nav.skip")), header(r.page), main);
  if (!render) {
    main.replaceChildren(errorBox({ kind: "not_found", message: "" }, "route-unknown"));
    return;
  }
  if (r.page === "sessions") state.backHash = location.hash || "#/sessions";
  document.title = `${t(`nav.${r.page === "session" ? "session" : r.page}`)} · ${t("app.title")}`;
  render(main, { api, route: r, navigate, backHash: state.backHash });
  // A new page: keyboard and screen-reader users start at its content.
  if (focus && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

async function boot() {
  window.addEventListener("hashchange", () => state.user && route({ focus: true }));
  try {
    await loadConsoleLang(storedLang());
  } catch {
    await loadConsoleLang("zh-CN").catch(() => {});
  }
  document.title = t("app.title");
  try {
    state.user = await api.me();
  } catch (err) {
    if (err.kind !== "unauthorized") {
      root.replaceChildren(h("main", { class: "signin-main" }, errorBox(err, "boot-error")));
      // Still offer the sign-in below the words: the server may answer to it.
      const more = h("div", {});
      root.append(more);
      renderSignin(more, { api, onSignedIn: (user) => { state.user = user; route(); } });
      return;
    }
  }
  route();
}

boot();
