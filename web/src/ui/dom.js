// Small DOM helpers shared by the ui/ modules: element building, keyed list
// updates (so video elements and chat bubbles are never rebuilt) and icons.

import { t } from "../i18n.js";

/**
 * h("button", {class: "btn", i18n: "chat.send", onclick: fn, "data-testid": "chat-send"}, child…)
 * Props: class, text, i18n (translated text kept in sync on language change),
 * i18nTitle / i18nPlaceholder / i18nAria, on<event>, anything else as an attribute
 * (true → present, false/null → absent).
 */
export function h(tag, props, ...children) {
  const el = tag === "svg" || tag === "path" ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = v;
    else if (k === "i18n") {
      el.dataset.i18n = v;
      el.textContent = t(v);
    } else if (k === "i18nTitle") {
      el.dataset.i18nTitle = v;
      el.title = t(v);
    } else if (k === "i18nPlaceholder") {
      el.dataset.i18nPlaceholder = v;
      el.placeholder = t(v);
    } else if (k === "i18nAria") {
      el.dataset.i18nAria = v;
      el.setAttribute("aria-label", t(v));
    } else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Set text only when it changed (keeps selection and avoids layout work). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

export function show(el, on) {
  el.hidden = !on;
}

/**
 * Keep container's children in the order of `items`, creating, updating and
 * removing by key. Returns nothing; `update(el, item)` runs for every item.
 */
export function syncList(container, items, keyOf, create, update) {
  const old = new Map();
  for (const child of [...container.children]) old.set(child.dataset.key, child);
  let prev = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let el = old.get(key);
    if (el) old.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    const want = prev ? prev.nextElementSibling : container.firstElementChild;
    if (el !== want) container.insertBefore(el, want);
    prev = el;
  }
  for (const el of old.values()) el.remove();
}

export function initial(name) {
  const s = String(name || "?").trim();
  return [...s][0] || "?";
}

export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// ---- icons: simple 24×24 line drawings (stroke = currentColor) -------------
const ICONS = {
  mic: "M9 6a3 3 0 0 1 6 0v5a3 3 0 0 1-6 0z M5.5 11a6.5 6.5 0 0 0 13 0 M12 17.5V21",
  micOff: "M9 6a3 3 0 0 1 6 0v5a3 3 0 0 1-6 0z M5.5 11a6.5 6.5 0 0 0 13 0 M12 17.5V21 M4 4l16 16",
  cam: "M3.5 7.5h11v9h-11z M14.5 10.5l6-3v9l-6-3",
  camOff: "M3.5 7.5h11v9h-11z M14.5 10.5l6-3v9l-6-3 M3 4l17 16",
  screen: "M3.5 4.5h17v11h-17z M8 20h8 M12 15.5V20",
  hand: "M8 12.5V6.5a1.5 1.5 0 0 1 3 0V11 M11 10.5V5a1.5 1.5 0 0 1 3 0v5.5 M14 10.5V6.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-.6a6 6 0 0 1-4.7-2.3L3.6 14.3a1.6 1.6 0 0 1 2.5-2L8 14.5",
  pen: "M4 20l1-4.5L16 4.5a2.1 2.1 0 0 1 3 3L8 18.5z M14.5 6l3 3",
  eraser: "M8 20h12 M4.8 15.2l9.4-9.4a2 2 0 0 1 2.8 0l2.2 2.2a2 2 0 0 1 0 2.8L11 19H8.6z M9.5 10.5l4 4",
  undo: "M9 14L4 9l5-5 M4 9h10.5a5.5 5.5 0 0 1 0 11H11",
  trash: "M4 7h16 M9.5 7V4.5h5V7 M6.5 7l1 13h9l1-13 M10 11v5.5 M14 11v5.5",
  image: "M3.5 5.5h17v13h-17z M8.5 11a1.6 1.6 0 1 0 0-3.2 1.6 1.6 0 0 0 0 3.2z M20.5 15.5l-5-5-9 8",
  camera: "M3.5 8.5h3.5l2-3h6l2 3h3.5v11h-17z M12 16.5a3.3 3.3 0 1 0 0-6.6 3.3 3.3 0 0 0 0 6.6z",
  send: "M4 12L20 4l-5.5 16-3-6.5z M11.5 13.5L20 4",
  power: "M12 3v8 M6.5 6.8a7.8 7.8 0 1 0 11 0",
  sound: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z M15.5 9a4 4 0 0 1 0 6 M18 6.5a7.5 7.5 0 0 1 0 11",
  people: "M9 11.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z M2.5 20a6.5 6.5 0 0 1 13 0 M16.5 11a2.7 2.7 0 1 0 0-5.4 M17.5 14a5 5 0 0 1 4 5.5",
  chat: "M4 5h16v11H10l-5 4v-4H4z",
  report: "M6 3h9l4 4v14H6z M14.5 3v4.5H19 M9 12h7 M9 16h7",
  globe: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M3 12h18 M12 3c2.8 3 2.8 15 0 18 M12 3c-2.8 3-2.8 15 0 18",
  star: "M12 3.5l2.6 5.6 6.1.7-4.5 4.2 1.2 6L12 17l-5.4 3 1.2-6-4.5-4.2 6.1-.7z",
  clip: "M19.5 11.5l-7.8 7.8a5 5 0 0 1-7-7L12.5 4.5a3.3 3.3 0 0 1 4.7 4.7L9.4 17a1.7 1.7 0 0 1-2.4-2.4l7.2-7.2",
  alert: "M12 3.5l9.5 16.5h-19z M12 10v4.5 M12 17.3v.2",
  wifi: "M2.5 9a14 14 0 0 1 19 0 M5.5 12.5a9.5 9.5 0 0 1 13 0 M8.7 15.8a5 5 0 0 1 6.6 0 M12 19.3v.2",
  check: "M4.5 12.5l5 5 10-11",
  close: "M6 6l12 12 M18 6L6 18",
  stage: "M12 3.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7z M5 20.5a7 7 0 0 1 14 0 M3 14l2 1.5 M21 14l-2 1.5",
  leave: "M14 4.5h5v15h-5 M10 8l-4 4 4 4 M6 12h9",
  rec: "M12 16.5a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9z M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z",
  play: "M7.5 5v14l11-7z",
  timer: "M12 21a8 8 0 1 0 0-16 8 8 0 0 0 0 16z M12 9v4l2.5 2 M9.5 2.5h5",
  pause: "M8 5.5v13 M16 5.5v13",
  download: "M12 4v11 M7 10.5l5 5 5-5 M4.5 19.5h15",
  board: "M3.5 4.5h17v12h-17z M9 20.5l3-4 3 4 M7 12.5c2-4 4-4 5-1.5s3 2.5 5-2",
  speaker: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z M15.5 9a4 4 0 0 1 0 6",
};

export function icon(name, cls = "icon") {
  const svg = h("svg", { class: cls, viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" });
  svg.append(h("path", { d: ICONS[name] || ICONS.alert }));
  return svg;
}

/** Replace an icon inside el (keeps the element). */
export function setIcon(el, name) {
  if (el.dataset.icon === name) return;
  el.dataset.icon = name;
  const old = el.querySelector("svg.icon");
  const next = icon(name);
  if (old) old.replaceWith(next);
  else el.prepend(next);
}
