import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/errors";
import { LiveStream, ticketOf, workOrderOf, type EventSourceLike, type LiveEvent } from "./stream";

/** An EventSource the test drives: emit(type, data, id) and fail(). */
class FakeSource implements EventSourceLike {
  closed = false;
  onerror: ((e: Event) => void) | null = null;
  private readonly handlers = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), fn]);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data: unknown, id = "") {
    for (const fn of this.handlers.get(type) ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }));
  }
  fail() {
    this.onerror?.(new Event("error"));
  }
}

function setup(tickets: (string | Error)[]) {
  const sources: FakeSource[] = [];
  const asked: string[] = [];
  const api = {
    post: vi.fn(async (path: string) => {
      asked.push(path);
      const next = tickets.shift() ?? new Error("no more tickets");
      if (next instanceof Error) throw next;
      return { ticket: next, expires_in: 30 } as never;
    }),
  };
  const stream = new LiveStream(api, (url) => {
    const s = new FakeSource(url);
    sources.push(s);
    return s;
  });
  return { stream, sources, asked };
}

const event = (type: string, data: Record<string, unknown>): LiveEvent => ({ id: "e", seq: 1, type, tenant_id: "t", actor: null, data });

describe("LiveStream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("opens with a ticket, delivers events and keeps the last id", async () => {
    const { stream, sources, asked } = setup(["T1"]);
    const got: LiveEvent[] = [];
    stream.subscribe((e) => got.push(e));
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(["/v1/stream/tickets"]);
    expect(sources).toHaveLength(1);
    expect(sources[0].url).toBe("/v1/stream?ticket=T1");
    sources[0].emit("comment.added", event("comment.added", { ticket_id: "k1" }), "1.5.0.0");
    expect(got.map((e) => e.type)).toEqual(["comment.added"]);
    expect(stream.lastEventId).toBe("1.5.0.0");
  });

  it("after a reset, a fresh ticket resumes from the last id; the used one is never sent again", async () => {
    const { stream, sources } = setup(["T1", "T2", "T3"]);
    stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    sources[0].emit("ticket.created", event("ticket.created", { id: "k1" }), "1.7.-.-");
    sources[0].emit("reset", {});
    sources[0].fail(); // the close that follows the reset: handled once
    expect(sources[0].closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sources).toHaveLength(2);
    expect(sources[1].url).toBe("/v1/stream?ticket=T2&last_event_id=1.7.-.-");
    // an error (the gateway went away) is the same: a new ticket, soon
    // again once the stream had opened
    sources[1].emit("open", {});
    sources[1].fail();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sources).toHaveLength(3);
    expect(sources[2].url).toBe("/v1/stream?ticket=T3&last_event_id=1.7.-.-");
  });

  it("backs off while tickets fail, and stops once signed out", async () => {
    const down = new ApiError(503, { detail: "redis down" });
    const { stream, sources, asked } = setup([down, down, "T1"]);
    stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0); // 503
    await vi.advanceTimersByTimeAsync(1_000); // 503 again
    expect(asked).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asked).toHaveLength(2); // the second wait is 2 s
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sources).toHaveLength(1);

    const signedOut = setup([new ApiError(401, { detail: "revoked" })]);
    signedOut.stream.subscribe(() => {});
    await vi.runAllTimersAsync();
    expect(signedOut.asked).toHaveLength(1);
    expect(signedOut.sources).toHaveLength(0);
  });

  it("is up from the stream's open to its failure, and tells each change once", async () => {
    const { stream, sources } = setup(["T1", "T2"]);
    const changes: boolean[] = [];
    stream.onUpChange(() => changes.push(stream.isUp));
    const off = stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(stream.isUp).toBe(false); // a ticket and a source, but not open yet
    sources[0].emit("open", {});
    sources[0].emit("open", {});
    expect(stream.isUp).toBe(true);
    sources[0].fail();
    expect(stream.isUp).toBe(false); // pages poll again while it reconnects
    await vi.advanceTimersByTimeAsync(1_000);
    sources[1].emit("open", {});
    off();
    expect(changes).toEqual([true, false, true, false]);
  });

  it("closes when the last listener leaves, and a late ticket opens nothing", async () => {
    const { stream, sources } = setup(["T1", "T2"]);
    const off = stream.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    off();
    expect(sources[0].closed).toBe(true);
    const again = stream.subscribe(() => {});
    again(); // gone before its ticket came back
    await vi.runAllTimersAsync();
    expect(sources).toHaveLength(1);
  });
});

describe("ticketOf", () => {
  it("names the ticket of each kind of event", () => {
    expect(ticketOf(event("comment.added", { ticket_id: "k1" }))).toBe("k1");
    expect(ticketOf(event("ticket.created", { id: "k2" }))).toBe("k2");
    expect(ticketOf(event("ticket.deleted", { id: "k3" }))).toBe("k3");
    expect(ticketOf(event("ticket.updated", { ticket: { id: "k4" }, changes: {} }))).toBe("k4");
    expect(ticketOf(event("workorder.dispatched", {}))).toBeNull();
  });

  it("names the work order of a workorder event, and none of another", () => {
    expect(workOrderOf(event("workorder.status_changed", { work_order: { id: "w1" }, from: "scheduled", to: "en_route" }))).toBe("w1");
    expect(workOrderOf(event("workorder.dispatched", { work_order: { id: "w2" }, technician_id: "x" }))).toBe("w2");
    expect(workOrderOf(event("ticket.updated", { work_order: { id: "w3" } }))).toBeNull();
  });
});
