// Which queries the live stream's events reload on the pages of work orders
// and analytics (field/data.ts, analytics/Analytics.tsx).
import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../lib/stream";
import { analyticsKeys } from "./analytics/Analytics";
import { workOrderKeys } from "./field/data";

const event = (type: string, data: Record<string, unknown>): LiveEvent => ({ id: "e", seq: 1, type, tenant_id: "t", actor: null, data });

describe("workOrderKeys", () => {
  it("reloads the lists and the work order's own page and history", () => {
    expect(workOrderKeys(event("workorder.status_changed", { work_order: { id: "w1" }, from: "scheduled", to: "on_site" }))).toEqual([
      ["work-orders"],
      ["work-order", "w1"],
      ["wo-history", "w1"],
    ]);
    expect(workOrderKeys(event("ticket.updated", { ticket: { id: "k1" }, changes: {} }))).toEqual([]);
  });
});

describe("analyticsKeys", () => {
  const figures = [
    ["analytics", "summary"],
    ["analytics", "timeseries"],
    ["analytics", "agents"],
  ];
  it("reloads the figures on what hd-analytics counts", () => {
    expect(analyticsKeys(event("ticket.created", { id: "k1" }))).toEqual(figures);
    expect(analyticsKeys(event("sla.breached", { ticket_id: "k1" }))).toEqual(figures);
    expect(analyticsKeys(event("workorder.completed", { work_order: { id: "w1" } }))).toEqual(figures);
    expect(analyticsKeys(event("comment.added", { ticket_id: "k1", first_response: true }))).toEqual(figures);
  });
  it("leaves them on what it does not count (and never the settings or the forecast)", () => {
    expect(analyticsKeys(event("comment.added", { ticket_id: "k1" }))).toEqual([]);
    expect(analyticsKeys(event("workorder.dispatched", { work_order: { id: "w1" } }))).toEqual([]);
    expect(analyticsKeys(event("article.published", { id: "a1" }))).toEqual([]);
  });
});
