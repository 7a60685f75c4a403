// The console's one HTTP client (docs/web.md, "Tokens"): the access token is
// held in memory only; the refresh token is kept in the tab's sessionStorage
// so that a reload keeps the session and closing the tab ends it. Refresh
// rotation (POST /v1/auth/refresh) is transparent: a token about to expire
// is refreshed before the request, a 401 is retried once after a refresh,
// and concurrent requests share one refresh (a rotated refresh token sent
// twice would revoke its whole family, docs/openapi.yaml).
import { ApiError, type Problem } from "./errors";
import type { TokenPair, User } from "./types";

/** Where the refresh token lives between page loads. */
export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

export function sessionTokenStore(key = "hd.refresh_token"): TokenStore {
  return {
    get: () => window.sessionStorage.getItem(key),
    set: (token) => (token === null ? window.sessionStorage.removeItem(key) : window.sessionStorage.setItem(key, token)),
  };
}

export interface ClientOptions {
  baseUrl?: string;
  store: TokenStore;
  fetch?: typeof fetch;
  now?: () => number;
  /** refresh this long before the access token expires (ms) */
  refreshMarginMs?: number;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** the version the caller edits: sent as If-Match: "<version>" */
  ifMatch?: number;
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** another format than JSON (e.g. text/csv): the answer is then its text */
  accept?: string;
}

export interface Reply<T> {
  data: T;
  status: number;
  etag: string | null;
}

interface Session {
  accessToken: string;
  expiresAt: number;
  user: User;
}

type Listener = (user: User | null) => void;

export class ApiClient {
  private session: Session | null = null;
  private refreshing: Promise<Session | null> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly margin: number;
  private readonly store: TokenStore;

  constructor(opts: ClientOptions) {
    this.base = opts.baseUrl ?? "";
    this.store = opts.store;
    this.fetchFn = opts.fetch ?? ((input, init) => window.fetch(input, init));
    this.now = opts.now ?? (() => Date.now());
    this.margin = opts.refreshMarginMs ?? 30_000;
  }

  get user(): User | null {
    return this.session?.user ?? null;
  }

  /** Calls fn with the user on every sign-in, refresh and sign-out. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private setSession(pair: TokenPair | null): Session | null {
    this.session = pair ? { accessToken: pair.access_token, expiresAt: this.now() + pair.expires_in * 1000, user: pair.user } : null;
    this.store.set(pair ? pair.refresh_token : null);
    for (const fn of this.listeners) fn(this.session?.user ?? null);
    return this.session;
  }

  /** Signs in; throws ApiError (mfaRequired when a TOTP code is needed). */
  async login(tenant: string, email: string, password: string, totp?: string): Promise<User> {
    const body: Record<string, string> = { tenant, email, password };
    if (totp) body.totp = totp;
    const res = await this.send("POST", "/v1/auth/login", { body }, null);
    if (!res.ok) throw await problemOf(res);
    const pair = (await res.json()) as TokenPair;
    return this.setSession(pair)!.user;
  }

  /** At page load: a stored refresh token becomes a session, else null. */
  async restore(): Promise<User | null> {
    if (!this.store.get()) return null;
    const s = await this.refresh();
    return s?.user ?? null;
  }

  /** One refresh at a time; null (and signed out) when the server refuses. */
  refresh(): Promise<Session | null> {
    if (this.refreshing) return this.refreshing;
    const token = this.store.get();
    if (!token) return Promise.resolve(this.setSession(null));
    this.refreshing = (async () => {
      try {
        const res = await this.send("POST", "/v1/auth/refresh", { body: { refresh_token: token } }, null);
        if (res.status === 401 || res.status === 400 || res.status === 422) return this.setSession(null);
        if (!res.ok) throw await problemOf(res);
        return this.setSession((await res.json()) as TokenPair);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Signs out: the server revokes both tokens; locally they are dropped whatever it says. */
  async logout(): Promise<void> {
    const token = this.store.get();
    const access = this.session?.accessToken ?? null;
    try {
      if (access) await this.send("POST", "/v1/auth/logout", { body: { refresh_token: token ?? "" } }, access);
    } finally {
      this.setSession(null);
    }
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Reply<T>> {
    if (this.session && this.session.expiresAt - this.now() < this.margin) await this.refresh();
    let res = await this.send(method, path, opts, this.session?.accessToken ?? null);
    if (res.status === 401 && this.store.get()) {
      const s = await this.refresh();
      if (s) res = await this.send(method, path, opts, s.accessToken);
    }
    if (!res.ok) throw await problemOf(res);
    const text = res.status === 204 ? "" : await res.text();
    const data = opts.accept ? text : text ? JSON.parse(text) : undefined;
    return { data: data as T, status: res.status, etag: res.headers.get("ETag") };
  }

  get<T>(path: string, query?: RequestOptions["query"], signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { query, signal }).then((r) => r.data);
  }

  /** A GET answered in another format than JSON (Accept: accept), as text. */
  getText(path: string, query: RequestOptions["query"], accept: string): Promise<string> {
    return this.request<string>("GET", path, { query, accept }).then((r) => r.data);
  }

  post<T>(path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>("POST", path, { ...opts, body }).then((r) => r.data);
  }

  patch<T>(path: string, body: unknown, ifMatch?: number): Promise<T> {
    return this.request<T>("PATCH", path, { body, ifMatch }).then((r) => r.data);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, { body }).then((r) => r.data);
  }

  del(path: string): Promise<void> {
    return this.request<void>("DELETE", path).then(() => undefined);
  }

  private async send(method: string, path: string, opts: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: opts.accept ?? "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.ifMatch !== undefined) headers["If-Match"] = `"${opts.ifMatch}"`;
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    try {
      return await this.fetchFn(this.base + path + queryString(opts.query), {
        method,
        headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal: opts.signal,
        credentials: "omit",
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, { detail: "The server could not be reached." });
    }
  }
}

export function queryString(query?: RequestOptions["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

async function problemOf(res: Response): Promise<ApiError> {
  let problem: Problem = { status: res.status, title: res.statusText };
  try {
    const text = await res.text();
    if (text) problem = { ...problem, ...(JSON.parse(text) as Problem) };
  } catch {
    // not JSON: the status says it
  }
  return new ApiError(res.status, problem);
}
