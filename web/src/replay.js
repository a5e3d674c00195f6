// Entry point of /replay?r=…&v=…&exp=…&sig=… : the presenter's video, every
// voice, the whiteboard redrawn from the op log and the chat, all on one clock;
// play/pause, seek, 1×/1.5×/2×. Laptop: video and chat beside the board; phone
// in portrait: video, board, controls and chat stacked.
//
// window.opentutorReplay = {state(), play(), pause(), seek(t), setRate(r)} for
// end-to-end tests.

import { loadLang, rememberLang, t, translateTree, lang, loadStartLang } from "./i18n.js";
import { h, icon, setIcon, setText, show, syncList } from "./ui/dom.js";
import { BoardCanvas, visibleStrokes } from "./whiteboard.js";
import {
  AHEAD_S, SPEEDS, BoardTimeline, chatUntil, formatTime, lostSpans, manifestUrl, presenterVideo, audioTracks,
} from "./replay-model.js";
import { TrackPlayer, ReplayClock, mseSupported } from "./replay-player.js";

const root = document.getElementById("replay");

// What went wrong is said in the page's language; the only other thing shown is the
// server's support code (X-Support-Code), which the help desk finds in the log, never a
// developer's message.
function fail(titleKey, support) {
  root.dataset.state = "error";
  root.textContent = "";
  root.append(
    h("div", { class: "replay-error card", "data-testid": "replay-error" },
      h("div", { class: "card-icon" }, icon("alert")),
      h("h2", { i18n: titleKey }),
      h("p", { class: "muted", i18n: "replay.error_body" }),
      support ? h("p", { class: "detail", "data-testid": "support-code", text: t("replay.support", { code: support }) }) : null),
  );
}

async function main() {
  await loadStartLang();
  const url = manifestUrl(location.search);
  if (!url) return fail("replay.error");
  let manifest;
  try {
    const res = await fetch(url);
    if (!res.ok) return fail(res.status === 403 ? "replay.expired" : "replay.error", res.headers.get("X-Support-Code"));
    manifest = await res.json();
  } catch {
    return fail("replay.error");
  }
  mount(manifest);
}

function mount(manifest) {
  root.textContent = "";
  root.dataset.state = "ready";
  const duration = manifest.duration_s;
  document.title = `${manifest.session.title} · ${t("replay.title")}`;

  // ---- header
  const langBtn = h("button", { class: "btn ghost small", type: "button", "data-testid": "lang-switch" }, icon("globe"), h("span", { class: "label", i18n: "app.switch_lang" }));
  const download = h("a", { class: "btn ghost small", href: manifest.download_url, download: "", "data-testid": "replay-download" }, icon("download"), h("span", { class: "label", i18n: "replay.download" }));
  const subtitle = h("p", { class: "subtitle" });
  const header = h(
    "header", { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "学"),
      h("div", { class: "titles" }, h("h1", { class: "title", text: manifest.session.title }), subtitle)),
    h("div", { class: "topbar-actions" }, download, langBtn),
  );
  const incomplete = h("div", { class: "banner warn", hidden: manifest.complete, "data-testid": "replay-incomplete" }, icon("alert"), h("span", { class: "text" }));

  // ---- video (presenter) and voices
  const videoTrack = presenterVideo(manifest);
  const video = h("video", { class: "replay-video", playsinline: true, muted: true, "data-testid": "replay-video" });
  video.muted = true; // voices play from their own elements
  const camOff = h("div", { class: "replay-cam-off" }, icon("camOff"), h("span", { i18n: videoTrack ? "replay.camera_off" : "replay.no_video" }));
  const who = h("span", { class: "replay-who", text: videoTrack ? videoTrack.name : "" });
  const stage = h("section", { class: "replay-stage" }, h("div", { class: "replay-video-box" }, video, camOff, who));
  const voices = audioTracks(manifest).map(() => h("audio", { preload: "auto" }));

  // ---- board
  const bg = h("img", { class: "board-bg", alt: "", hidden: true, decoding: "async" });
  const canvas = h("canvas", { class: "board-canvas", "data-testid": "replay-board" });
  const boardArea = h("section", { class: "board-area replay-board" }, h("div", { class: "board-frame" }, h("div", { class: "board" }, bg, canvas)));

  // ---- chat
  const list = h("ol", { class: "chat-list", "data-testid": "replay-chat" });
  const empty = h("p", { class: "chat-empty", i18n: "replay.chat_empty" });
  const side = h("aside", { class: "side replay-side" },
    h("h2", { class: "replay-side-title" }, icon("chat"), h("span", { i18n: "replay.chat" })),
    h("div", { class: "chat-scroll" }, empty, list));

  // ---- controls
  const playBtn = h("button", { class: "icon-btn primary replay-play", type: "button", "data-testid": "replay-play", i18nAria: "replay.play" }, icon("play"));
  const time = h("span", { class: "replay-time", "data-testid": "replay-time" });
  const seek = h("input", { class: "replay-seek", type: "range", min: "0", max: String(duration), step: "0.1", value: "0", "data-testid": "replay-seek", i18nAria: "replay.seek" });
  const speeds = SPEEDS.map((r) => h("button", { class: "chip replay-speed", type: "button", "data-rate": r, "data-testid": `replay-speed-${r}`, text: `${r}×` }));
  const waitingNote = h("span", { class: "replay-waiting", hidden: true, i18n: "replay.buffering" });
  const controls = h("nav", { class: "replay-controls" }, playBtn, time, seek,
    h("div", { class: "replay-speeds", role: "group", i18nAria: "replay.speed" }, ...speeds), waitingNote);

  const main = h("main", { class: "replay-main" }, stage, boardArea, controls, side);
  root.append(header, incomplete, main, ...voices);

  // ---- players and clock
  const players = [];
  const mimes = [videoTrack, ...audioTracks(manifest)].filter(Boolean).map((tr) => tr.mime);
  const supported = mimes.every(mseSupported);
  if (!supported && mimes.length) incomplete.hidden = false;
  if (supported) {
    if (videoTrack) players.push(new TrackPlayer(video, videoTrack, manifest.segment_url, duration));
    audioTracks(manifest).forEach((tr, i) => players.push(new TrackPlayer(voices[i], tr, manifest.segment_url, duration)));
  }
  const clock = new ReplayClock(duration);
  const board = new BoardTimeline(manifest.board);
  const view = new BoardCanvas(canvas, { onStroke: () => {} });
  view.setTool({ enabled: false });
  let drawn = null;
  let seeking = false;

  const ready = Promise.all(players.map((p) => p.open())).catch((err) => {
    players.length = 0;
    console.error(err); // for whoever opens the developer tools; the page says it plainly
    fail("replay.error");
  });

  function render() {
    const now = clock.t;
    const b = board.at(now);
    if (b !== drawn) {
      drawn = b;
      view.render(visibleStrokes(b));
      const src = b.background || null;
      if ((bg.getAttribute("src") || null) !== src) {
        if (src) bg.src = src;
        else bg.removeAttribute("src");
      }
      show(bg, !!src);
    }
    const messages = chatUntil(manifest.chat, now);
    if (list.childElementCount !== messages.length) {
      syncList(list, messages, (m) => m.id, (m) => chatItem(m), () => {});
      show(empty, messages.length === 0);
      list.parentElement.scrollTop = list.parentElement.scrollHeight;
    }
    const camOn = videoTrack && players.length && players[0].covered(now) && players[0].has(now);
    show(camOff, !camOn);
    video.classList.toggle("off", !camOn);
    setText(time, `${formatTime(now)} / ${formatTime(duration)}`);
    if (!seeking) seek.value = String(now);
    setIcon(playBtn, clock.playing ? "pause" : "play");
    playBtn.setAttribute("aria-label", t(clock.playing ? "replay.pause" : "replay.play"));
    for (const s of speeds) s.setAttribute("aria-pressed", String(Number(s.dataset.rate) === clock.rate));
    show(waitingNote, clock.playing && clock.waiting);
    root.dataset.playing = String(clock.playing);
  }

  function chatItem(m) {
    return h("li", { class: "chat-item", "data-testid": "replay-chat-item" },
      h("div", { class: "meta" }, h("span", { class: "name", text: m.name || "" }), h("span", { text: formatTime(Math.max(0, m.t)) })),
      h("div", { class: "bubble" }, m.text ? h("p", { class: "text", text: m.text }) : null, m.image ? h("img", { src: m.image, alt: "", loading: "lazy" }) : null));
  }

  function translate() {
    translateTree(root);
    setText(subtitle, `${t("replay.title")} · ${new Date(manifest.started_at).toLocaleString(lang())}`);
    setText(incomplete.querySelector(".text"), supported || !mimes.length ? t("replay.incomplete", { spans: lostSpans(manifest.unrecorded) }) : t("replay.unsupported"));
    render();
  }

  const actions = {
    play() {
      if (clock.t >= duration) clock.seek(0);
      clock.playing = true;
      clock.last = performance.now();
      render();
    },
    pause() {
      clock.playing = false;
      render();
    },
    seek(to) {
      clock.seek(Number(to));
      for (const p of players) p.pump(clock.t);
      render();
    },
    setRate(r) {
      clock.rate = SPEEDS.includes(Number(r)) ? Number(r) : 1;
      render();
    },
  };

  playBtn.addEventListener("click", () => (clock.playing ? actions.pause() : actions.play()));
  seek.addEventListener("input", () => {
    seeking = true;
    actions.seek(seek.value);
  });
  seek.addEventListener("change", () => {
    seeking = false;
  });
  for (const s of speeds) s.addEventListener("click", () => actions.setRate(s.dataset.rate));
  langBtn.addEventListener("click", async () => {
    const got = await loadLang(lang() === "en" ? "zh-CN" : "en");
    rememberLang(got);
    translate();
  });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== "range") return;
    if (e.key === " ") {
      e.preventDefault();
      if (clock.playing) actions.pause();
      else actions.play();
    }
  });

  // One tick per frame while visible, and a timer so a background tab keeps time.
  let ticking = false;
  const tick = () => {
    if (ticking) return;
    ticking = true;
    clock.tick(players);
    render();
    ticking = false;
  };
  ready.then(() => {
    const loop = () => {
      tick();
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    setInterval(tick, 250);
    for (const p of players) p.pump(0);
  });

  translate();
  window.opentutorReplay = Object.freeze({
    ...actions,
    state: () => ({
      t: clock.t,
      playing: clock.playing,
      waiting: clock.waiting,
      rate: clock.rate,
      duration,
      strokes: drawn ? drawn.strokes.length : 0,
      chat: list.childElementCount,
      video: { time: video.currentTime, width: video.videoWidth, frames: video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0, paused: video.paused },
      voices: voices.map((a) => ({ time: a.currentTime, paused: a.paused })),
      loaded: players.map((p) => [...p.appended]),
      errors: players.filter((p) => p.failed).map((p) => String(p.failed.message)),
      ahead: AHEAD_S,
    }),
  });
}

main();
