// Pure helpers: query strings of the sessions filters and the hash router.

/** The filter fields of GET /api/v1/sessions, in the order they are sent. */
export const SESSION_FILTERS = ["from", "to", "programme", "form", "teacher", "school", "district", "status"];

/** "a=1&b=x%20y" of the non-empty values, in `order` (or the object's order). Pure. */
export function buildQuery(params, order) {
  const q = new URLSearchParams();
  const keys = order || Object.keys(params || {});
  for (const k of keys) {
    const v = params ? params[k] : undefined;
    if (v === undefined || v === null) continue;
    const s = String(v).trim();
    if (s !== "") q.append(k, s);
  }
  return q.toString();
}

/** path + "?" + query when there is one. */
export function withQuery(path, params, order) {
  const q = buildQuery(params, order);
  return q ? `${path}?${q}` : path;
}

/** The session filters of a params object (unknown keys dropped, empty values dropped). */
export function sessionFilters(params) {
  const out = {};
  for (const k of SESSION_FILTERS) {
    const v = params && params[k];
    if (v !== undefined && v !== null && String(v).trim() !== "") out[k] = String(v).trim();
  }
  return out;
}

/** URL of one page of sessions: the filters, a limit and the cursor of the page. */
export function sessionsUrl(filters, { limit, cursor } = {}) {
  return withQuery("/api/v1/sessions", { ...sessionFilters(filters), limit, cursor }, [...SESSION_FILTERS, "limit", "cursor"]);
}

/** URL of the CSV export with the same filters (no paging). */
export function sessionsCsvUrl(filters) {
  return withQuery("/api/v1/sessions.csv", sessionFilters(filters), SESSION_FILTERS);
}

/** A person's downloads: statement CSV / XLSX and the certificate PDF of a term. */
export function personLinks(id, term) {
  const base = `/api/v1/people/${encodeURIComponent(id)}`;
  const q = { term };
  return {
    json: withQuery(`${base}/statement`, q),
    csv: withQuery(`${base}/statement.csv`, q),
    xlsx: withQuery(`${base}/statement.xlsx`, q),
    pdf: withQuery(`${base}/certificate.pdf`, q),
  };
}

/**
 * The route of a location hash: "#/sessions?from=…" → {page: "sessions", id: null, params: {from}};
 * "#/session/s_1" → {page: "session", id: "s_1", params: {}}; "" → {page: "sessions"}.
 */
export function parseHash(hash) {
  let text = String(hash || "").replace(/^#/, "");
  if (!text.startsWith("/")) text = "/" + text;
  const at = text.indexOf("?");
  const path = at >= 0 ? text.slice(0, at) : text;
  const search = at >= 0 ? text.slice(at + 1) : "";
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const params = {};
  for (const [k, v] of new URLSearchParams(search)) params[k] = v;
  const page = parts[0] || "sessions";
  return { page, id: parts.length > 1 ? parts.slice(1).join("/") : null, params };
}

/** The hash of a route: buildHash("people", "t1", {term: "2026秋"}) → "#/people/t1?term=2026%E7%A7%8B". */
export function buildHash(page, id, params) {
  const path = id === null || id === undefined || id === "" ? `#/${page}` : `#/${page}/${encodeURIComponent(id)}`;
  const q = buildQuery(params || {});
  return q ? `${path}?${q}` : path;
}
