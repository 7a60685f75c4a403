// Pages in jsdom with React Testing Library, on the real ApiClient and an
// in-memory stand-in for the gateway (test/fakeServer.ts).
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import { ApiProvider } from "../api/context";
import { fakeServer, memoryStore } from "../test/fakeServer";
import { TicketDetail } from "./agent/TicketDetail";
import { SignIn } from "./SignIn";

afterEach(cleanup);

function mount(client: ApiClient, path: string, routes: ReactNode) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <ApiProvider client={client}>
      <QueryClientProvider client={qc}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>{routes}</Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </ApiProvider>,
  );
}

describe("SignIn", () => {
  it("asks for the TOTP code when the server wants one, then signs in", async () => {
    const server = fakeServer();
    server.mfaCode = "654321";
    const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
    mount(client, "/login", [<Route key="l" path="/login" element={<SignIn />} />, <Route key="a" path="/agent" element={<p>queue page</p>} />]);
    fireEvent.change(screen.getByLabelText("Organisation"), { target: { value: "acme" } });
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "agent@acme.test" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "right" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    const code = await screen.findByLabelText("Verification code");
    fireEvent.change(code, { target: { value: "654321" } });
    fireEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByText("queue page")).toBeTruthy();
    expect(client.user?.email).toBe("agent@acme.test");
  });

  it("shows the server's reason for a wrong password", async () => {
    const server = fakeServer();
    const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
    mount(client, "/login", <Route path="/login" element={<SignIn />} />);
    fireEvent.change(screen.getByLabelText("Organisation"), { target: { value: "acme" } });
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "agent@acme.test" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("wrong email or password");
  });
});

describe("TicketDetail", () => {
  it("explains a stale edit (412) and reloads the ticket", async () => {
    const server = fakeServer();
    const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
    await client.login("acme", "agent@acme.test", "right");
    mount(client, "/agent/tickets/t1", <Route path="/agent/tickets/:id" element={<TicketDetail />} />);
    const priority = await screen.findByLabelText("Priority");
    server.ticketVersion = 4; // a colleague saved meanwhile (and tagged it "vip")
    fireEvent.change(priority, { target: { value: "urgent" } });
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    const conflict = await screen.findByTestId("conflict");
    expect(conflict.textContent).toContain("Someone else changed this ticket");
    expect(conflict.textContent).toContain("version 4; you were editing version 3");
    const patch = server.calls.find((c) => c.method === "PATCH")!;
    expect(patch.headers["If-Match"]).toBe('"3"');
    expect(patch.body).toEqual({ priority: "urgent" });
    await waitFor(() => expect((screen.getByLabelText(/^Tags/) as HTMLInputElement).value).toBe("vip"));
    expect((screen.getByLabelText("Priority") as HTMLSelectElement).value).toBe("normal");
    expect(screen.getByText("Version 4")).toBeTruthy();
  });

  it("saves only what changed, against the version shown", async () => {
    const server = fakeServer();
    const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
    await client.login("acme", "agent@acme.test", "right");
    mount(client, "/agent/tickets/t1", <Route path="/agent/tickets/:id" element={<TicketDetail />} />);
    fireEvent.change(await screen.findByLabelText("Status"), { target: { value: "pending" } });
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Saved.")).toBeTruthy();
    const patch = server.calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toEqual({ status: "pending" });
    expect(patch.headers["If-Match"]).toBe('"3"');
    expect(server.ticketVersion).toBe(4);
  });
});
