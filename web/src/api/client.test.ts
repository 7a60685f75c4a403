import { describe, expect, it } from "vitest";
import { ApiClient, queryString } from "./client";
import { ApiError } from "./errors";
import { fakeServer, memoryStore } from "../test/fakeServer";

/** The ApiError p fails with (the test fails when p succeeds). */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("the call did not fail");
}

function setup(opts: { ttlSeconds?: number; now?: () => number } = {}) {
  const server = fakeServer({ ttlSeconds: opts.ttlSeconds });
  const store = memoryStore();
  const client = new ApiClient({ store, fetch: server.fetch, baseUrl: "http://gateway.test", now: opts.now });
  return { server, store, client };
}

describe("ApiClient sign-in", () => {
  it("keeps the access token in memory and the refresh token in the store", async () => {
    const { client, store, server } = setup();
    const user = await client.login("acme", "agent@acme.test", "right");
    expect(user.email).toBe("agent@acme.test");
    expect(store.get()).toMatch(/^refresh-/);
    await client.get("/v1/tickets/t1");
    expect(server.calls.at(-1)!.headers.Authorization).toMatch(/^Bearer access-/);
  });

  it("reports a wrong password as a 401 without MFA", async () => {
    const { client, store } = setup();
    const err = await failure(client.login("acme", "agent@acme.test", "wrong"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(401);
    expect(err.mfaRequired).toBe(false);
    expect(store.get()).toBeNull();
    expect(client.user).toBeNull();
  });

  it("asks for the TOTP code, then signs in with it", async () => {
    const { client, server } = setup();
    server.mfaCode = "123456";
    const err = await failure(client.login("acme", "agent@acme.test", "right"));
    expect(err.mfaRequired).toBe(true);
    await client.login("acme", "agent@acme.test", "right", "123456");
    expect(client.user?.email).toBe("agent@acme.test");
    expect(server.calls.at(-1)!.body).toMatchObject({ totp: "123456" });
  });
});

describe("ApiClient refresh", () => {
  it("refreshes once on a 401 and retries the request", async () => {
    const { client, server, store } = setup();
    await client.login("acme", "a", "right");
    const first = store.get();
    server.expireAccessTokens();
    const reply = await client.request<{ version: number }>("GET", "/v1/tickets/t1");
    expect(reply.data.version).toBe(3);
    expect(store.get()).not.toBe(first);
    expect(server.calls.map((c) => c.path)).toEqual(["/v1/auth/login", "/v1/tickets/t1", "/v1/auth/refresh", "/v1/tickets/t1"]);
  });

  it("shares one refresh between concurrent requests (a rotated token is never sent twice)", async () => {
    const { client, server } = setup();
    await client.login("acme", "a", "right");
    server.expireAccessTokens();
    const replies = await Promise.all([client.get("/v1/tickets/t1"), client.get("/v1/tickets/t1"), client.get("/v1/tickets/t1")]);
    expect(replies).toHaveLength(3);
    expect(server.calls.filter((c) => c.path === "/v1/auth/refresh")).toHaveLength(1);
    expect(client.user).not.toBeNull();
  });

  it("refreshes before the access token expires", async () => {
    let now = 1_000_000;
    const { client, server } = setup({ ttlSeconds: 60, now: () => now });
    await client.login("acme", "a", "right");
    now += 45_000; // 15 s left, under the 30 s margin
    await client.get("/v1/tickets/t1");
    expect(server.calls.map((c) => c.path)).toEqual(["/v1/auth/login", "/v1/auth/refresh", "/v1/tickets/t1"]);
  });

  it("signs out when the refresh token is refused, and says so", async () => {
    const { client, server, store } = setup();
    const seen: (string | null)[] = [];
    client.subscribe((u) => seen.push(u?.email ?? null));
    await client.login("acme", "a", "right");
    server.revokeAll();
    const err = await failure(client.get("/v1/tickets/t1"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(401);
    expect(store.get()).toBeNull();
    expect(client.user).toBeNull();
    expect(seen).toEqual(["agent@acme.test", null]);
  });

  it("restores a session from a stored refresh token (a reload)", async () => {
    const { client, server, store } = setup();
    await client.login("acme", "a", "right");
    const reloaded = new ApiClient({ store, fetch: server.fetch, baseUrl: "http://gateway.test" });
    expect(reloaded.user).toBeNull();
    const user = await reloaded.restore();
    expect(user?.email).toBe("agent@acme.test");
    // the first tab's token was rotated away: using it now would revoke the family
    expect(store.get()).not.toBeNull();
  });

  it("restores nothing without a stored token, and makes no call", async () => {
    const { client, server } = setup();
    expect(await client.restore()).toBeNull();
    expect(server.calls).toHaveLength(0);
  });

  it("signs out: the server is told and both tokens are dropped", async () => {
    const { client, server, store } = setup();
    await client.login("acme", "a", "right");
    const refreshToken = store.get();
    await client.logout();
    const call = server.calls.at(-1)!;
    expect(call.path).toBe("/v1/auth/logout");
    expect(call.body).toEqual({ refresh_token: refreshToken });
    expect(store.get()).toBeNull();
    expect(client.user).toBeNull();
  });
});

describe("ApiClient requests", () => {
  it("sends If-Match with the version edited, and a 412 is an ApiError", async () => {
    const { client, server } = setup();
    await client.login("acme", "a", "right");
    const ok = await client.request<{ version: number }>("PATCH", "/v1/tickets/t1", { body: { status: "open" }, ifMatch: 3 });
    expect(ok.data.version).toBe(4);
    expect(ok.etag).toBe('"4"');
    expect(server.calls.at(-1)!.headers["If-Match"]).toBe('"3"');
    const err = await failure(client.patch("/v1/tickets/t1", { status: "pending" }, 3));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(412);
    expect(server.ticketVersion).toBe(4);
  });

  it("carries the problem's detail and field errors", async () => {
    const { client } = setup();
    await client.login("acme", "a", "right");
    const err = await failure(client.post("/v1/tickets", { subject: "" }));
    expect(err.status).toBe(422);
    expect(err.message).toBe("invalid fields");
    expect(err.fieldErrors).toEqual([{ field: "subject", message: "must be 1 to 200 characters" }]);
  });

  it("turns a network failure into status 0", async () => {
    const client = new ApiClient({ store: memoryStore(), fetch: () => Promise.reject(new TypeError("Failed to fetch")) });
    const err = await failure(client.get("/v1/tickets"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(0);
  });

  it("builds query strings without empty values", () => {
    expect(queryString({ status: "open", q: "", cursor: undefined, limit: 50, tag: null })).toBe("?status=open&limit=50");
    expect(queryString({ q: "a b&c" })).toBe("?q=a+b%26c");
    expect(queryString({})).toBe("");
  });
});
