// The action bar: microphone, camera, screen share, raise hand. A learner
// sees the media buttons only when allowed to publish (one_to_one, review,
// or on stage in a lecture/classroom).

import { h, icon, setIcon, setText, show } from "./dom.js";
import { t } from "../i18n.js";

function button(testid, iconName, onclick) {
  const label = h("span", { class: "label" });
  const el = h("button", { class: "ctl", type: "button", "data-testid": testid, onclick }, icon(iconName), label);
  el.labelEl = label;
  return el;
}

export function mountControls(bar, client) {
  const { actions } = client;
  const mic = button("mic-button", "mic", () => actions.toggleMic());
  const cam = button("camera-button", "cam", () => actions.toggleCamera());
  const screen = button("screen-button", "screen", () => actions.toggleScreen());
  const hand = button("hand-button", "hand", () => actions.raiseHand());
  // Data saver (issue 13): audio and the whiteboard only, for a learner on a weak or costly link.
  const saver = button("saver-button", "camOff", () => actions.toggleSaver());
  const stageNote = h("p", { class: "stage-note", hidden: true });

  // The stage invitation (issue 12, item 5): the learner says yes or no; the microphone
  // comes first and the camera only if they tick it, unticked for a minor (tutoring).
  const camChoice = h("input", { type: "checkbox", "data-testid": "invite-camera" });
  // A modal sheet: the question waits for an answer (the class goes on behind it);
  // Escape is "no, thanks".
  const invite = h(
    "dialog",
    { class: "invite-sheet", "data-testid": "stage-invite", hidden: true },
    h("div", { class: "invite-head" }, icon("stage"), h("strong", { i18n: "controls.invite_title" })),
    h("p", { class: "muted small", i18n: "controls.invite_body" }),
    h("label", { class: "invite-camera" }, camChoice, h("span", { i18n: "controls.invite_camera" })),
    h(
      "div",
      { class: "invite-actions" },
      h("button", { class: "btn", type: "button", "data-testid": "invite-decline", onclick: () => actions.answerStage(false) }, h("span", { class: "label", i18n: "controls.invite_decline" })),
      h("button", { class: "btn primary", type: "button", "data-testid": "invite-accept", onclick: () => actions.answerStage(true, camChoice.checked) }, icon("mic"), h("span", { class: "label", i18n: "controls.invite_accept" })),
    ),
  );
  bar.after(invite);
  invite.addEventListener("cancel", (e) => {
    e.preventDefault();
    actions.answerStage(false);
  });
  let asked = false;
  bar.append(mic, cam, screen, hand, saver, stageNote);

  return (s) => {
    const live = s.phase === "live" || s.phase === "reconnecting";
    const pub = new Set(s.caps.publish || []);
    const local = s.media.local;
    const role = s.me && s.me.role;
    const form = s.session && s.session.form;
    const broadcast = form === "lecture" || form === "classroom";

    show(mic, live && pub.has("audio"));
    setIcon(mic, local.audio ? "mic" : "micOff");
    mic.classList.toggle("off", !local.audio);
    mic.setAttribute("aria-pressed", String(local.audio));
    setText(mic.labelEl, t(local.audio ? "controls.mic_on" : "controls.mic_off"));
    mic.disabled = s.media.starting;

    const camOn = local.video && !local.screen;
    show(cam, live && pub.has("video"));
    setIcon(cam, camOn ? "cam" : "camOff");
    cam.classList.toggle("off", !camOn);
    cam.setAttribute("aria-pressed", String(camOn));
    setText(cam.labelEl, t(camOn ? "controls.cam_on" : "controls.cam_off"));
    cam.disabled = s.media.starting || local.screen;

    show(screen, live && pub.has("video") && actions.canShareScreen());
    screen.classList.toggle("active", local.screen);
    screen.setAttribute("aria-pressed", String(local.screen));
    setText(screen.labelEl, t(local.screen ? "controls.screen_stop" : "controls.screen_start"));

    const up = !!(s.me && s.me.hand);
    show(hand, live && role === "learner" && broadcast);
    hand.classList.toggle("active", up);
    hand.setAttribute("aria-pressed", String(up));
    setText(hand.labelEl, t(up ? "controls.hand_down" : "controls.hand_up"));

    show(saver, live && role === "learner");
    saver.classList.toggle("active", s.saver);
    saver.setAttribute("aria-pressed", String(s.saver));
    setText(saver.labelEl, t(s.saver ? "controls.saver_on" : "controls.saver_off"));

    // Tell a learner in a lecture what being on stage means.
    const onStage = role === "learner" && broadcast && pub.size > 0;
    show(stageNote, live && onStage);
    if (onStage) setText(stageNote, t("controls.on_stage"));
    bar.hidden = !live || (!pub.size && role !== "learner");

    const invited = live && role === "learner" && !!(s.me && s.me.invited) && !pub.size;
    if (invited && !asked) camChoice.checked = !(s.session && s.session.programme === "tutoring"); // minors: off
    asked = invited;
    show(invite, invited);
    if (invited && !invite.open && invite.isConnected) invite.showModal();
    else if (!invited && invite.open) invite.close();
  };
}
