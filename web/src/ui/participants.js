// Who is here: raised hands first, then who is on stage, then everyone else;
// people who left stay at the bottom, greyed. Instructors of a lecture or
// classroom grant and revoke stage (microphone + camera) and pen here. A learner
// of a big audience (audience.listed false) sees how many learners are here and
// only the people who matter: the teacher, raised hands, the stage, the pen.

import { h, icon, initial, setText, show, syncList } from "./dom.js";
import { t, tn } from "../i18n.js";
import { roleKey } from "../stage.js";

/** Sort order for the list. Pure. */
export function rank(p) {
  if (p.present === false) return 5;
  if (p.role === "instructor") return 0;
  if (p.hand) return 1;
  if (p.stage) return 2;
  if (p.pen) return 3;
  return 4;
}

/** The line above the list: everyone here, or in a big audience the learners' count. */
function summaryText(s, hands) {
  if (!s.audience.listed) {
    const n = s.audience.learners.toLocaleString(s.lang);
    return hands ? tn("people.audience_hands", hands, { n, hands }) : tn("people.audience", s.audience.learners, { n });
  }
  const present = s.people.filter((p) => p.present !== false).length;
  return hands ? tn("people.summary_hands", hands, { n: present, hands }) : t("people.summary", { n: present });
}

export function mountParticipants(panel, client) {
  const { actions } = client;
  const summary = h("p", { class: "people-summary", "data-testid": "people-summary" });
  const note = h("p", { class: "people-summary people-note", "data-testid": "people-note" });
  const list = h("ul", { class: "people-list" });
  // The instructor lowers every raised hand at once (hands_down).
  const handsDown = h("button", { class: "chip", type: "button", "data-testid": "hands-down", hidden: true, onclick: () => actions.handsDown() }, icon("hand"), h("span", { i18n: "people.hands_down" }));
  panel.append(summary, handsDown, note, list);

  let grant = false;
  let quality = {}; // person → their link's level (rtc/quality.py), told to instructors
  let form = null; // a review names the presenter and the reviewers (stage.js)
  let moderate = false; // an instructor: may mute a learner in every form
  let me = null;

  function create(p) {
    const avatar = h("span", { class: "avatar" });
    const name = h("span", { class: "name" });
    const tags = h("span", { class: "tags" });
    const stageBtn = h("button", { class: "chip", type: "button", "data-testid": "grant-stage", "data-person": p.id });
    const penBtn = h("button", { class: "chip", type: "button", "data-testid": "grant-pen", "data-person": p.id });
    // Off stage: invite (the learner answers); invited: withdraw; on stage: take off.
    stageBtn.addEventListener("click", () => actions.grant(p.id, "stage", stageBtn.dataset.on !== "true"));
    penBtn.addEventListener("click", () => actions.grant(p.id, "pen", penBtn.dataset.on !== "true"));
    const muteBtn = h("button", { class: "chip", type: "button", "data-testid": "mute", "data-person": p.id, i18nTitle: "people.mute_hint", onclick: () => actions.mute(p.id) }, icon("micOff"), h("span", { i18n: "people.mute" }));
    const grants = h("div", { class: "grants" }, stageBtn, penBtn, muteBtn);
    const li = h("li", { class: "person", "data-person": p.id }, avatar, h("div", { class: "who" }, name, tags), grants);
    li.parts = { avatar, name, tags, stageBtn, penBtn, muteBtn, grants };
    return li;
  }

  function tag(cls, key, ico) {
    return h("span", { class: `tag tag-${cls}` }, ico ? icon(ico) : null, t(key));
  }

  function update(li, p) {
    const { avatar, name, tags, stageBtn, penBtn, muteBtn, grants } = li.parts;
    li.classList.toggle("gone", p.present === false);
    li.classList.toggle("hand", !!p.hand && p.present !== false);
    setText(avatar, initial(p.name));
    setText(name, p.id === me ? `${p.name} (${t("people.me")})` : p.name);
    tags.textContent = "";
    const role = roleKey(form, p.role);
    if (role) tags.append(tag("role", role));
    if (p.present === false) tags.append(tag("gone", "people.gone"));
    else {
      if (p.hand) tags.append(tag("hand", "people.hand", "hand"));
      if (p.invited && !p.stage) tags.append(tag("invited", "people.invited", "stage"));
      if (p.stage && p.role !== "instructor") tags.append(tag("stage", "people.on_stage", "mic"));
      if (p.muted) tags.append(tag("muted", "people.muted", "micOff"));
      if (p.pen && p.role !== "instructor") tags.append(tag("pen", "people.pen", "pen"));
      const link = p.role === "learner" ? quality[p.id] : null;
      if (link && link.level !== "full" && link.reason === "network") tags.append(tag("link", `quality.learner_${link.level}`, "camOff"));
    }
    const here = p.role === "learner" && p.present !== false;
    const canGrant = grant && here;
    show(grants, (grant || moderate) && here);
    show(stageBtn, canGrant);
    show(penBtn, canGrant);
    // Mute only someone whose sound the server would forward (they may publish audio).
    const heard = p.stage || !grant;
    show(muteBtn, moderate && here && heard && !p.muted);
    stageBtn.dataset.on = String(!!p.stage || !!p.invited);
    penBtn.dataset.on = String(!!p.pen);
    stageBtn.classList.toggle("on", !!p.stage);
    penBtn.classList.toggle("on", !!p.pen);
    setText(stageBtn, t(p.stage ? "people.revoke_stage" : p.invited ? "people.withdraw_stage" : "people.grant_stage"));
    setText(penBtn, t(p.pen ? "people.revoke_pen" : "people.grant_pen"));
  }

  return (s, prev) => {
    if (prev && prev.people === s.people && prev.audience === s.audience && prev.caps === s.caps && prev.lang === s.lang && prev.me === s.me && prev.quality === s.quality) return;
    quality = s.quality || {};
    grant = !!s.caps.grant;
    form = (s.session && s.session.form) || null;
    moderate = !!(s.me && s.me.role === "instructor");
    me = s.me && s.me.id;
    const people = s.people
      .map((p, i) => ({ p, i }))
      .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
      .map((x) => x.p);
    syncList(list, people, (p) => p.id, create, update);
    const hands = s.people.filter((p) => p.present !== false && p.hand).length;
    setText(summary, summaryText(s, hands));
    show(handsDown, grant && hands > 0);
    show(note, !s.audience.listed);
    if (!s.audience.listed) setText(note, t("people.audience_note"));
  };
}
