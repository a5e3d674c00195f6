// Chat: messages with pictures, a text box, and picture buttons (gallery, and
// on phones the camera directly). Pictures are made small before upload.

import { h, icon, clock, setText, show, syncList } from "./dom.js";
import { t } from "../i18n.js";

export function mountChat(panel, client) {
  const { actions } = client;
  const list = h("ol", { class: "chat-list", "data-testid": "chat-list" });
  const empty = h("p", { class: "chat-empty", i18n: "chat.empty" });
  const sending = h("p", { class: "chat-sending", hidden: true });
  const scroller = h("div", { class: "chat-scroll" }, empty, list, sending);

  const pick = (input) => () => {
    const files = [...(input.files || [])];
    input.value = "";
    for (const f of files.slice(0, 5)) actions.sendImage(f);
  };
  const galleryInput = h("input", { type: "file", accept: "image/*", hidden: true, multiple: true, "data-testid": "chat-image-input" });
  galleryInput.addEventListener("change", pick(galleryInput));
  const cameraInput = h("input", { type: "file", accept: "image/*", capture: "environment", hidden: true, "data-testid": "chat-camera-input" });
  cameraInput.addEventListener("change", pick(cameraInput));
  const gallery = h("label", { class: "icon-btn", role: "button", tabindex: "0", i18nTitle: "chat.picture", i18nAria: "chat.picture" }, icon("image"), galleryInput);
  const camera = h("label", { class: "icon-btn camera-only", role: "button", tabindex: "0", i18nTitle: "chat.photo", i18nAria: "chat.photo" }, icon("camera"), cameraInput);
  for (const [label, input] of [[gallery, galleryInput], [camera, cameraInput]]) {
    label.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), input.click()));
  }

  const input = h("textarea", { class: "chat-input", rows: "1", maxlength: "2000", "data-testid": "chat-input", i18nPlaceholder: "chat.placeholder", i18nAria: "chat.placeholder", enterkeyhint: "send" });
  const send = h("button", { class: "icon-btn primary", type: "submit", "data-testid": "chat-send", i18nTitle: "chat.send", i18nAria: "chat.send" }, icon("send"));
  const form = h("form", { class: "composer" }, gallery, camera, input, send);

  async function submit(e) {
    if (e) e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    send.disabled = true;
    const ok = await actions.sendChat(text);
    send.disabled = false;
    if (ok && input.value === text) input.value = "";
    autosize();
    input.focus();
  }
  form.addEventListener("submit", submit);
  input.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter (and Enter while composing Chinese with an IME) does not.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
  });
  const autosize = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  };
  input.addEventListener("input", autosize);

  // A tapped picture opens large.
  const lightImg = h("img", { alt: "" });
  const lightbox = h("dialog", { class: "lightbox" }, lightImg, h("button", { class: "icon-btn close", type: "button", i18nAria: "dialog.close", onclick: () => lightbox.close() }, icon("close")));
  lightbox.addEventListener("click", (e) => e.target === lightbox && lightbox.close());
  panel.append(scroller, form, lightbox);

  function createItem(item) {
    const who = h("span", { class: "who" });
    const time = h("time", { class: "time" });
    const bubble = h("div", { class: "bubble" });
    if (item.text) bubble.append(h("p", { class: "text" }, item.text));
    if (item.image) {
      const img = h("img", { src: client.mediaUrl(item.image), alt: "", loading: "lazy", decoding: "async" });
      img.addEventListener("load", () => nearBottom(120) && scrollDown());
      img.addEventListener("click", () => {
        lightImg.src = img.src;
        lightbox.showModal();
      });
      bubble.append(img);
    }
    const li = h("li", { class: "chat-item", "data-testid": "chat-item", "data-id": item.id }, h("div", { class: "meta" }, who, time), bubble);
    li.parts = { who, time };
    return li;
  }

  let me = null;
  let lang = null;
  function updateItem(li, item) {
    li.classList.toggle("mine", item.from === me);
    setText(li.parts.who, item.from === me ? t("chat.me") : item.name || "");
    setText(li.parts.time, clock(item.ts));
  }

  const nearBottom = (slack = 80) => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < slack;
  const scrollDown = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };

  return (s, prev) => {
    const changed = !prev || prev.chat !== s.chat || prev.lang !== s.lang || prev.me !== s.me;
    if (!changed) return;
    const stick = nearBottom() || !prev;
    const lastBefore = list.lastElementChild && list.lastElementChild.dataset.key;
    me = s.me && s.me.id;
    if (lang !== s.lang) {
      lang = s.lang;
      list.textContent = ""; // re-create so "me" labels follow the language
    }
    syncList(list, s.chat.items, (c) => c.id, createItem, updateItem);
    show(empty, s.chat.items.length === 0);
    // An observer cannot ask anything: their empty chat says so instead of inviting it.
    if (s.chat.items.length === 0) {
      const key = s.observer ? "chat.empty_observer" : "chat.empty";
      empty.dataset.i18n = key; // what a language switch re-translates
      setText(empty, t(key));
    }
    show(sending, s.chat.sending > 0);
    setText(sending, t("chat.sending"));
    const last = s.chat.items[s.chat.items.length - 1];
    const newest = list.lastElementChild && list.lastElementChild.dataset.key;
    if (stick || (newest !== lastBefore && last && last.from === me)) scrollDown();
    const canChat = s.phase === "live" && !s.observer;
    show(form, !s.observer); // an observer reads the chat; the server refuses their messages
    input.disabled = !canChat;
    send.disabled = !canChat;
    form.classList.toggle("disabled", !canChat);
  };
}
