// Local media: camera, microphone and screen share for a Protocol (mixed into its
// prototype, so these methods share its peer connection and state). No DOM: the
// browser's media APIs come through `this.env`, as in protocol.js.

export const localMedia = {
  ensureLocalStream() {
    if (!this.localStream && this.env.MediaStream) this.localStream = new this.env.MediaStream();
    return this.localStream;
  },

  localState() {
    const on = (t) => !!t && t.readyState === "live" && t.enabled;
    return { audio: on(this.send.audio), video: on(this.send.video), screen: !!this.screen };
  },

  emitLocal() {
    this.emit("local", this.localState());
  },

  videoConstraints() {
    return this.phone
      ? { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 20 }, facingMode: "user" }
      : { width: { ideal: 960 }, height: { ideal: 540 }, frameRate: { ideal: 20, max: 25 } };
  },

  /** Ask for camera and/or microphone. Resolves {audio, video, denied}; denied
   * is null or "insecure" | "denied" | "notfound" | "busy" | "error". Never throws. */
  async acquire({ audio, video }) {
    const md = this.env.navigator && this.env.navigator.mediaDevices;
    if (!md || !md.getUserMedia) return { audio: false, video: false, denied: "insecure" };
    const constraints = {
      audio: audio ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true } : false,
      video: video ? this.videoConstraints() : false,
    };
    if (!constraints.audio && !constraints.video) return { audio: false, video: false, denied: null };
    let stream = null;
    let denied = null;
    try {
      stream = await md.getUserMedia(constraints);
    } catch (err) {
      denied = mediaErrorReason(err);
      // No camera (or it is busy): fall back to the microphone alone.
      if (denied !== "denied" && constraints.audio && constraints.video) {
        try {
          stream = await md.getUserMedia({ audio: constraints.audio, video: false });
        } catch (err2) {
          denied = mediaErrorReason(err2);
        }
      }
    }
    const got = { audio: false, video: false, denied };
    if (!stream) return got;
    for (const track of stream.getTracks()) {
      got[track.kind] = true;
      if (track.kind === "video") track.contentHint = "motion";
      await this.setSendTrack(track.kind, track);
    }
    return got;
  },

  /** Start publishing what the caps allow. */
  async startLocal({ audio, video }) {
    const res = await this.acquire({ audio: audio && !this.send.audio, video: video && !this.send.video });
    this.emitLocal();
    this.announceMedia();
    return res;
  },

  async setSendTrack(kind, track) {
    const old = this.send[kind];
    const stream = this.ensureLocalStream();
    if (old && old !== track && stream) stream.removeTrack(old);
    if (track && stream && !stream.getTracks().includes(track)) stream.addTrack(track);
    this.send[kind] = track;
    if (!this.pc) return;
    const tx = this.tx[kind];
    if (tx) {
      try {
        await tx.sender.replaceTrack(track);
        return;
      } catch {
        /* fall through: a new transceiver */
      }
    }
    if (track) {
      this.addSender(kind, track);
      this.negotiate();
    }
  },

  /** Microphone on/off: muting keeps the track (silence still proves the link). */
  async setMic(on) {
    let res = { denied: null };
    if (on && !this.send.audio) res = await this.acquire({ audio: true, video: false });
    else if (this.send.audio) this.send.audio.enabled = !!on;
    this.emitLocal();
    this.announceMedia();
    return res;
  },

  /** Camera on/off: off releases the camera (light off, no bandwidth). */
  async setCamera(on) {
    let res = { denied: null };
    if (on) {
      if (this.screen) {
        this.cameraWanted = true;
      } else if (!this.send.video) {
        res = await this.acquire({ audio: false, video: true });
      }
    } else {
      this.cameraWanted = false;
      if (!this.screen && this.send.video) {
        const track = this.send.video;
        await this.setSendTrack("video", null);
        track.stop();
      }
    }
    this.emitLocal();
    this.announceMedia();
    return res;
  },

  canShareScreen() {
    const md = this.env.navigator && this.env.navigator.mediaDevices;
    return !!(md && md.getDisplayMedia) && !this.phone;
  },

  /** Share the screen in place of the camera (same video sender). */
  async startScreen() {
    const md = this.env.navigator.mediaDevices;
    const stream = await md.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    track.contentHint = "detail";
    this.cameraWanted = !!this.send.video && !this.screen;
    if (this.send.video && !this.screen) {
      this.camera = this.send.video;
      this.camera.stop(); // release the camera while sharing
    }
    this.screen = track;
    track.addEventListener("ended", () => {
      if (this.screen === track) this.stopScreen().then(() => this.emit("screen_ended", {}));
    });
    await this.setSendTrack("video", track);
    this.emitLocal();
    this.announceMedia();
  },

  async stopScreen() {
    const track = this.screen;
    if (!track) return;
    this.screen = null;
    track.stop();
    this.camera = null;
    await this.setSendTrack("video", null);
    if (this.cameraWanted) await this.acquire({ audio: false, video: true });
    this.emitLocal();
    this.announceMedia();
  },

  stopLocal() {
    for (const kind of ["audio", "video"]) {
      const t = this.send[kind];
      if (t) t.stop();
      this.send[kind] = null;
      if (this.tx[kind]) this.tx[kind].sender.replaceTrack(null).catch(() => {});
    }
    if (this.screen) this.screen.stop();
    this.screen = null;
    this.camera = null;
    if (this.localStream) for (const t of this.localStream.getTracks()) this.localStream.removeTrack(t);
    this.emitLocal();
  },
};

export function mediaErrorReason(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "notfound";
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") return "busy";
  return "error";
}
