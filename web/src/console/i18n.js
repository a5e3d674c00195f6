// The console's strings: web/i18n/console.<lang>.json through the client's i18n
// module (same t(), same remembered language switch).

import { pickLang, setDictionary } from "../i18n.js";

export { t, lang, storedLang, rememberLang, translateTree, LANGS } from "../i18n.js";

export async function loadConsoleLang(l) {
  const want = pickLang(l);
  const url = new URL(`../../i18n/console.${want}.json`, import.meta.url);
  // Bounded like every console request (api.js): the caller falls back, never spins.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  try {
    const res = await fetch(url, { credentials: "same-origin", signal: abort.signal });
    if (!res.ok) throw new Error(`i18n ${want}: HTTP ${res.status}`);
    setDictionary(want, await res.json());
  } finally {
    clearTimeout(timer);
  }
  document.documentElement.lang = want;
  return want;
}
