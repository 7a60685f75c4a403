// Pages of other services in jsdom: shown when the service answers, left
// out when it does not (docs/web.md, "Pages of other services").
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import { ApiProvider } from "../api/context";
import { fakeServer, json, memoryStore, type FakeServer } from "../test/fakeServer";
import { Layout } from "../components/Layout";
import { NewTicket } from "./portal/NewTicket";

afterEach(cleanup);

// generous: on a loaded machine jsdom takes its time (not a timing test)
const WAIT = { timeout: 10_000 };

const note = (id: string) => ({ id, type: "public_reply", title: `Reply ${id}`, body: "", ticket_id: null, read_at: null, created_at: "2026-12-07T10:00:00Z" });

const hit = { id: "a1", title: "Toner smudges", snippet: "Shake the <mark>toner</mark> &amp; wipe", score: 0.5, fuzzy: false };

async function mount(server: FakeServer) {
  const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
  await client.login("acme", "agent@acme.test", "right");
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <ApiProvider client={client}>
      <QueryClientProvider client={qc}>
        <MemoryRouter initialEntries={["/new"]}>
          <Routes>
            <Route element={<Layout />}>
              <Route path="/new" element={<NewTicket />} />
            </Route>
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </ApiProvider>,
  );
}

function states() {
  return screen.getByRole("navigation", { name: "Main" }).getAttribute("data-services");
}

describe("pages of the knowledge, field, notification and analytics services", () => {
  it("offers articles while the subject is typed, and links the service's pages", async () => {
    const server = fakeServer();
    server.routes["GET /v1/kb/articles"] = () => json(200, { items: [], next_cursor: null });
    server.routes["GET /v1/work-orders"] = () => json(200, { items: [], next_cursor: null });
    server.routes["GET /v1/kb/search"] = (url) => json(200, { items: url.searchParams.get("q") === "toner smudge" ? [hit] : [] });
    server.routes["GET /v1/notifications"] = () => json(200, { items: [note("n1"), note("n2"), note("n3")], next_cursor: null });
    server.routes["GET /v1/analytics/settings"] = () => json(200, { timezone: "Europe/Paris" });
    await mount(server);
    await waitFor(() => expect(states()).toBe("field:up knowledge:up notification:up analytics:up"), WAIT);
    expect(screen.getByRole("link", { name: "Knowledge base" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Dispatch board" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Analytics" })).toBeTruthy();
    // the unread count beside the link, asked with ?unread=true
    await waitFor(() => expect(screen.getByTestId("unread-badge").textContent).toBe("3 unread"), WAIT);
    expect(screen.getByRole("link", { name: /^Notifications/ }).textContent).toBe("Notifications3 unread");
    expect(server.calls.some((c) => c.path.startsWith("/v1/notifications?") && c.path.includes("unread=true"))).toBe(true);
    // the analytics probe sends no parameter (its route takes none)
    expect(server.calls.filter((c) => c.path.startsWith("/v1/analytics/")).every((c) => c.path === "/v1/analytics/settings")).toBe(true);
    fireEvent.change(screen.getByLabelText("Subject"), { target: { value: "toner smudge" } });
    const offered = await screen.findByRole("region", { name: "Articles that may help" }, WAIT);
    expect(offered.textContent).toContain("Toner smudges");
    // the snippet's mark is drawn as a <mark>, its &amp; as text
    expect(offered.querySelector("mark")?.textContent).toBe("toner");
    expect(offered.textContent).toContain("& wipe");
  }, 30_000);

  it("leaves out the pages and the suggestions of a service that does not answer", async () => {
    const server = fakeServer();
    server.routes["GET /v1/kb/articles"] = () => json(503, { status: 503, detail: "knowledge is not connected" });
    server.routes["GET /v1/work-orders"] = () => json(200, { items: [], next_cursor: null });
    server.routes["GET /v1/kb/search"] = () => json(200, { items: [hit] });
    await mount(server);
    await waitFor(() => expect(states()).toBe("field:up knowledge:down notification:down analytics:down"), WAIT);
    expect(screen.queryByRole("link", { name: "Knowledge base" })).toBeNull();
    expect(screen.queryByRole("link", { name: /^Notifications/ })).toBeNull();
    expect(screen.queryByRole("link", { name: "Analytics" })).toBeNull();
    expect(screen.getByRole("link", { name: "Dispatch board" })).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Subject"), { target: { value: "toner smudge" } });
    await new Promise((r) => setTimeout(r, 500));
    expect(screen.queryByRole("region", { name: "Articles that may help" })).toBeNull();
    expect(server.calls.some((c) => c.path.startsWith("/v1/kb/search"))).toBe(false);
  }, 30_000);
});
