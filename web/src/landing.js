// Entry point of /: the landing page (issue 12, item 7). Its words are in the markup
// as data-i18n keys, in Chinese for a first paint without waiting for the dictionary;
// this only applies the chosen language and runs the switch.

import { loadLang, storedLang, rememberLang, translateTree, lang, t } from "./i18n.js";

async function apply(want) {
  try {
    await loadLang(want);
  } catch {
    return; // the Chinese markup stays: still true, only not switched
  }
  translateTree(document);
  document.title = t("landing.page_title");
}

async function main() {
  await apply(storedLang());
  const button = document.querySelector("[data-testid=lang-switch]");
  button.addEventListener("click", async () => {
    const next = lang() === "en" ? "zh-CN" : "en";
    rememberLang(next);
    await apply(next);
  });
}

main();
