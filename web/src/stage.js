// Who is on the video stage and how it is arranged (issue 12, items 1 and 6): pure
// helpers for ui/videos.js and ui/app.js, tested in tests/stage.test.js.
//
// - one_to_one and review: a tile for every other person here, whether or not their
//   camera or microphone reaches us (a presenter without a camera is still seen to
//   be here, by name); a lecture or classroom: whoever sends media, and the teacher.
// - In a review the roles are named for what they are: the presenter (上课老师, the
//   review's one learner) and the reviewers (评课老师); never "teacher/student".

export const BROADCAST = Object.freeze(["lecture", "classroom"]);

/** The i18n key naming `role` in `form`, or null where the page names no role. Pure. */
export function roleKey(form, role) {
  if (form === "review") return role === "learner" ? "role.presenter" : role === "instructor" ? "role.reviewer" : null;
  return role === "instructor" ? "people.instructor" : null;
}

/**
 * [id, {audio, video}] for every tile: the media reaching us (`s.media.remote`), then
 * the people who get a tile without any (media all false). Never me. Pure.
 */
export function tileEntries(s) {
  const me = s.me && s.me.id;
  const form = s.session && s.session.form;
  const out = Object.entries(s.media.remote || {});
  const has = new Set(out.map(([id]) => id));
  for (const p of s.people || []) {
    if (p.id === me || has.has(p.id) || p.present === false) continue;
    if (BROADCAST.includes(form) && p.role !== "instructor") continue;
    out.push([p.id, { audio: false, video: false }]);
  }
  return out;
}

/** Tile order: in a review the presenter first, then the reviewers; elsewhere the
 * teacher first. Pure. */
export function tileOrder(form, role) {
  if (form === "review") return role === "learner" ? 0 : 1;
  return role === "instructor" ? 0 : 1;
}

/**
 * The waiting line's i18n key when nobody else has a tile: who is awaited, named for
 * the form (a review's presenter waits for the reviewers, not for "the teacher").
 * Pure.
 */
export function waitingKey(form, role, teacherSeen = false) {
  if (form === "review") return role === "learner" ? "stage.waiting_reviewers" : "stage.waiting_presenter";
  // A teacher who was here and left "stepped away", as the status pill says (presence.js).
  if (role === "learner" || role === "observer") return teacherSeen ? "stage.teacher_away" : "stage.waiting_teacher";
  return "stage.waiting_others";
}

/**
 * How the stage is laid out (CSS reads `data-layout`): "waiting" (the waiting line,
 * my picture beside it), "alone" (only me), "one" (one tile, my picture as an inset
 * in its corner), "grid" (several: my picture one of the grid). Pure.
 */
export function stageLayout(tiles, waiting) {
  if (tiles === 0) return waiting ? "waiting" : "alone";
  return tiles === 1 ? "one" : "grid";
}

/**
 * A tile's caption (its i18n key), or null when its picture shows. While the link to
 * the server is down (`linkDown`: reconnecting, or the server not answering) the page
 * knows nothing of anyone's camera: the tile says "reconnecting", never "camera off".
 * Otherwise, without a picture, why: the camera is off, or its video is on the way
 * (`seenVideo`: the server saw it). Pure.
 */
export function tileCaptionKey({ video, audioOnly, seenVideo, linkDown }) {
  if (linkDown) return "stage.tile_reconnecting";
  if (video || audioOnly) return null;
  return seenVideo ? "stage.connecting_video" : "stage.camera_off";
}
