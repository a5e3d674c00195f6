// What tests/e2e/layout.py checks, gathered in the page: the visible text nodes (each
// line box, clipped to what scrolling panes and the viewport let show), placeholders,
// touch targets, what covers each, and which element holds which. One argument:
// {ignored: [selector]} (left out: toasts). Evaluated by Playwright as a function.
({ignored}) => {
  const skip = (el) => ignored.some((sel) => el.closest(sel));
  const dialog = [...document.querySelectorAll("dialog[open]")].find((d) => d.matches(":modal"));
  const scope = dialog || document.body;
  const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
  const shown = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true, visibilityProperty: true });
  // What the page scrolled under a sticky (or fixed) bar across its top is not visible.
  const bars = window.scrollY > 0
    ? [...document.querySelectorAll("body *")].filter((e) => {
        const p = getComputedStyle(e).position;
        if (p !== "sticky" && p !== "fixed") return false;
        const r = e.getBoundingClientRect();
        return r.top <= 1 && r.width >= vw * 0.9 && r.height > 0 && r.height < vh / 2;
      })
    : [];
  const barBottom = Math.max(0, ...bars.map((e) => e.getBoundingClientRect().bottom));
  // The part of a box not clipped away by a scrolling (or clipping) ancestor, nor the viewport.
  const clip = (el, r, own = false) => {
    let [l, t, rr, b] = [r.left, r.top, r.right, r.bottom];
    if (barBottom && !bars.some((bar) => bar.contains(el))) t = Math.max(t, barBottom);
    for (let a = own ? el : el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.display === "contents") continue; // no box of its own: clips nothing
      if (cs.overflowX !== "visible" || cs.overflowY !== "visible") {
        const c = a.getBoundingClientRect();
        if (cs.overflowX !== "visible") { l = Math.max(l, c.left); rr = Math.min(rr, c.right); }
        if (cs.overflowY !== "visible") { t = Math.max(t, c.top); b = Math.min(b, c.bottom); }
      }
    }
    l = Math.max(l, 0); t = Math.max(t, 0); rr = Math.min(rr, vw); b = Math.min(b, vh);
    return rr - l > 1 && b - t > 1 ? { x: l, y: t, w: rr - l, h: b - t } : null;
  };
  const box = (r) => ({ x: r.left, y: r.top, w: r.width, h: r.height });
  const name = (el) => {
    const id = el.getAttribute("data-testid") || el.getAttribute("data-tab") || "";
    const cls = (el.getAttribute("class") || "").split(" ")[0];
    return `${el.tagName.toLowerCase()}${id ? `[${id}]` : ""}${cls ? "." + cls : ""}`;
  };
  const hitOk = (el, part) => {
    const hit = document.elementFromPoint(part.x + part.w / 2, part.y + part.h / 2);
    if (!hit) return "nothing";
    if (hit === el || el.contains(hit)) return null;
    if (hit.contains(el) && getComputedStyle(el).pointerEvents === "none") return null;
    const label = el.closest("label");
    if (label && (hit === label || label.contains(hit))) return null;
    return name(hit) + (hit.textContent ? ` "${hit.textContent.trim().slice(0, 30)}"` : "");
  };
  const elements = [];
  const index = new Map();
  const idOf = (el) => {
    if (!index.has(el)) { index.set(el, elements.length); elements.push(el); }
    return index.get(el);
  };
  const texts = [];
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    const text = n.textContent.replace(/\s+/g, " ").trim();
    if (!text || !el || el.closest("script, style, noscript, template, svg, option") || skip(el) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const lines = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
    const parts = lines.map((r) => clip(el, r, true)).filter(Boolean); // its element clips it too
    if (!parts.length) continue;
    const biggest = parts.reduce((a, b) => (a.w * a.h >= b.w * b.h ? a : b));
    texts.push({ text, el: idOf(el), name: name(el), lines: parts, covered: hitOk(el, biggest) });
  }
  for (const el of scope.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (!skip(el) && shown(el) && !el.value && clip(el, el.getBoundingClientRect())) {
      texts.push({ text: el.placeholder.replace(/\s+/g, " ").trim(), el: idOf(el), name: name(el), lines: [], covered: null });
    }
  }
  const targets = [];
  const sel = "button, a[href], input:not([type=hidden]), select, textarea, summary, [role=button], [role=tab], label:has(> input[type=file])";
  for (let el of scope.querySelectorAll(sel)) {
    if (skip(el)) continue;
    if (el.matches("input[type=checkbox], input[type=radio]") && el.closest("label")) el = el.closest("label");
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    const part = clip(el, r);
    if (!part) continue;
    targets.push({ el: idOf(el), name: name(el), text: (el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 40),
                   box: box(r), part, covered: hitOk(el, part) });
  }
  // Which of the elements holds which (by index): containment is never an overlap.
  const holds = elements.map((a) => elements.map((b, j) => (a !== b && a.contains(b) ? j : -1)).filter((j) => j >= 0));
  const root = document.documentElement;
  return { vw, vh, scrollW: root.scrollWidth, scrollH: root.scrollHeight, texts, targets, holds, dialog: !!dialog };
}
