// The unread badge follows the live stream (api/notifications.ts): which
// events may have made a notification for the user, and the badge read again
// after one, in jsdom with a stand-in EventSource and the in-memory gateway.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Layout } from "../components/Layout";
import type { LiveEvent } from "../lib/stream";
import { demoUser, fakeServer, json, memoryStore } from "../test/fakeServer";
import { ApiClient } from "./client";
import { ApiProvider } from "./context";
import { mayNotify, type AppNotification } from "./notifications";

const WAIT = { timeout: 10_000 };
const me = { id: "u-me", role: "agent" as const };
const event = (type: string, data: Record<string, unknown>): LiveEvent => ({ id: "e", seq: 1, type, tenant_id: "t", actor: null, data });

describe("mayNotify", () => {
  it("takes the events hd-notification turns into a notification for the user", () => {
    expect(mayNotify(event("ticket.created", { assignee_id: "u-me" }), me)).toBe(true);
    expect(mayNotify(event("ticket.created", { assignee_id: null }), me)).toBe(false);
    expect(mayNotify(event("ticket.updated", { ticket: { assignee_id: "u-me" }, changes: {} }), me)).toBe(true);
    expect(mayNotify(event("ticket.updated", { ticket: { assignee_id: "u-other" }, changes: {} }), me)).toBe(false);
    expect(mayNotify(event("comment.added", { author_id: "u-cust", public: true, requester_id: "u-cust" }), me)).toBe(true);
    expect(mayNotify(event("comment.added", { author_id: "u-me", public: true, requester_id: "u-cust" }), me)).toBe(false);
    expect(mayNotify(event("sla.breached", { ticket_id: "k" }), me)).toBe(true);
    expect(mayNotify(event("workorder.dispatched", { work_order: {} }), me)).toBe(false);
    expect(mayNotify(event("ticket.deleted", { id: "k" }), me)).toBe(false);
  });

  it("gives a customer only public replies on their tickets, a technician their dispatches", () => {
    const customer = { id: "u-cust", role: "customer" as const };
    expect(mayNotify(event("comment.added", { author_id: "u-me", public: true, requester_id: "u-cust" }), customer)).toBe(true);
    expect(mayNotify(event("comment.added", { author_id: "u-me", public: false, requester_id: "u-cust" }), customer)).toBe(false);
    expect(mayNotify(event("comment.added", { author_id: "u-me", public: true, requester_id: "u-else" }), customer)).toBe(false);
    expect(mayNotify(event("sla.breached", { ticket_id: "k" }), customer)).toBe(false);
    expect(mayNotify(event("workorder.dispatched", { work_order: {} }), { id: "u-tech", role: "technician" })).toBe(true);
  });
});

/** An EventSource the test drives (the one the tab's LiveStream opens). */
class FakeEventSource {
  static opened: FakeEventSource[] = [];
  onerror: ((e: Event) => void) | null = null;
  private readonly handlers = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), fn]);
  }
  close() {}
  emit(type: string, data: unknown) {
    for (const fn of this.handlers.get(type) ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: "1.1.-.-" }));
  }
}

describe("the unread badge on the live stream", () => {
  beforeEach(() => {
    FakeEventSource.opened = [];
    vi.stubGlobal("EventSource", FakeEventSource);
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("reads the count again after an assignment to the user comes on the stream", async () => {
    const server = fakeServer();
    const notes: AppNotification[] = [];
    server.routes["GET /v1/notifications"] = () => json(200, { items: notes, next_cursor: null });
    server.routes["POST /v1/stream/tickets"] = () => json(200, { ticket: "T1", expires_in: 30 });
    const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
    await client.login("acme", "agent@acme.test", "right");
    render(
      <ApiProvider client={client}>
        <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
          <MemoryRouter initialEntries={["/p"]}>
            <Routes>
              <Route element={<Layout />}>
                <Route path="/p" element={<p>page</p>} />
              </Route>
            </Routes>
          </MemoryRouter>
        </QueryClientProvider>
      </ApiProvider>,
    );
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1), WAIT);
    const source = FakeEventSource.opened[0];
    expect(source.url).toBe("/v1/stream?ticket=T1");
    source.emit("open", {});
    const unreadReads = () => server.calls.filter((c) => c.path.startsWith("/v1/notifications?") && c.path.includes("unread=true")).length;
    await waitFor(() => expect(unreadReads()).toBe(1), WAIT);
    expect(screen.queryByTestId("unread-badge")).toBeNull();
    // a ticket assigned to someone else: not read again for it
    source.emit("ticket.updated", event("ticket.updated", { ticket: { id: "t2", assignee_id: "someone-else" }, changes: {} }));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(unreadReads()).toBe(1);
    // hd-notification writes the notification from the event the stream carries
    notes.push({ id: "n1", type: "ticket_assigned", title: "Ticket #7", body: "", ticket_id: "t1", read_at: null, created_at: "2026-12-07T10:00:00Z" });
    source.emit("ticket.updated", event("ticket.updated", { ticket: { id: "t1", assignee_id: demoUser.id }, changes: {} }));
    await waitFor(() => expect(screen.getByTestId("unread-badge").textContent).toBe("1 unread"), WAIT);
  }, 30_000);
});
