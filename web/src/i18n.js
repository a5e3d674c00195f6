// Every visible string goes through t(key, params). Chinese by default; the
// English switch is remembered in localStorage. Strings live in
// web/i18n/<lang>.json as flat "area.name" keys; {name} marks a parameter.

export const LANGS = ["zh-CN", "en"];
export const DEFAULT_LANG = "zh-CN";
const STORAGE_KEY = "opentutor.lang";

let current = DEFAULT_LANG;
let dict = {};

/** Replace {name} markers with params.name. Pure. */
export function format(template, params) {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** The {name} markers a template uses, sorted. Pure. */
export function placeholders(template) {
  return [...new Set([...String(template).matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

export function t(key, params) {
  const s = dict[key];
  return format(s === undefined ? key : s, params);
}

/**
 * A counted text: `key_one` when the language's plural rule says "one" for `n` and the
 * dictionary has it (English "1 raised hand"), else `key`. Chinese has no plural forms.
 */
export function tn(key, n, params) {
  let rule = "other";
  try {
    rule = new Intl.PluralRules(current).select(Number(n));
  } catch {
    /* no Intl: the general form */
  }
  return t(rule === "one" && dict[`${key}_one`] !== undefined ? `${key}_one` : key, params);
}

export function lang() {
  return current;
}

export function pickLang(stored) {
  return LANGS.includes(stored) ? stored : DEFAULT_LANG;
}

export function storedLang(storage = globalThis.localStorage) {
  try {
    return pickLang(storage && storage.getItem(STORAGE_KEY));
  } catch {
    return DEFAULT_LANG;
  }
}

/** The language a link carries (`&lang=en`, set when a page follows its room to
 * another node), or null when it carries none or one this client does not have. Pure. */
export function linkLang(href) {
  try {
    const l = new URL(href).searchParams.get("lang");
    return LANGS.includes(l) ? l : null;
  } catch {
    return null;
  }
}

export function rememberLang(l, storage = globalThis.localStorage) {
  try {
    storage.setItem(STORAGE_KEY, l);
  } catch {
    /* private mode: the switch still works for this page */
  }
}

export function setDictionary(l, d) {
  current = l;
  dict = d || {};
}

/** Fetch and activate a language. */
export async function loadLang(l) {
  const want = pickLang(l);
  const url = new URL(`../i18n/${want}.json`, import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`i18n ${want}: HTTP ${res.status}`);
  setDictionary(want, await res.json());
  if (globalThis.document) document.documentElement.lang = want;
  return want;
}

/** At a page's start: the language this browser chose before (or the default); if it
 * cannot be loaded, the default; if that cannot either, the default with no words (the
 * page still runs and shows its keys). Returns the language in effect. */
export async function loadStartLang(href = globalThis.location && globalThis.location.href) {
  const carried = linkLang(href);
  if (carried) rememberLang(carried); // a link from another node of this deployment
  try {
    return await loadLang(carried || storedLang());
  } catch {
    try {
      return await loadLang(DEFAULT_LANG);
    } catch {
      setDictionary(DEFAULT_LANG, {});
      return DEFAULT_LANG;
    }
  }
}

/** The language switch of a page: the other language, remembered and loaded. */
export async function switchToOtherLang() {
  const next = current === "zh-CN" ? "en" : "zh-CN";
  rememberLang(next);
  return loadLang(next);
}

/** Re-translate static markup: data-i18n (text), data-i18n-title, -placeholder, -aria. */
export function translateTree(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}
