// Pure summaries of API answers for the tables (no DOM).

/** Per person, the evidence rows of a session added up, in first-seen order. */
export function summarizeEvidence(rows) {
  const by = new Map();
  for (const r of rows || []) {
    const p = r.person;
    if (!by.has(p)) {
      by.set(p, {
        person: p, minutes: 0, voiced_s: 0, silent_s: 0, video_frames: 0, audio_packets: 0,
        video_packets: 0, confirmed_s: 0, forwarded_packets: 0, rr_loss_max: null, first: r.minute, last: r.minute,
      });
    }
    const s = by.get(p);
    s.minutes += 1;
    s.voiced_s += Number(r.voiced_s) || 0;
    s.silent_s += Number(r.silent_s) || 0;
    s.video_frames += Number(r.video_frames) || 0;
    s.audio_packets += Number(r.audio_packets) || 0;
    s.video_packets += Number(r.video_packets) || 0;
    s.forwarded_packets += Number(r.forwarded_packets) || 0;
    s.confirmed_s += Array.isArray(r.confirmed) ? r.confirmed.filter(Boolean).length : 0;
    if (r.rr_loss_max !== null && r.rr_loss_max !== undefined) {
      s.rr_loss_max = Math.max(s.rr_loss_max ?? 0, Number(r.rr_loss_max) || 0);
    }
    if (r.minute < s.first) s.first = r.minute;
    if (r.minute > s.last) s.last = r.minute;
  }
  return [...by.values()];
}

/** The instructors of a session row as three strings: names, schools, districts. */
export function instructorColumns(session) {
  const list = (session && session.instructors) || [];
  const uniq = (xs) => [...new Set(xs.filter((x) => x !== undefined && x !== null && x !== ""))].join("、");
  return {
    teacher: uniq(list.map((i) => i.name || i.id)),
    school: uniq(list.map((i) => i.school || i.school_id)),
    district: uniq(list.map((i) => i.district || i.district_code)),
  };
}

/** A person's name from the session's people ("王老师 (t1)"), or the id. */
export function personName(people, id) {
  const p = (people || []).find((x) => x.id === id);
  return p && p.name ? `${p.name} (${id})` : String(id);
}

/**
 * The statement of one person as table rows per programme:
 * [{programme, terms: [{term, points, pay_cny, sessions}], years: [{year, study_hours, credits}]}].
 */
export function statementRows(statement) {
  const out = [];
  const programmes = (statement && statement.programmes) || {};
  for (const [programme, body] of Object.entries(programmes)) {
    const terms = Object.entries((body && body.terms) || {}).map(([term, v]) => ({ term, ...v }));
    const years = Object.entries((body && body.years) || {}).map(([year, v]) => ({ year, ...v }));
    out.push({ programme, terms, years });
  }
  return out;
}

/** A JSON value in words for a table cell: arrays joined by "; ", objects as "k=v, …". */
export function compact(v) {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return v.map(compact).join("; ");
  if (typeof v === "object") {
    return Object.entries(v).map(([k, x]) => `${k}=${x !== null && typeof x === "object" ? `(${compact(x)})` : compact(x)}`).join(", ");
  }
  return String(v);
}

/** An evidence object of a supervision flag as "key: value" lines; a list of records one line each. */
export function evidenceLines(evidence) {
  const lines = [];
  for (const [k, v] of Object.entries(evidence || {})) {
    if (Array.isArray(v) && v.some((x) => x !== null && typeof x === "object")) {
      v.forEach((x, i) => lines.push(`${k}[${i + 1}]: ${compact(x)}`));
    } else lines.push(`${k}: ${compact(v)}`);
  }
  return lines;
}

/**
 * A credits note in the reader's language: the server's {code, params} for it (a param
 * may itself be coded: a feedback's problem, a form) through `translate(key, params)`,
 * which gives undefined for a key it does not know. The engine's English words when
 * anything is unknown (an older server without codes, a newer note), never a bare key.
 */
export function noteText(coded, english, translate) {
  const said = codedText(coded, translate);
  return said === undefined ? english : said;
}

function codedText(coded, translate) {
  if (!coded || typeof coded !== "object" || typeof coded.code !== "string") return undefined;
  const params = {};
  for (const [name, value] of Object.entries(coded.params || {})) {
    if (value && typeof value === "object") {
      const inner = codedText(value, translate);
      if (inner === undefined) return undefined;
      params[name] = inner;
    } else {
      params[name] = value;
    }
  }
  return translate(`note.${coded.code}`, params);
}
