// An in-memory stand-in for the gateway's auth rules, for the client's unit
// tests: logins (with a TOTP step), refresh rotation where a rotated token
// presented again revokes its family (docs/openapi.yaml), access tokens that
// expire, and one protected route with a version for If-Match; a test adds
// the answers of other routes it needs (routes).
import type { Ticket, TokenPair, User } from "../api/types";

export const demoUser: User = {
  id: "01900000-0000-7000-8000-000000000001",
  tenant_id: "01900000-0000-7000-8000-0000000000aa",
  email: "agent@acme.test",
  name: "Agent",
  role: "agent",
  active: true,
  mfa_enabled: false,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  version: 1,
};

/** Ticket t1 as the server holds it at version v. */
export function ticketAt(v: number, changes: Partial<Ticket> = {}): Ticket {
  return {
    id: "t1",
    number: 7,
    subject: "Printer on fire",
    description: "Smoke from tray 2",
    status: "open",
    priority: "normal",
    category: null,
    tags: v > 3 ? ["vip"] : [],
    requester_id: demoUser.id,
    assignee_id: null,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    first_response_at: null,
    solved_at: null,
    merged_into: null,
    time_spent_minutes: 0,
    satisfaction: null,
    sla: null,
    version: v,
    ...changes,
  };
}

export interface FakeServer {
  fetch: typeof fetch;
  calls: { method: string; path: string; headers: Record<string, string>; body: unknown }[];
  /** makes every access token issued so far invalid (as after its expiry) */
  expireAccessTokens(): void;
  revokeAll(): void;
  ticketVersion: number;
  mfaCode: string | null;
  /** answers a test adds, by "METHOD /path" (query left out) */
  routes: Record<string, (url: URL) => Response>;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const problem = status >= 400;
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": problem ? "application/problem+json" : "application/json", ...headers },
  });
}

export function fakeServer(opts: { ttlSeconds?: number } = {}): FakeServer {
  let seq = 0;
  const access = new Set<string>();
  const refresh = new Map<string, { family: number; used: boolean }>();
  const revokedFamilies = new Set<number>();
  let families = 0;
  const server: FakeServer = {
    calls: [],
    ticketVersion: 3,
    mfaCode: null,
    routes: {},
    expireAccessTokens: () => access.clear(),
    revokeAll: () => {
      access.clear();
      for (const r of refresh.values()) revokedFamilies.add(r.family);
    },
    fetch: async (input, init) => {
      const url = new URL(String(input), "http://gateway.test");
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      server.calls.push({ method: init?.method ?? "GET", path: url.pathname + url.search, headers, body });
      const issue = (family: number): TokenPair => {
        const a = `access-${++seq}`;
        const r = `refresh-${seq}`;
        access.add(a);
        refresh.set(r, { family, used: false });
        return { access_token: a, refresh_token: r, token_type: "Bearer", expires_in: opts.ttlSeconds ?? 900, user: demoUser };
      };
      const route = `${init?.method ?? "GET"} ${url.pathname}`;
      if (route === "POST /v1/auth/login") {
        if (body.password !== "right") return json(401, { status: 401, detail: "wrong email or password" });
        if (server.mfaCode && body.totp !== server.mfaCode) return json(401, { status: 401, detail: "code needed", mfa_required: true });
        return json(200, issue(++families));
      }
      if (route === "POST /v1/auth/refresh") {
        const r = refresh.get(body.refresh_token);
        if (!r || revokedFamilies.has(r.family)) return json(401, { status: 401, detail: "refresh token not valid" });
        if (r.used) {
          revokedFamilies.add(r.family);
          return json(401, { status: 401, detail: "refresh token reused: family revoked" });
        }
        r.used = true;
        return json(200, issue(r.family));
      }
      const token = headers.Authorization?.replace(/^Bearer /, "");
      if (!token || !access.has(token)) return json(401, { status: 401, detail: "token not valid" }, { "WWW-Authenticate": "Bearer" });
      if (route === "POST /v1/auth/logout") {
        access.delete(token);
        return new Response(null, { status: 204 });
      }
      if (route === "GET /v1/tickets/t1") return json(200, ticketAt(server.ticketVersion), { ETag: `"${server.ticketVersion}"` });
      if (route === "PATCH /v1/tickets/t1") {
        if (headers["If-Match"] !== `"${server.ticketVersion}"`) return json(412, { status: 412, detail: "the ticket has changed (version mismatch)" });
        server.ticketVersion++;
        return json(200, ticketAt(server.ticketVersion, body), { ETag: `"${server.ticketVersion}"` });
      }
      if (server.routes[route]) return server.routes[route](url);
      if (route === "GET /v1/tickets/t1/comments" || route === "GET /v1/users") return json(200, { items: [], next_cursor: null });
      if (route === "POST /v1/tickets")
        return json(422, { status: 422, detail: "invalid fields", errors: [{ field: "subject", message: "must be 1 to 200 characters" }] });
      return json(404, { status: 404, detail: "no such route" });
    },
  };
  return server;
}

export function memoryStore(initial: string | null = null) {
  let value = initial;
  return { get: () => value, set: (v: string | null) => void (value = v) };
}
