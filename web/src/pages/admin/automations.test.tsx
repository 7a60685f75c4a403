// The automations editor and the invitation page in jsdom, on the real
// ApiClient and the in-memory gateway (test/fakeServer.ts).
import { cleanup, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../api/client";
import { fakeServer, json, memoryStore } from "../../test/fakeServer";
import { drawPage, signedInClient } from "../../test/render";
import { Invitation, tokenOfFragment } from "../Invitation";
import { Automations } from "./Automations";

afterEach(cleanup);

const WAIT = { timeout: 10_000 };

describe("Automations", () => {
  it("sends several conditions and actions, and shows each field error under its row", async () => {
    const server = fakeServer();
    const posted: unknown[] = [];
    server.routes["GET /v1/automations"] = () => json(200, { items: [], next_cursor: null });
    server.routes["POST /v1/automations"] = () =>
      json(422, {
        status: 422,
        detail: "invalid fields",
        errors: [
          { field: "conditions[1].value", message: "is not valid for this operator" },
          { field: "actions[1].value", message: "is not valid for this action type" },
        ],
      });
    drawPage(await signedInClient(server), <Automations />);
    const editor = await screen.findByTestId("rule-editor", undefined, WAIT);
    const ed = within(editor);
    fireEvent.change(ed.getByLabelText("Name"), { target: { value: "Angry VIPs" } });
    fireEvent.change(ed.getByLabelText("Condition 1 value"), { target: { value: "vip, gold" } });
    fireEvent.change(ed.getByLabelText("Condition 1 operator"), { target: { value: "in" } });
    fireEvent.click(ed.getByRole("button", { name: "Add a condition" }));
    fireEvent.change(ed.getByLabelText("Condition 2 field"), { target: { value: "sentiment" } });
    fireEvent.change(ed.getByLabelText("Condition 2 operator"), { target: { value: "lt" } });
    fireEvent.change(ed.getByLabelText("Condition 2 value"), { target: { value: "low" } });
    fireEvent.click(ed.getByRole("button", { name: "Add an action" }));
    fireEvent.change(ed.getByLabelText("Action 2 type"), { target: { value: "auto_triage" } });
    fireEvent.change(ed.getByLabelText(/confidence threshold/), { target: { value: "1.5" } });
    fireEvent.click(ed.getByRole("button", { name: "Add rule" }));
    const second = await ed.findByText("value is not valid for this operator", undefined, WAIT);
    expect(within(ed.getByRole("group", { name: "Condition 2" })).getByText("value is not valid for this operator")).toBe(second);
    expect(within(ed.getByRole("group", { name: "Condition 1" })).queryByText(/not valid/)).toBeNull();
    expect(within(ed.getByRole("group", { name: "Action 2" })).getByText("value is not valid for this action type")).toBeTruthy();
    expect(ed.getByLabelText("Condition 2 value").getAttribute("aria-invalid")).toBe("true");
    posted.push(...server.calls.filter((c) => c.method === "POST" && c.path === "/v1/automations").map((c) => c.body));
    expect(posted).toEqual([
      {
        name: "Angry VIPs",
        event: "ticket.created",
        active: true,
        conditions: [
          { field: "subject", op: "in", value: ["vip", "gold"] },
          { field: "sentiment", op: "lt", value: "low" },
        ],
        actions: [
          { type: "set_priority", value: "high" },
          { type: "auto_triage", value: "1.5" },
        ],
      },
    ]);
    // a ticket.updated rule may not auto-triage: the choice goes with the event
    fireEvent.change(ed.getByLabelText("When a ticket is"), { target: { value: "ticket.updated" } });
    expect(ed.queryByLabelText(/confidence threshold/)).toBeNull();
    expect(within(ed.getByLabelText("Action 1 type")).queryByText("auto_triage")).toBeNull();
  }, 30_000);
});

describe("Invitation", () => {
  it("reads the token from the fragment only", () => {
    expect(tokenOfFragment("#token=abc.DEF-_1")).toBe("abc.DEF-_1");
    expect(tokenOfFragment("#x=1&token=t2")).toBe("t2");
    expect(tokenOfFragment("")).toBe("");
    expect(tokenOfFragment("#nothing")).toBe("");
  });

  it("sends the token in the body, drops it from the address, and explains a refused one", async () => {
    const calls: { url: string; body: unknown }[] = [];
    let refuse = true;
    const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(input), body: JSON.parse(String(init?.body)) });
      return refuse
        ? json(422, { status: 422, detail: "invalid fields", errors: [{ field: "token", message: "is not a valid invitation" }] })
        : new Response(null, { status: 204 });
    }) as typeof fetch;
    window.history.replaceState(null, "", "/invitation#token=tok-123");
    drawPage(new ApiClient({ store: memoryStore(), fetch: fetchFn }), <Invitation />);
    expect(window.location.hash).toBe("");
    fireEvent.change(screen.getByLabelText("New password"), { target: { value: "a long password" } });
    fireEvent.change(screen.getByLabelText("The same password again"), { target: { value: "a long passwore" } });
    fireEvent.click(screen.getByRole("button", { name: "Set my password" }));
    expect(screen.getByRole("alert").textContent).toMatch(/not the same/);
    expect(calls).toHaveLength(0);
    fireEvent.change(screen.getByLabelText("The same password again"), { target: { value: "a long password" } });
    fireEvent.click(screen.getByRole("button", { name: "Set my password" }));
    expect((await screen.findByRole("alert", undefined, WAIT)).textContent).toMatch(/no longer works/);
    refuse = false;
    fireEvent.click(screen.getByRole("button", { name: "Set my password" }));
    await screen.findByText(/Your password is set/, undefined, WAIT);
    expect(calls.map((c) => c.url)).toEqual(["/v1/auth/invitations/accept", "/v1/auth/invitations/accept"]);
    expect(calls[1].body).toEqual({ token: "tok-123", password: "a long password" });
    expect(screen.getByRole("link", { name: "Sign in" }).getAttribute("href")).toBe("/login");
  }, 30_000);
});
