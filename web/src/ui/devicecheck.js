// The device check before joining (issue 12, item 1), on a phone and on a laptop:
// my camera's picture, a microphone level that moves with my voice, a test sound for
// the speaker, then one button into the session. Nothing is sent anywhere: the
// check's camera and microphone are closed before the room opens its own. The tap on
// "join" is also the page's first user gesture, so the session's sound plays at once.
//
// When it is skipped: device-check.js (skipReason). A link that cannot be used
// (GET /api/v1/me refuses it) and an ended session skip it too: the room's own pages
// say what is wrong.

import { h, icon, setText, show } from "./dom.js";
import { t, translateTree } from "../i18n.js";
import { audienceOnly, HEARD_SHARE, meterShare, rememberPassed, rms } from "../device-check.js";
import { mediaErrorReason } from "../local-media.js";

/**
 * Show the check in `root` and resolve when the person taps "join" (or at once when
 * the link is refused or the session is over). `me()` is GET /api/v1/me;
 * `setLang(lang)` loads and remembers a language; `session` is sessionStorage.
 */
export async function runDeviceCheck(root, { me, claims, setLang, lang, phone = false, session = globalThis.sessionStorage }) {
  let info = null;
  try {
    info = await me();
  } catch (err) {
    if (err && [401, 403, 404].includes(err.status)) return; // the room shows the error page
  }
  const s = (info && info.session) || {};
  if (s.state === "ended") return;
  const person = (info && info.person) || {};
  const name = person.name || (claims && claims.name) || "";
  const audience = audienceOnly(s.form, person.role || (claims && claims.role));

  root.textContent = "";
  root.dataset.phase = "check";
  const title = h("p", { class: "title", text: s.title || "" });
  const subtitle = h("p", { class: "subtitle" });
  let current = lang;
  const langBtn = h("button", { class: "btn ghost small", type: "button", "data-testid": "lang-switch", i18nAria: "app.switch_lang" }, icon("globe"), h("span", { class: "label", i18n: "app.switch_lang" }));
  const header = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true", i18n: "app.logo" }), h("div", { class: "titles" }, title, subtitle)),
    h("div", { class: "topbar-actions" }, langBtn),
  );

  const video = h("video", { "data-testid": "check-video", autoplay: true, playsinline: true, muted: true });
  video.muted = true;
  const empty = h("div", { class: "check-empty" });
  const preview = h("div", { class: "check-preview" }, video, empty);

  const camHint = h("p", { class: "muted small", i18n: "check.camera_hint" });
  const heard = h("span", { class: "ok", "data-testid": "check-heard", i18n: "check.mic_ok", hidden: true });
  const level = h("span", { class: "check-level", "data-testid": "check-level" });
  const meter = h("div", { class: "check-meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0", i18nAria: "check.mic" }, level);
  const micHint = h("p", { class: "muted small", i18n: "check.mic_hint" });
  // A browser that starts sound only after a tap (phones): the meter waits for one.
  const micTap = h("button", { class: "btn small", type: "button", "data-testid": "check-mic-tap", hidden: true }, icon("mic"), h("span", { class: "label", i18n: "check.mic_tap" }));
  const playBtn = h("button", { class: "btn", type: "button", "data-testid": "check-speaker" }, icon("sound"), h("span", { class: "label", i18n: "check.speaker_play" }));
  const media = h(
    "div",
    { class: "check-items" },
    h("section", { class: "check-item" }, h("h2", {}, icon("cam"), h("span", { i18n: "check.camera" })), camHint),
    h("section", { class: "check-item" }, h("h2", {}, icon("mic"), h("span", { i18n: "check.mic" }), heard), meter, micTap, micHint),
    h("section", { class: "check-item" }, h("h2", {}, icon("speaker"), h("span", { i18n: "check.speaker" })), playBtn, h("p", { class: "muted small", i18n: "check.speaker_hint" })),
  );
  const problem = h("p", { class: "check-problem", "data-testid": "check-problem", role: "status", hidden: true });
  const startBtn = h("button", { class: "btn", type: "button", "data-testid": "check-start", hidden: !audience }, icon("cam"), h("span", { class: "label", i18n: "check.start" }));
  const joinLabel = h("span", { class: "label", i18n: "check.join" });
  const joinBtn = h("button", { class: "btn primary", type: "button", "data-testid": "check-join" }, icon("check"), joinLabel);
  const hello = h("p", { class: "check-hello" });
  const card = h(
    "section",
    { class: "card check-card", "data-testid": "device-check" },
    h("h1", { i18n: "check.title" }),
    hello,
    h("div", { class: "check-grid" }, preview, media),
    problem,
    h("div", { class: "check-actions" }, startBtn, joinBtn),
  );
  root.append(header, h("main", { class: "check" }, card));

  let stream = null;
  let audio = null; // {ctx, analyser, raf}
  let deniedReason = null;
  let heardOnce = false;
  let started = false;

  function words() {
    setText(hello, name ? t("check.hello", { name }) : "");
    setText(subtitle, s.form ? t(`form.${s.form}`) : "");
    show(problem, !!deniedReason);
    if (deniedReason) setText(problem, t(`banner.denied.${deniedReason}`));
    // Over the preview until my picture is there: starting, none, or (audience) why none yet.
    const picture = !!stream && stream.getVideoTracks().length > 0;
    const waiting = audience && !started ? "check.audience" : !stream && !deniedReason ? "check.starting" : "check.no_camera";
    show(empty, !picture);
    if (!picture) setText(empty, t(waiting));
    joinLabel.dataset.i18n = deniedReason ? "check.join_anyway" : "check.join";
    setText(joinLabel, t(joinLabel.dataset.i18n));
  }

  langBtn.addEventListener("click", async () => {
    current = await setLang(current === "en" ? "zh-CN" : "en");
    translateTree(root);
    words();
  });

  function meterLoop() {
    if (!audio) return;
    const buf = new Float32Array(audio.analyser.fftSize);
    audio.analyser.getFloatTimeDomainData(buf);
    const share = meterShare(rms(buf));
    level.style.width = `${Math.round(share * 100)}%`;
    meter.setAttribute("aria-valuenow", String(Math.round(share * 100)));
    if (share >= HEARD_SHARE && !heardOnce) {
      heardOnce = true;
      show(heard, true);
      root.dataset.heard = "true";
    }
    audio.raf = requestAnimationFrame(meterLoop);
  }

  function audioContext() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    return Ctx ? new Ctx() : null;
  }

  async function start() {
    started = true;
    const md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) {
      deniedReason = "insecure";
      words();
      return;
    }
    show(startBtn, false);
    words();
    const audioWanted = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    const videoWanted = phone ? { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } } : { width: { ideal: 960 }, height: { ideal: 540 } };
    try {
      stream = await md.getUserMedia({ audio: audioWanted, video: videoWanted });
    } catch (err) {
      deniedReason = mediaErrorReason(err);
      if (deniedReason !== "denied") {
        try {
          stream = await md.getUserMedia({ audio: audioWanted, video: false }); // no camera: the microphone alone
        } catch (err2) {
          deniedReason = mediaErrorReason(err2);
        }
      }
    }
    if (stream) {
      video.srcObject = stream;
      video.play().catch(() => {});
      root.dataset.camera = String(stream.getVideoTracks().length > 0);
      if (stream.getAudioTracks().length) {
        const ctx = audioContext();
        if (ctx) {
          const analyser = ctx.createAnalyser();
          analyser.fftSize = 1024;
          ctx.createMediaStreamSource(stream).connect(analyser);
          audio = { ctx, analyser, raf: 0 };
          meterLoop();
          wake();
        }
      }
    }
    words();
  }

  // Sound may start only after a tap: any tap in the check wakes the meter.
  function wake() {
    if (!audio || audio.ctx.state !== "suspended") {
      show(micTap, false);
      return;
    }
    audio.ctx.resume().then(() => show(micTap, audio && audio.ctx.state === "suspended"), () => {});
    show(micTap, audio.ctx.state === "suspended");
  }
  root.addEventListener("pointerdown", wake);
  micTap.addEventListener("click", wake);

  // The speaker: a short two-note chime made here (nothing to download).
  let chime = null;
  playBtn.addEventListener("click", () => {
    chime = chime || audioContext();
    if (!chime) return;
    chime.resume().catch(() => {});
    const now = chime.currentTime;
    [[660, 0], [880, 0.35]].forEach(([freq, at]) => {
      const osc = chime.createOscillator();
      const gain = chime.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.3, now + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.5);
      osc.connect(gain).connect(chime.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.55);
    });
    root.dataset.played = String(Number(root.dataset.played || 0) + 1);
  });
  startBtn.addEventListener("click", () => start());

  words();
  if (!audience) start();

  await new Promise((resolve) => joinBtn.addEventListener("click", resolve, { once: true }));
  // Close everything of the check: the room opens the camera and microphone it may use.
  root.removeEventListener("pointerdown", wake);
  if (audio) {
    cancelAnimationFrame(audio.raf);
    audio.ctx.close().catch(() => {});
    audio = null;
  }
  if (chime) chime.close().catch(() => {});
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
  rememberPassed(session, claims);
  return current;
}
