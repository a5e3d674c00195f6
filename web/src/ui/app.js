// The page shell: one layout for every role. CSS decides the arrangement
// (≥ 900 px: console with video column, board and side panel; narrower: one
// screen, never a page scroll — the video on top, then the board, chat, people
// (and report, marks) one tab each, the action bar last; a phone on its side puts
// the video beside them); role and caps decide which controls show.

import { h, icon, setText, show } from "./dom.js";
import { t, translateTree } from "../i18n.js";
import { mountStatus } from "./status.js";
import { mountVideos } from "./videos.js";
import { mountBoard } from "./board.js";
import { mountChat } from "./chat.js";
import { mountParticipants } from "./participants.js";
import { mountControls } from "./controls.js";
import { mountReport } from "./report.js";
import { mountEnded } from "./feedback.js";
import { mountMarks } from "./marks.js";
import { mountClock } from "./clock.js";
import { endWarning } from "../clock.js";
import { roleKey } from "../stage.js";

/** Narrower than the console: the board is one of the tabs (app.css uses the same width). */
const NARROW = "(max-width: 899.98px)";

export function mountApp(root, client) {
  const { actions } = client;
  root.textContent = "";

  const title = h("h1", { class: "title" });
  const subtitle = h("p", { class: "subtitle" });
  const langBtn = h(
    "button",
    { class: "btn ghost small", type: "button", "data-testid": "lang-switch", i18nAria: "app.switch_lang", onclick: () => actions.setLang(client.getState().lang === "en" ? "zh-CN" : "en") },
    icon("globe"),
    h("span", { class: "label", i18n: "app.switch_lang" }),
  );
  // Labels are hidden on a phone (icons only): the accessible name stays.
  const endLabel = h("span", { class: "label", i18n: "controls.end" });
  const endBtn = h("button", { class: "btn danger small", type: "button", "data-testid": "end-button", hidden: true }, icon("power"), endLabel);
  // Everyone who does not end the session may leave it (and come back with the same link).
  const leaveBtn = h("button", { class: "btn danger small", type: "button", "data-testid": "leave-button", hidden: true, i18nAria: "app.leave" }, icon("leave"), h("span", { class: "label", i18n: "app.leave" }));
  const statusSlot = h("div", { class: "status-slot" });
  const clockSlot = h("div", { class: "clock-slot" });
  // Recording: a badge everyone sees while the server records, the instructor's switch.
  const recBadgeLabel = h("span", { class: "rec-label" });
  const recBadge = h("span", { class: "rec-badge", role: "status", "data-testid": "recording-badge", hidden: true }, h("span", { class: "rec-dot", "aria-hidden": "true" }), recBadgeLabel);
  const recLabel = h("span", { class: "label" });
  const recBtn = h("button", { class: "btn ghost small", type: "button", "data-testid": "record-button", hidden: true, onclick: () => actions.toggleRecording() }, icon("rec"), recLabel);
  const header = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true", i18n: "app.logo" }), h("div", { class: "titles" }, title, subtitle)),
    clockSlot,
    h("div", { class: "topbar-actions" }, statusSlot, recBadge, recBtn, langBtn, leaveBtn, endBtn),
  );

  const banners = h("div", { class: "banners", role: "status", "aria-live": "polite" });
  // Said before anyone is seen or heard when the session is created to be recorded.
  let recNoticeClosed = false;
  const recNotice = h("div", { class: "banner info", "data-testid": "recording-notice", hidden: true }, icon("rec"), h("span", { class: "text", i18n: "recording.notice" }),
    h("button", { class: "icon-btn small", type: "button", i18nAria: "dialog.close", onclick: () => { recNoticeClosed = true; show(recNotice, false); } }, icon("close")));
  banners.append(recNotice);
  // A supervisor's read-only page (issue 16): said at once and kept, so that whoever
  // sits at this screen knows nothing of theirs is sent and nobody in class sees them.
  const observerBanner = h("div", { class: "banner info observer-banner", "data-testid": "observer-banner", hidden: true }, icon("people"),
    h("span", { class: "text" }, h("strong", { i18n: "observer.banner" }), " ", h("span", { i18n: "observer.note" })));
  banners.prepend(observerBanner);
  const stage = h("section", { class: "stage", "aria-label": "video" });
  const controls = h("nav", { class: "controls" });
  const boardArea = h("section", { class: "board-area" });

  // Side panel with tabs: chat, people, report (reviewers only), marks (tutoring teachers);
  // narrower than the console the board is the first tab (the others one tap away).
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const panels = {
    chat: h("div", { class: "panel panel-chat", role: "tabpanel" }),
    people: h("div", { class: "panel panel-people", role: "tabpanel" }),
    report: h("div", { class: "panel panel-report", role: "tabpanel" }),
    marks: h("div", { class: "panel panel-report panel-marks", role: "tabpanel" }),
  };
  const tabButtons = {};
  for (const [name, ico] of [["board", "board"], ["chat", "chat"], ["people", "people"], ["report", "report"], ["marks", "pen"]]) {
    const badge = h("span", { class: "badge", hidden: true });
    tabButtons[name] = h(
      "button",
      { class: "tab", type: "button", role: "tab", "data-tab": name, "data-testid": `tab-${name}`, onclick: () => actions.setPanel(name) },
      icon(ico),
      h("span", { class: "label", i18n: `tabs.${name}` }),
      badge,
    );
    tabButtons[name].badge = badge;
    tabs.append(tabButtons[name]);
  }
  const side = h("aside", { class: "side" }, tabs, panels.chat, panels.people, panels.report, panels.marks);

  const room = h("main", { class: "room" }, stage, controls, boardArea, side);
  const endedView = h("section", { class: "ended-view" });
  // After "leave": the session goes on without me; the same link brings me back.
  let left = false;
  const leftView = h(
    "section",
    { class: "left-view", "data-testid": "left-view", hidden: true },
    h(
      "div",
      { class: "card" },
      h("div", { class: "card-icon calm" }, icon("leave")),
      h("h2", { i18n: "left.title" }),
      h("p", { class: "muted", i18n: "left.body" }),
      h("button", { class: "btn primary", type: "button", "data-testid": "rejoin-button", onclick: () => location.reload() }, h("span", { class: "label", i18n: "left.rejoin" })),
    ),
  );
  const errorView = h("section", { class: "error-view" });
  const toasts = h("div", { class: "toasts", "aria-live": "assertive" });

  const dialog = h("dialog", { class: "confirm" });
  root.append(header, banners, room, endedView, leftView, errorView, toasts, dialog);

  /** A calm confirmation dialog (window.confirm blocks and looks alarming). */
  function confirmDialog({ titleKey, bodyKey, okKey, testid, warning = null, note = null }) {
    return new Promise((resolve) => {
      dialog.textContent = "";
      const close = (ok) => {
        dialog.close();
        resolve(ok);
      };
      // Element.append would write a skipped (null) part as the text "null".
      dialog.append(...[
        h("h2", { i18n: titleKey }),
        h("p", { i18n: bodyKey }),
        // Ending below the form's minimum counts nothing: said with the numbers.
        warning ? h("p", { class: "dialog-warn", role: "alert", "data-testid": "end-warning" }, icon("alert"), h("span", { text: warning })) : null,
        note ? h("p", { class: "muted small", "data-testid": "end-counted", text: note }) : null,
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { class: "btn ghost", type: "button", i18n: "dialog.cancel", onclick: () => close(false) }),
          h("button", { class: "btn danger", type: "button", i18n: okKey, "data-testid": testid, onclick: () => close(true) }),
        ),
      ].filter(Boolean));
      dialog.onclose = () => resolve(false);
      dialog.showModal();
    });
  }

  endBtn.addEventListener("click", async () => {
    await actions.refreshClock(); // the latest counted minutes (the server answers from its cache)
    const clock = client.getState().clock;
    const warn = endWarning(clock);
    const counted = clock && Number.isInteger(clock.counted_minutes) ? clock.counted_minutes : null;
    const warning = warn ? t("end.warn", warn) : null;
    const note = !warn && counted !== null ? t("end.counted", { counted }) : null;
    const review = (client.getState().session || {}).form === "review";
    const keys = review ? { titleKey: "end.title_review", bodyKey: "end.body_review", okKey: "controls.end_review" } : { titleKey: "end.title", bodyKey: "end.body", okKey: "end.confirm" };
    if (await confirmDialog({ ...keys, testid: "end-confirm", warning, note })) actions.endSession();
  });

  leaveBtn.addEventListener("click", async () => {
    if (!(await confirmDialog({ titleKey: "leave.title", bodyKey: "leave.body", okKey: "leave.confirm", testid: "leave-confirm" }))) return;
    left = true;
    actions.leave();
    render();
  });

  const parts = [
    mountStatus({ pill: statusSlot, banners, toasts, errorView }, client),
    mountClock(clockSlot, client),
    mountVideos(stage, client),
    mountControls(controls, client),
    mountBoard(boardArea, client, { confirmDialog }),
    mountChat(panels.chat, client),
    mountParticipants(panels.people, client),
    mountReport(panels.report, client),
    mountMarks(panels.marks, client),
    mountEnded(endedView, client),
  ];

  let prev = null;
  let scheduled = false;
  function render() {
    scheduled = false;
    const s = client.getState();
    if (prev && s.lang !== prev.lang) translateTree(root);
    root.dataset.phase = s.phase;
    root.dataset.role = (s.me && s.me.role) || "";
    root.dataset.observer = String(!!s.observer);
    show(observerBanner, !!s.observer && s.phase !== "error");
    root.dataset.form = (s.session && s.session.form) || "";
    const session = s.session || {};
    setText(title, session.title || t("app.name"));
    const bits = [];
    if (session.form) bits.push(t(`form.${session.form}`));
    // A review names my part in it: the presenter, a reviewer, or the reviewer who runs it.
    const mine = session.form === "review" && s.me ? roleKey("review", s.me.role) : null;
    if (mine) bits.push(t(mine === "role.reviewer" && s.caps.end ? "role.organiser" : mine));
    if (s.me && s.me.name) bits.push(s.me.name);
    setText(subtitle, bits.join(" · "));
    document.title = session.title ? `${session.title} · ${t("app.name")}` : t("app.name");
    root.dataset.left = String(left);
    show(leftView, left);
    show(endBtn, !!s.caps.end && s.phase !== "ended" && s.phase !== "error" && !left);
    const endKey = session.form === "review" ? "controls.end_review" : "controls.end";
    endLabel.dataset.i18n = endKey; // what a language switch re-translates
    setText(endLabel, t(endKey));
    endBtn.setAttribute("aria-label", t(endKey));
    const inRoom = s.phase === "connecting" || s.phase === "live" || s.phase === "reconnecting";
    show(leaveBtn, !left && !s.caps.end && !s.observer && (s.phase === "live" || s.phase === "reconnecting"));
    // The server's word only: while (re)connecting the last state is not known to hold.
    const recUnknown = !s.recordingKnown && s.joinedOnce;
    show(recBadge, inRoom && (s.recording.on || recUnknown));
    recBadge.classList.toggle("unknown", inRoom && recUnknown);
    setText(recBadgeLabel, t(recUnknown ? "recording.unknown" : "recording.badge"));
    // The instructor who runs the session (in a review the organiser; not the presenter).
    show(recBtn, !!s.caps.end && !!s.me && s.me.role === "instructor" && s.phase === "live");
    setText(recLabel, t(s.recording.on ? "recording.stop" : "recording.start"));
    recBtn.setAttribute("aria-label", recLabel.textContent);
    recBtn.setAttribute("aria-pressed", String(s.recording.on));
    show(recNotice, inRoom && !!(s.session && s.session.record) && !recNoticeClosed);

    const hasReport = !!s.caps.report;
    show(tabButtons.report, hasReport);
    const hasMarks = !!(s.me && s.me.role === "instructor" && session.programme === "tutoring");
    show(tabButtons.marks, hasMarks);
    const hidden = (s.panel === "report" && !hasReport) || (s.panel === "marks" && !hasMarks) || (s.panel === "board" && !narrow.matches);
    const panel = hidden ? "chat" : s.panel;
    root.dataset.panel = panel; // narrow: the board shows as a tab (app.css)
    for (const [name, el] of Object.entries(panels)) show(el, name === panel);
    for (const [name, btn] of Object.entries(tabButtons)) btn.setAttribute("aria-selected", String(name === panel));
    const unread = s.chat.unread;
    show(tabButtons.chat.badge, unread > 0);
    setText(tabButtons.chat.badge, unread > 99 ? "99+" : unread);
    const hands = s.people.filter((p) => p.present !== false && p.hand).length;
    show(tabButtons.people.badge, hands > 0);
    setText(tabButtons.people.badge, hands);

    for (const part of parts) part(s, prev);
    prev = s;
  }
  // Coalesce bursts of events into one render per frame; the timer keeps a
  // hidden tab (rAF paused, e.g. while sharing another window) up to date.
  const run = () => scheduled && render();
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(run);
      setTimeout(run, 60);
    }
  };
  client.subscribe(schedule);
  // Narrower than the console (a phone, a tablet upright) the page opens on the board,
  // the chat one tap away with its badge counting; the console shows the board anyway,
  // so turning a tablet between the two swaps the board tab and the console's chat.
  const narrow = matchMedia(NARROW);
  const fit = () => {
    const panel = client.getState().panel;
    if (narrow.matches && panel === "chat") actions.setPanel("board");
    else if (!narrow.matches && panel === "board") actions.setPanel("chat");
  };
  narrow.addEventListener("change", () => {
    fit();
    schedule();
  });
  fit();
  render();
  return { render };
}
