// The deep queue's live updates (queueLive.ts): the event's ticket written
// into the loaded rows, and the first page read again put in front.
import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../../lib/stream";
import { ticketAt } from "../../test/fakeServer";
import { mergeHead, patchPages, type QueuePages } from "./queueLive";

const t = (id: string, subject = id) => ({ ...ticketAt(1), id, subject });
const event = (type: string, data: Record<string, unknown>): LiveEvent => ({ id: "e", seq: 1, type, tenant_id: "t", actor: null, data });
const loaded = (): QueuePages => ({
  pages: [
    { items: [t("a"), t("b")], next_cursor: "c1" },
    { items: [t("c"), t("d")], next_cursor: "c2" },
  ],
  pageParams: [undefined, "c1"],
});
const ids = (d: QueuePages) => d.pages.map((p) => p.items.map((x) => x.id).join("")).join("|");

describe("patchPages", () => {
  it("writes an updated ticket where it is, removes a deleted one, leaves the rest", () => {
    const updated = patchPages(loaded(), event("ticket.updated", { ticket: t("c", "Changed"), changes: {} }));
    expect(updated.pages[1].items[0].subject).toBe("Changed");
    expect(ids(updated)).toBe("ab|cd");
    expect(ids(patchPages(loaded(), event("ticket.deleted", { id: "b", requester_id: "r" })))).toBe("a|cd");
    expect(patchPages(loaded(), event("ticket.created", t("z")))).toEqual(loaded());
    expect(patchPages(loaded(), event("ticket.updated", { ticket: t("z"), changes: {} }))).toEqual(loaded());
  });
});

describe("mergeHead", () => {
  it("puts the first page in front and keeps every other loaded ticket once, with the cursors", () => {
    // a new ticket n, and d moved up (a sort by update)
    const merged = mergeHead(loaded(), { items: [t("n"), t("d")], next_cursor: "h1" });
    expect(ids(merged)).toBe("ndab|c");
    expect(merged.pages.map((p) => p.next_cursor)).toEqual(["c1", "c2"]);
    expect(merged.pageParams).toEqual([undefined, "c1"]);
  });
});
