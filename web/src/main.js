// Entry point of /join?token=…: load the language, wire protocol → client →
// UI, and expose a read-only state snapshot for end-to-end tests.

import { loadLang, rememberLang, loadStartLang, lang as currentLang } from "./i18n.js";

const params = new URLSearchParams(location.search);

const lang = await loadStartLang();
const root = document.getElementById("app");

if (params.has("preview")) {
  const { runPreview } = await import("./ui/preview.js");
  runPreview(params.get("preview"), lang);
} else {
  const [{ Protocol, movedHref }, { createClient }, { prepareImage }, { mountApp }] = await Promise.all([
    import("./protocol.js"),
    import("./client.js"),
    import("./images.js"),
    import("./ui/app.js"),
  ]);
  const token = params.get("token") || "";
  // Phones get lighter capture and bitrate; touch laptops are not phones.
  const phone = matchMedia("(pointer: coarse)").matches && Math.min(screen.width, screen.height) < 820;
  // &relay=1: media through TURN only (docs/turn.md: checking TURN from a network).
  const icePolicy = params.get("relay") === "1" ? "relay" : "all";
  // &codec=h264: the camera offers Constrained Baseline H.264 first (src/codecs.js).
  const codec = params.get("codec") || "";
  const protocol = new Protocol({ token, ice: params.get("ice") || "hybrid", phone, icePolicy, codec });
  // Several nodes: the session's room runs on another one; the same link works there.
  protocol.on("moved", ({ url }) => location.replace(movedHref(location.href, url, currentLang())));
  // The device check before joining (issue 12, item 1), unless skipped (device-check.js).
  const { claimsOf, skipReason } = await import("./device-check.js");
  const claims = claimsOf(token);
  const storage = (name) => {
    try {
      return globalThis[name];
    } catch {
      return null; // refused (private mode)
    }
  };
  let joinLang = lang;
  if (!skipReason({ params, claims, local: storage("localStorage"), session: storage("sessionStorage") })) {
    const { runDeviceCheck } = await import("./ui/devicecheck.js");
    const setLang = async (l) => {
      const got = await loadLang(l);
      rememberLang(got);
      return got;
    };
    joinLang = (await runDeviceCheck(root, { me: () => protocol.me(), claims, lang, phone, setLang, session: storage("sessionStorage") })) || lang;
  }
  const client = createClient({ protocol, prepareImage, loadLang, rememberLang, lang: joinLang });
  mountApp(root, client);
  window.opentutor = Object.freeze({ state: () => structuredClone(client.getState()) });
  client.actions.start({ token });
}
