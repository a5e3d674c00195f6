// The Q&A centre page (问答中心, issue 14), the pure part: what to say for a question's
// state, a refused request, a voice note's time left. Each returns i18n keys and
// params, never text, so both languages read them alike and node tests need no DOM.

export const STATES = ["open", "answered", "solved", "closed"];

// Refusals the page words itself (docs/protocol.md, the Q&A centre); anything else
// shows the server's message.
export const KNOWN_ERRORS = [
  "too_long", "empty", "too_many_photos", "too_large", "not_a_picture", "not_a_voice_note",
  "too_many_open", "not_your_subject", "already_answered", "enough_answers", "solved",
  "closed", "not_yours", "no_such_answer", "no_token", "bad_token", "expired", "offline",
];

/** [key, params] for a refused request's error body ({code, message}). */
export function errorLine(error, policy) {
  const code = (error && error.code) || "offline";
  if (!KNOWN_ERRORS.includes(code)) return ["qa.error.other", { message: (error && error.message) || code }];
  const p = policy || {};
  return [`qa.error.${code}`, {
    photos: p.max_photos ?? 4,
    open: p.max_open_per_student ?? 5,
    mib: Math.round(((p.max_photo_bytes ?? 4194304) / 1048576) * 10) / 10,
  }];
}

/** The key of a question's state pill. */
export function stateKey(state) {
  return STATES.includes(state) ? `qa.state.${state}` : "qa.state.open";
}

/** Seconds of recording left (never below 0) after `elapsedMs`. */
export function voiceLeft(elapsedMs, maxSeconds) {
  return Math.max(0, Math.ceil(maxSeconds - elapsedMs / 1000));
}

/** "m:ss" of a number of seconds. */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The recording format to ask MediaRecorder for: WebM/Opus where the browser makes it. */
export function voiceMime(isSupported) {
  for (const mime of ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"]) {
    if (isSupported(mime)) return mime;
  }
  return "";
}

/** Whether the form may be sent: some text or a file, and within the bounds. */
export function canSend(text, files, limit) {
  const hasText = String(text || "").trim().length > 0;
  return (hasText || files > 0) && String(text || "").length <= limit;
}
