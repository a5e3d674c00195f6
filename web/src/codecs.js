// Which video codec the camera is offered with (issue 13, item 5). The server answers a
// camera line with H.264 only when the offer lists Constrained Baseline H.264
// (profile-level-id 42e01f, packetization-mode 1) first. Chrome and Firefox put VP8
// first by themselves, Safari puts H.264 first, so the page puts VP8 first everywhere
// (today's behaviour) unless the join link's `&codec=h264` asks for H.264 (phones that
// encode H.264 in hardware; tests). Both reorder with setCodecPreferences; the rest
// stays offered. A browser without setCodecPreferences keeps its own order.

const CB = /(^|;)\s*profile-level-id=42e01f/i;
const PM1 = /(^|;)\s*packetization-mode=1/;

/** The codec the link asks for: "h264", "vp8", or "" (the browser's own order). */
export function wantedCodec(value) {
  const v = String(value || "").toLowerCase();
  return v === "h264" || v === "vp8" ? v : "";
}

/** Whether a capability is the H.264 the server forwards. */
export function isConstrainedBaseline(c) {
  return /^video\/h264$/i.test(c.mimeType) && CB.test(c.sdpFmtpLine || "") && PM1.test(c.sdpFmtpLine || "");
}

/**
 * `codecs` (RTCRtpCodecCapability[]) reordered so that `want` comes first, or null when
 * there is nothing to change (no wish, or the browser lacks that codec).
 */
export function preferCodec(codecs, want) {
  if (!want || !Array.isArray(codecs)) return null;
  const first = want === "h264" ? isConstrainedBaseline : (c) => /^video\/vp8$/i.test(c.mimeType);
  const head = codecs.filter(first);
  if (!head.length) return null;
  return [...head, ...codecs.filter((c) => !first(c))];
}

/** Apply `want` to a video transceiver; false when the browser cannot. */
export function applyCodecPreference(transceiver, want, env = globalThis) {
  if (!want || !transceiver || typeof transceiver.setCodecPreferences !== "function") return false;
  const Receiver = env.RTCRtpReceiver;
  const caps = Receiver && Receiver.getCapabilities ? Receiver.getCapabilities("video") : null;
  const order = preferCodec(caps && caps.codecs, want);
  if (!order) return false;
  try {
    transceiver.setCodecPreferences(order);
    return true;
  } catch {
    return false; // an older browser's stricter check: its default order stays
  }
}
