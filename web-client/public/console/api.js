// The console's client of the REST API and its sockets. The access token lives in memory only;
// the refresh token is the server's HttpOnly cookie (a reload signs in again silently). A 401
// refreshes once; when that fails the sign-in dialog opens over the page (what was typed stays)
// and the request is sent again after signing in.

/** @typedef {{id: string, email: string, name: string|null, role: "viewer"|"recruiter"|"admin", organization: {id: string, name: string}}} Me */

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor() {
    /** @type {string|null} */
    this.token = null;
    /** @type {Me|null} */
    this.me = null;
    /** Opens the sign-in dialog; resolves once signed in. @type {() => Promise<void>} */
    this.askToSignIn = () => Promise.reject(new Error("not signed in"));
    /** @type {Promise<boolean>|null} */
    this.refreshing = null;
    /** When the access token expires (ms since the epoch). */
    this.expires = 0;
  }

  /** @param {{access_token: string, expires_in?: number}} pair */
  took(pair) {
    this.token = pair.access_token;
    this.expires = Date.now() + (pair.expires_in ?? 900) * 1000;
  }

  /** @param {string} email @param {string} password */
  async login(email, password) {
    const r = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ email, password }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, body?.error?.code ?? "", body?.error?.message ?? r.statusText);
    this.took(body);
    this.me = await this.get("/v1/auth/me");
  }

  /** A new access token from the refresh cookie; false when the session is over. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const r = await fetch("/v1/auth/refresh", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            credentials: "same-origin",
            body: "{}",
          });
          if (!r.ok) return false;
          this.took(await r.json());
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  /** Signs in again from the refresh cookie (a reload); false if there is no session. */
  async restore() {
    if (!(await this.refresh())) return false;
    this.me = await this.get("/v1/auth/me");
    return true;
  }

  async logout() {
    if (this.token) {
      await fetch("/v1/auth/logout", {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}` },
        credentials: "same-origin",
      }).catch(() => {});
    }
    this.token = null;
    this.me = null;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {any} [body] JSON, or FormData
   * @returns {Promise<any>}
   */
  async request(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      /** @type {Record<string, string>} */
      const headers = {};
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      let payload;
      if (body instanceof FormData) payload = body;
      else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      const r = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
      if (r.status === 401 && attempt < 2) {
        // Expired: refresh silently; a session that is over asks to sign in again.
        if (!(await this.refresh())) await this.askToSignIn();
        continue;
      }
      if (r.status === 204) return null;
      const data = await r.json().catch(() => null);
      if (!r.ok) {
        throw new ApiError(r.status, data?.error?.code ?? "", data?.error?.message ?? r.statusText);
      }
      return data;
    }
  }

  /** @param {string} path */
  get(path) { return this.request("GET", path); }

  /** A file of the API (a recording) as a Blob, with the same credentials. @param {string} path */
  async blob(path) {
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(path, { headers: { Authorization: `Bearer ${this.token}` }, credentials: "same-origin" });
      if (r.status === 401 && attempt < 2) {
        if (!(await this.refresh())) await this.askToSignIn();
        continue;
      }
      if (!r.ok) throw new ApiError(r.status, "", r.statusText);
      return r.blob();
    }
  }
  /** @param {string} path @param {any} [body] */
  post(path, body) { return this.request("POST", path, body); }
  /** @param {string} path @param {any} body */
  patch(path, body) { return this.request("PATCH", path, body); }
  /** @param {string} path @param {any} body */
  put(path, body) { return this.request("PUT", path, body); }
  /** @param {string} path */
  del(path) { return this.request("DELETE", path); }

  /**
   * A WebSocket of the API (`viva.v1`), with the access token as a subprotocol entry (never
   * in the URL). Refreshed first when it is about to expire.
   * @param {string} path
   */
  async socket(path) {
    if (Date.now() > this.expires - 60_000) await this.refresh();
    const url = new URL(path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, ["viva.v1", `bearer.${this.token}`]);
    ws.binaryType = "arraybuffer";
    return ws;
  }

  /** @param {"viewer"|"recruiter"|"admin"} role */
  can(role) {
    const rank = { viewer: 0, recruiter: 1, admin: 2 };
    return this.me !== null && rank[this.me.role] >= rank[role];
  }
}
