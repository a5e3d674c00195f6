// The console's one way to the server: fetch with the session cookie, the CSRF
// token on every unsafe request, and errors turned into ApiError with a kind
// the pages put into words (never a blank page).

import { retryAfterSeconds } from "./format.js";

export class ApiError extends Error {
  /** kind: "network" | "unauthorized" | "forbidden" | "not_found" | "throttled" | "invalid" | "unavailable" | "server" */
  constructor(kind, status, message, { code = "", retryAfter = null, field = null } = {}) {
    super(message || kind);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.field = field;
  }
}

/** The kind of an HTTP failure status. Pure. */
export function kindOf(status) {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "throttled";
  if (status === 400 || status === 422) return "invalid";
  if (status === 502 || status === 503 || status === 504) return "unavailable";
  return "server";
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// How long one request may take, answer read whole, before the page says the server
// did not answer (kind "network") instead of spinning forever: a JSON answer is small;
// a CSV export of 100,000 rows is not.
export const TIMEOUT_MS = { json: 30_000, text: 120_000 };

export function createApi({ fetchImpl = globalThis.fetch.bind(globalThis), onUnauthorized = () => {}, timeoutMs = TIMEOUT_MS } = {}) {
  let csrf = "";

  async function request(method, path, options = {}) {
    const limit = timeoutMs[options.accept === "text" ? "text" : "json"];
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), limit);
    try {
      return await attempt(method, path, options, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) {
        throw new ApiError("network", 0, `no answer in ${Math.round(limit / 1000)} s`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async function attempt(method, path, { body, accept = "json" }, signal) {
    const headers = { Accept: accept === "json" ? "application/json" : "*/*" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE.has(method) && csrf) headers["X-CSRF-Token"] = csrf;
    let res;
    try {
      res = await fetchImpl(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw new ApiError("network", 0, String((err && err.message) || err));
    }
    if (!res.ok) {
      let message = "";
      let code = "";
      let field = null;
      try {
        const j = await res.json();
        if (j && j.error) {
          message = j.error.message || "";
          code = j.error.code || "";
          field = j.error.field || null;
        }
      } catch {
        /* not JSON: the status says enough */
      }
      const retryAfter = retryAfterSeconds(res.headers.get("Retry-After"));
      const error = new ApiError(kindOf(res.status), res.status, message, { code, retryAfter, field });
      if (res.status === 401 && !path.startsWith("/api/v1/admin/")) {
        // Expired sign-in, or an API that does not take this sign-in: ask which.
        if (await stillSignedIn()) throw new ApiError("forbidden", 401, message, { code });
        onUnauthorized(error);
      }
      throw error;
    }
    if (res.status === 204) return null;
    if (accept === "text") return res.text();
    try {
      return await res.json();
    } catch {
      throw new ApiError("server", res.status, "the answer was not JSON");
    }
  }

  async function stillSignedIn() {
    try {
      await request("GET", "/api/v1/admin/me");
      return true;
    } catch {
      return false;
    }
  }

  return {
    get csrf() {
      return csrf;
    },
    setCsrf(token) {
      csrf = token || "";
    },
    get: (path) => request("GET", path),
    text: (path) => request("GET", path, { accept: "text" }),
    post: (path, body) => request("POST", path, { body }),
    put: (path, body) => request("PUT", path, { body }),
    async login(username, password) {
      const r = await request("POST", "/api/v1/admin/login", { body: { username, password } });
      csrf = (r && r.csrf_token) || "";
      return r.user;
    },
    async me() {
      const r = await request("GET", "/api/v1/admin/me");
      csrf = (r && r.csrf_token) || "";
      return r.user;
    },
    async logout() {
      try {
        await request("POST", "/api/v1/admin/logout");
      } finally {
        csrf = "";
      }
    },
  };
}
