import { test } from "node:test";
import assert from "node:assert/strict";
import { wantedCodec, preferCodec, applyCodecPreference, isConstrainedBaseline } from "../src/codecs.js";

const VP8 = { mimeType: "video/VP8", clockRate: 90000 };
const RTX = { mimeType: "video/rtx", clockRate: 90000 };
const VP9 = { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=0" };
const H264_B = { mimeType: "video/H264", sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f" };
const H264_CB0 = { mimeType: "video/H264", sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f" };
const H264_CB = { mimeType: "video/H264", sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" };
const CHROME = [VP8, RTX, VP9, RTX, H264_B, RTX, H264_CB0, RTX, H264_CB, RTX];

test("the link's codec option", () => {
  assert.equal(wantedCodec("h264"), "h264");
  assert.equal(wantedCodec("H264"), "h264");
  assert.equal(wantedCodec("vp8"), "vp8");
  assert.equal(wantedCodec("av1"), "");
  assert.equal(wantedCodec(null), "");
});

test("Constrained Baseline in packetization-mode 1 only", () => {
  assert.equal(isConstrainedBaseline(H264_CB), true);
  assert.equal(isConstrainedBaseline(H264_CB0), false);
  assert.equal(isConstrainedBaseline(H264_B), false);
  assert.equal(isConstrainedBaseline(VP8), false);
});

test("H.264 first, everything else kept in order", () => {
  assert.deepEqual(preferCodec(CHROME, "h264"), [H264_CB, VP8, RTX, VP9, RTX, H264_B, RTX, H264_CB0, RTX, RTX]);
  assert.deepEqual(preferCodec([H264_CB, VP8], "vp8"), [VP8, H264_CB]);
  assert.equal(preferCodec([VP8, RTX], "h264"), null); // a browser without H.264
  assert.equal(preferCodec(CHROME, ""), null);
  assert.equal(preferCodec(undefined, "h264"), null);
});

test("applying needs setCodecPreferences and capabilities, and never throws", () => {
  const env = { RTCRtpReceiver: { getCapabilities: () => ({ codecs: CHROME }) } };
  let set = null;
  const t = { setCodecPreferences: (c) => { set = c; } };
  assert.equal(applyCodecPreference(t, "h264", env), true);
  assert.equal(set[0], H264_CB);
  assert.equal(applyCodecPreference({}, "h264", env), false);
  assert.equal(applyCodecPreference(t, "", env), false);
  const refusing = { setCodecPreferences: () => { throw new Error("InvalidModificationError"); } };
  assert.equal(applyCodecPreference(refusing, "h264", env), false);
  assert.equal(applyCodecPreference(t, "h264", {}), false);
});
