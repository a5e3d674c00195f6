// Connection status: the pill in the top bar (data-testid="status"), the
// banners under it (reconnecting, camera/mic denied, media trouble, sound),
// short notices, and the full-page card when the link cannot be used.

import { h, icon, setIcon, setText, show } from "./dom.js";
import { t } from "../i18n.js";
import { unlockSound } from "./videos.js";
import { linkStatus, pill as pillOf } from "../presence.js";

const ERROR_TITLES = {
  no_token: "error.invalid_link",
  bad_token: "error.invalid_link",
  unknown_session: "error.invalid_link",
  expired: "error.expired",
  full: "error.full",
  replaced: "error.replaced",
  disconnected: "error.disconnected",
};

export function mountStatus({ pill, banners, toasts, errorView }, client) {
  const dot = h("span", { class: "dot", "aria-hidden": "true" });
  const label = h("span", { class: "label" });
  const status = h("span", { class: "status-pill", "data-testid": "status", "data-state": "connecting", role: "status" }, dot, label);
  pill.append(status);

  // Banners: created once, shown when their condition holds.
  // The link's trouble and whose it is (presence.js): reconnecting, this device offline,
  // or the server not answering (never the student's Wi-Fi then).
  const reconnecting = h("div", { class: "banner warn", hidden: true, "data-testid": "link-banner" }, icon("wifi"), h("span", { class: "text" }));
  const deniedText = h("div", { class: "text" });
  let dismissed = null; // the denial the user closed
  const deniedClose = h("button", { class: "icon-btn small", type: "button", i18nAria: "dialog.close", onclick: () => { dismissed = client.getState().media.denied; show(denied, false); } }, icon("close"));
  const denied = h("div", { class: "banner info", hidden: true }, icon("camOff"), deniedText, deniedClose);
  const mediaTrouble = h("div", { class: "banner warn", hidden: true }, icon("alert"), h("span", { class: "text", i18n: "banner.media_trouble" }));
  const soundBtn = h(
    "button",
    { class: "btn primary", type: "button", "data-testid": "sound-button", onclick: () => unlockSound(client) },
    icon("sound"),
    h("span", { class: "label", i18n: "banner.enable_sound" }),
  );
  const sound = h("div", { class: "banner sound", hidden: true }, h("span", { class: "text", i18n: "banner.sound_blocked" }), soundBtn);
  banners.append(reconnecting, sound, denied, mediaTrouble);

  const errIcon = h("div", { class: "card-icon" }, icon("alert"));
  const errTitle = h("h2");
  const errBody = h("p", { class: "muted" });
  const errDetail = h("p", { class: "detail" });
  const errAction = h("button", { class: "btn primary", type: "button", onclick: () => location.reload() }, h("span", { class: "label", i18n: "error.retry" }));
  errorView.append(h("div", { class: "card" }, errIcon, errTitle, errBody, errDetail, errAction));

  return (s, prev) => {
    const lang = !prev || prev.lang !== s.lang;
    const p = pillOf(s);
    status.dataset.state = p.state;
    status.dataset.detail = p.detail;
    setText(label, t(p.key));

    // Banners.
    const link = linkStatus(s);
    show(reconnecting, !!link);
    reconnecting.dataset.link = link || "";
    reconnecting.classList.toggle("error", link === "server");
    if (link) setText(reconnecting.querySelector(".text"), t(`banner.${link}`));
    const wantsToPublish = (s.caps.publish || []).length > 0;
    show(denied, s.phase === "live" && !!s.media.denied && s.media.denied !== dismissed && wantsToPublish);
    if (s.media.denied) setText(deniedText, t(`banner.denied.${s.media.denied}`));
    show(mediaTrouble, s.phase === "live" && (s.media.pc === "failed" || s.media.pc === "disconnected"));
    show(sound, s.media.soundBlocked && s.phase === "live");

    // Notices (toasts).
    if (lang || !prev || prev.notices !== s.notices) {
      toasts.textContent = "";
      for (const n of s.notices) {
        let text = t(n.key, n.params);
        if (n.code) {
          const specific = t(`error.code.${n.code}`);
          // Never the server's message (a developer's English, seen under a Chinese
          // page): the code's own words, or the plain "did not work".
          text = specific !== `error.code.${n.code}` ? specific : text;
        }
        const ico = n.icon || (n.level === "error" ? "alert" : "check");
        toasts.append(h("div", { class: `toast ${n.level}`, "data-notice": n.key }, icon(ico), h("span", {}, text)));
      }
    }

    // The page for a link that cannot be used.
    if (s.phase === "error" && (lang || !prev || prev.error !== s.error)) {
      const code = (s.error && s.error.code) || "disconnected";
      // A replaced tab that learned the session is over says so (not "reconnect").
      const over = code === "replaced" && s.error.ended;
      setText(errTitle, t(over ? "ended.title" : ERROR_TITLES[code] || "error.disconnected"));
      setText(errBody, t(over ? "error.body.replaced_ended" : `error.body.${ERROR_TITLES[code] ? code : "disconnected"}`));
      // Never the server's message (a developer's English): the support code, which the
      // help desk finds in the server's log beside that message.
      setText(errDetail, s.error && s.error.support ? t("error.support", { code: s.error.support }) : "");
      show(errAction, (code === "replaced" && !over) || code === "disconnected");
      setIcon(errIcon, over ? "check" : "alert"); // an ended class is no error
      errIcon.classList.toggle("calm", over);
    }
  };
}
