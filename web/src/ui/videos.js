// Video tiles: one per remote person whose media reaches us, plus our own
// preview. Elements are kept per person so a re-render never restarts a video.
//
// Autoplay: a video first tries to play with sound; if the browser refuses
// (no user gesture yet) it plays muted and the "tap to enable sound" banner
// appears. One tap unmutes every remote video.

import { h, icon, initial, setIcon, setText, show, syncList } from "./dom.js";
import { t } from "../i18n.js";
import { roleKey, stageLayout, tileCaptionKey, tileEntries, tileOrder, waitingKey } from "../stage.js";
import { linkStatus } from "../presence.js";

let soundUnlocked = false;

function play(video, client) {
  video.muted = !soundUnlocked && video.dataset.forceMuted === "1";
  const p = video.play();
  if (!p || !p.catch) return;
  p.catch((err) => {
    if (err && err.name === "NotAllowedError" && !video.muted) {
      video.muted = true;
      video.dataset.forceMuted = "1";
      client.actions.soundBlocked();
      video.play().catch(() => {});
    }
  });
}

/** Called from a click: unmute and play every remote video. */
export function unlockSound(client) {
  soundUnlocked = true;
  for (const v of document.querySelectorAll('video[data-testid="remote-video"]')) {
    v.muted = false;
    v.dataset.forceMuted = "0";
    v.play().catch(() => {});
  }
  client.actions.soundEnabled();
}

export function mountVideos(stage, client) {
  const remoteList = h("div", { class: "tiles" });
  const placeholder = h("div", { class: "tile placeholder" }, h("div", { class: "placeholder-text" }));

  const localVideo = h("video", { "data-testid": "local-video", autoplay: true, playsinline: true, muted: true });
  localVideo.muted = true; // the attribute alone does not mute in every browser
  const localAvatar = h("div", { class: "avatar" });
  const localName = h("span", { class: "name" });
  const localMic = h("span", { class: "mic-state" });
  const localTile = h("div", { class: "tile local", hidden: true }, localVideo, localAvatar, h("div", { class: "tile-label" }, localMic, localName));

  stage.append(remoteList, placeholder, localTile);

  // A stream gets a new track → make sure the element plays it.
  const onTrack = (video) => () => play(video, client);

  function createTile(item) {
    const video = h("video", { "data-testid": "remote-video", "data-person": item.id, autoplay: true, playsinline: true });
    const avatar = h("div", { class: "avatar" });
    const name = h("span", { class: "name" });
    const mic = h("span", { class: "mic-state" });
    // Why there is no picture (our link, or data saver), or, for a teacher, this learner's link.
    const note = h("div", { class: "tile-note", "data-testid": "tile-note", hidden: true });
    // A review names the presenter and the reviewers; no picture: why, in the corner.
    const roleTag = h("span", { class: "tile-role", hidden: true });
    const caption = h("div", { class: "tile-caption", "data-testid": "tile-caption", hidden: true });
    const tile = h("div", { class: "tile remote", "data-person": item.id }, video, avatar, caption, note, h("div", { class: "tile-label" }, mic, name, roleTag));
    tile.parts = { video, avatar, name, mic, note, roleTag, caption };
    video.addEventListener("loadedmetadata", () => play(video, client));
    return tile;
  }

  function updateTile(tile, item) {
    const { video, avatar, name, mic, note } = tile.parts;
    const stream = client.streamFor(item.id);
    if (stream && video.srcObject !== stream) {
      if (video.srcObject && video.srcObject.removeEventListener) video.srcObject.removeEventListener("addtrack", video.trackHandler);
      video.srcObject = stream;
      video.trackHandler = onTrack(video);
      stream.addEventListener("addtrack", video.trackHandler);
      play(video, client);
    } else if (stream && video.paused) {
      play(video, client);
    }
    tile.classList.toggle("no-video", !item.media.video || item.audioOnly);
    tile.classList.toggle("audio-only", item.audioOnly);
    show(note, !!item.note);
    setText(note, item.note || "");
    tile.classList.toggle("instructor", item.role === "instructor");
    setText(avatar, initial(item.name));
    setText(name, item.name || "");
    setIcon(mic, item.media.audio ? "mic" : "micOff");
    mic.classList.toggle("off", !item.media.audio);
    show(mic, !item.linkDown); // while the server is away, no claim about anyone's microphone
    tile.classList.toggle("reconnecting", !!item.linkDown);
    const { roleTag, caption } = tile.parts;
    show(roleTag, !!item.roleLabel);
    setText(roleTag, item.roleLabel || "");
    show(caption, !!item.caption && !item.note);
    setText(caption, item.caption || "");
    tile.dataset.role = item.role || "";
  }

  return (s, prev) => {
    const byId = new Map(s.people.map((p) => [p.id, p]));
    // What the server sends us (rtc/quality.py): audio only shows a placeholder, never a frozen frame.
    const mine = (s.me && s.quality[s.me.id]) || null;
    const audioOnly = s.saver || (mine !== null && mine.level === "audio_only");
    const ownNote = s.saver || (mine && mine.reason === "saver") ? t("quality.saver") : audioOnly ? t("quality.audio_only") : "";
    const teacher = s.me && s.me.role === "instructor";
    const form = s.session && s.session.form;
    // The server unreachable: nothing is known of the others' cameras (presence.js).
    const linkDown = s.phase === "reconnecting" || linkStatus(s) !== null;
    const items = tileEntries(s)
      // Nobody's last frame stays on screen once the list says they left (issue 12, item 5).
      .filter(([id]) => (!s.me || id !== s.me.id) && (byId.get(id) || {}).present !== false)
      .map(([id, media]) => {
        const p = byId.get(id) || { id, name: "", role: "learner" };
        // A track the sender stopped keeps "flowing" here for a while; the server's
        // observation (person.media) says sooner when the camera went off.
        const seen = p.media || { audio: true, video: true };
        const shown = { audio: media.audio && seen.audio !== false, video: media.video && seen.video !== false };
        const link = teacher && p.role === "learner" ? s.quality[id] : null;
        const linkNote = link && link.level !== "full" && link.reason === "network" ? t(`quality.learner_${link.level}`) : "";
        const note = linkDown ? "" : audioOnly ? ownNote : linkNote;
        return { id, name: p.name, role: p.role, media: shown, audioOnly, note, order: p.role === "instructor" ? 0 : 1 };
      })
      .map((item) => {
        // Named for the form; without a picture, why: no camera, or not through yet.
        const seen = (byId.get(item.id) || {}).media || {};
        const key = form === "review" ? roleKey(form, item.role) : null;
        const captionKey = tileCaptionKey({ video: item.media.video, audioOnly: item.audioOnly, seenVideo: !!seen.video, linkDown });
        return { ...item, order: tileOrder(form, item.role), roleLabel: key ? t(key) : "", caption: captionKey ? t(captionKey) : "", linkDown };
      })
      .sort((a, b) => a.order - b.order);
    syncList(remoteList, items, (x) => x.id, createTile, updateTile);
    stage.dataset.count = String(items.length);

    // Placeholder when nobody's video is here yet (not for a lecturer, whose audience stays unseen).
    const role = s.me && s.me.role;
    const lecturer = role === "instructor" && (form === "lecture" || form === "classroom");
    const waiting = items.length === 0 && (s.phase === "live" || s.phase === "reconnecting") && !lecturer;
    show(placeholder, waiting);
    // The device offline: the network's fault; otherwise no blame, only "reconnecting".
    if (waiting && s.phase === "reconnecting") setText(placeholder.firstChild, t(linkStatus(s) === "offline" ? "stage.reconnecting" : "stage.tile_reconnecting"));
    else if (waiting) {
      // Everyone here has a tile in one_to_one and review, the teacher in a lecture:
      // no tile means nobody awaited has come yet (or their media is on its way).
      const others = s.people.filter((p) => p.present !== false && (!s.me || p.id !== s.me.id));
      const sending = others.find((p) => p.media && (p.media.audio || p.media.video));
      setText(placeholder.firstChild, t(sending ? "stage.connecting_video" : waitingKey(form, role, !!s.teacherSeen)));
    }

    // Our own preview.
    const local = s.media.local;
    const publishing = local.audio || local.video || local.screen || (s.caps.publish || []).length > 0;
    const selfShown = publishing && s.phase !== "ended" && s.phase !== "error";
    show(localTile, selfShown);
    // The arrangement (app.css): never my picture over the waiting line or a name.
    stage.dataset.layout = stageLayout(items.length, waiting);
    stage.dataset.self = String(selfShown);
    if (!prev || prev.media.local !== local || localVideo.srcObject !== client.localStream()) {
      const stream = client.localStream();
      if (stream && localVideo.srcObject !== stream) localVideo.srcObject = stream;
      if (stream) localVideo.play().catch(() => {});
    }
    localTile.classList.toggle("no-video", !local.video);
    localTile.classList.toggle("mirror", local.video && !local.screen);
    setText(localAvatar, initial(s.me && s.me.name));
    setText(localName, t("stage.me"));
    setIcon(localMic, local.audio ? "mic" : "micOff");
    localMic.classList.toggle("off", !local.audio);
  };
}
