// The notifications and webhooks pages in jsdom, on the real ApiClient and
// the in-memory gateway (test/fakeServer.ts).
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { AppNotification } from "../../api/notifications";
import { fakeServer, json, type FakeServer } from "../../test/fakeServer";
import { drawPage, signedInClient } from "../../test/render";
import { Webhooks, type Webhook } from "../admin/Webhooks";
import { Notifications, ticketPath } from "./Notifications";

afterEach(cleanup);

const WAIT = { timeout: 10_000 };

async function mount(server: FakeServer, page: ReactNode) {
  drawPage(await signedInClient(server), page);
}

describe("Notifications", () => {
  it("lists them, links the ticket and marks one read, then the list is read again", async () => {
    const server = fakeServer();
    const notes: AppNotification[] = [
      {
        id: "n1",
        type: "ticket_assigned",
        title: "Ticket #7 is yours",
        body: "Printer on fire",
        ticket_id: "t1",
        read_at: null,
        created_at: "2026-12-07T10:00:00Z",
      },
      { id: "n2", type: "public_reply", title: "Old news", body: "", ticket_id: null, read_at: "2026-12-06T10:00:00Z", created_at: "2026-12-06T09:00:00Z" },
    ];
    server.routes["GET /v1/notifications"] = (url) =>
      json(200, { items: url.searchParams.get("unread") === "true" ? notes.filter((n) => !n.read_at) : notes, next_cursor: null });
    server.routes["POST /v1/notifications/n1/read"] = () => {
      notes[0] = { ...notes[0], read_at: "2026-12-07T11:00:00Z" };
      return new Response(null, { status: 204 });
    };
    await mount(server, <Notifications />);
    const list = await screen.findByRole("list", { name: "Notifications" }, WAIT);
    expect(within(list).getAllByRole("listitem")).toHaveLength(2);
    expect(within(list).getByRole("link", { name: "Open the ticket" }).getAttribute("href")).toBe("/agent/tickets/t1");
    fireEvent.click(screen.getByRole("button", { name: "Mark “Ticket #7 is yours” as read" }));
    await screen.findByText("Marked as read.", undefined, WAIT);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Mark “Ticket #7 is yours” as read" })).toBeNull(), WAIT);
    expect(server.calls.filter((c) => c.method === "POST" && c.path === "/v1/notifications/n1/read")).toHaveLength(1);
    // unread only: asks the server with ?unread=true
    fireEvent.click(screen.getByLabelText("Unread only"));
    await screen.findByText("Nothing unread.", undefined, WAIT);
    expect(server.calls.some((c) => c.path.includes("unread=true"))).toBe(true);
  }, 30_000);

  it("opens a customer's ticket in the portal", () => {
    expect(ticketPath("customer", "t9")).toBe("/portal/tickets/t9");
    expect(ticketPath("technician", "t9")).toBe("/agent/tickets/t9");
  });
});

describe("Webhooks", () => {
  it("shows the secret once after creating, and turns a webhook off with If-Match", async () => {
    const server = fakeServer();
    const hooks: Webhook[] = [];
    server.routes["GET /v1/webhooks"] = () => json(200, { items: hooks, next_cursor: null });
    server.routes["POST /v1/webhooks"] = () => {
      const body = server.calls[server.calls.length - 1].body as { url: string; events: string[]; active: boolean };
      const w: Webhook = {
        id: "w1",
        url: body.url,
        events: body.events,
        active: body.active,
        consecutive_failures: 0,
        disabled_at: null,
        created_at: "2026-12-07T10:00:00Z",
        version: 1,
      };
      hooks.push(w);
      return json(201, { ...w, secret: "whsec-shown-once" });
    };
    server.routes["PATCH /v1/webhooks/w1"] = () => {
      hooks[0] = { ...hooks[0], active: false, version: 2 };
      return json(200, hooks[0]);
    };
    await mount(server, <Webhooks />);
    fireEvent.change(await screen.findByLabelText("URL (https)", undefined, WAIT), { target: { value: "https://hooks.example.com/in" } });
    fireEvent.click(screen.getByLabelText("comment.added"));
    fireEvent.click(screen.getByRole("button", { name: "Add webhook" }));
    expect((await screen.findByTestId("webhook-secret", undefined, WAIT)).textContent).toContain("whsec-shown-once");
    const sent = server.calls.find((c) => c.method === "POST" && c.path === "/v1/webhooks")!.body;
    expect(sent).toEqual({ url: "https://hooks.example.com/in", events: ["ticket.created", "comment.added"], active: true });
    fireEvent.click(screen.getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByTestId("webhook-secret")).toBeNull();
    fireEvent.click(await screen.findByRole("button", { name: "Turn off https://hooks.example.com/in" }, WAIT));
    await screen.findByText("https://hooks.example.com/in is off now.", undefined, WAIT);
    const patch = server.calls.find((c) => c.method === "PATCH")!;
    expect(patch.headers["If-Match"]).toBe('"1"');
    expect(patch.body).toEqual({ active: false });
    // the secret is not shown again
    expect(screen.queryByText(/whsec-shown-once/)).toBeNull();
  }, 30_000);

  it("changes a webhook's URL and events with If-Match, showing the API's field errors under their field", async () => {
    const server = fakeServer();
    const hooks: Webhook[] = [
      {
        id: "w1",
        url: "https://a.example.com/in",
        events: ["ticket.created"],
        active: true,
        consecutive_failures: 0,
        disabled_at: null,
        created_at: "2026-12-07T10:00:00Z",
        version: 4,
      },
    ];
    server.routes["GET /v1/webhooks"] = () => json(200, { items: hooks, next_cursor: null });
    server.routes["PATCH /v1/webhooks/w1"] = () => {
      const body = server.calls[server.calls.length - 1].body as { url: string; events: string[] };
      if (body.url.includes("10.0.0.1"))
        return json(422, { status: 422, detail: "invalid fields", errors: [{ field: "url", message: "must not name a private address" }] });
      hooks[0] = { ...hooks[0], ...body, version: 5 };
      return json(200, hooks[0]);
    };
    await mount(server, <Webhooks />);
    fireEvent.click(await screen.findByRole("button", { name: "Change https://a.example.com/in" }, WAIT));
    const form = screen.getByRole("form", { name: "Change the webhook to https://a.example.com/in" });
    const url = within(form).getByLabelText("URL (https)");
    expect((url as HTMLInputElement).value).toBe("https://a.example.com/in");
    fireEvent.change(url, { target: { value: "https://10.0.0.1/in" } });
    fireEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    await within(form).findByText("must not name a private address", undefined, WAIT);
    expect(url.getAttribute("aria-invalid")).toBe("true");
    expect(hooks[0].url).toBe("https://a.example.com/in");
    fireEvent.change(url, { target: { value: "https://b.example.com/in" } });
    fireEvent.click(within(form).getByLabelText("ticket.created"));
    expect(within(form).getByText("Choose at least one event.")).toBeTruthy();
    expect((within(form).getByRole("button", { name: "Save changes" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(within(form).getByLabelText("sla.breached"));
    fireEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    await screen.findByText("Webhook to https://b.example.com/in saved: sla.breached.", undefined, WAIT);
    const patches = server.calls.filter((c) => c.method === "PATCH");
    expect(patches.map((c) => c.headers["If-Match"])).toEqual(['"4"', '"4"']);
    expect(patches[1].body).toEqual({ url: "https://b.example.com/in", events: ["sla.breached"] });
    expect(screen.queryByRole("form", { name: /^Change the webhook/ })).toBeNull();
  }, 30_000);
});
