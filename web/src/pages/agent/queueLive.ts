// The queue kept live without reloading every page loaded so far
// (docs/web.md, "Live updates"): with one page loaded, an event reloads it;
// with more (a queue scrolled deep: 200 pages at 10,000 tickets), the event's
// own ticket is written into the loaded rows (ticket.updated, ticket.merged
// carry the whole ticket; ticket.deleted removes it) and only the first page
// is read again (for new tickets, and those a sort by update moves up), put
// in front of what is loaded.
import { useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useEffect } from "react";
import { useApi } from "../../api/context";
import type { Page, Ticket } from "../../api/types";
import { useFallbackPoll, useLiveEvents, useLiveInvalidate, type LiveEvent } from "../../lib/stream";

export type QueuePages = InfiniteData<Page<Ticket>, string | undefined>;

export const QUEUE_PAGE = 50;

function mapPages(data: QueuePages, fn: (items: Ticket[]) => Ticket[]): QueuePages {
  return { ...data, pages: data.pages.map((p) => ({ ...p, items: fn(p.items) })) };
}

/** The loaded pages with the event's ticket written in (none loaded: as they were). */
export function patchPages(data: QueuePages, event: LiveEvent): QueuePages {
  if (event.type === "ticket.deleted") {
    const id = event.data.id;
    return mapPages(data, (items) => items.filter((t) => t.id !== id));
  }
  if (event.type !== "ticket.updated" && event.type !== "ticket.merged") return data;
  const ticket = event.data.ticket as Ticket | undefined;
  if (!ticket || typeof ticket.id !== "string") return data;
  return mapPages(data, (items) => items.map((t) => (t.id === ticket.id ? ticket : t)));
}

/** The loaded pages with the first page read again in front: its tickets
 * first, in its order, then every other loaded one where it was. */
export function mergeHead(data: QueuePages, head: Page<Ticket>): QueuePages {
  const fresh = new Set(head.items.map((t) => t.id));
  const pages = data.pages.map((p, i) => ({
    ...p,
    items: [...(i === 0 ? head.items : []), ...p.items.filter((t) => !fresh.has(t.id))],
  }));
  return { ...data, pages };
}

/** Live updates of the queue's infinite query of key (see the top). */
export function useLiveQueue(key: readonly unknown[], filters: Record<string, string>, pagesLoaded: number): void {
  const api = useApi();
  const qc = useQueryClient();
  const deep = pagesLoaded > 1;
  useLiveInvalidate((ev) => (ev.type.startsWith("ticket.") ? [["tickets", "queue"]] : []), !deep);
  useLiveEvents((ev) => {
    const data = qc.getQueryData<QueuePages>(key);
    if (data && ev.type.startsWith("ticket.")) qc.setQueryData<QueuePages>(key, patchPages(data, ev));
  }, deep);
  useLiveInvalidate((ev) => (ev.type.startsWith("ticket.") ? [["tickets", "queue-head"]] : []), deep);
  const head = useQuery({
    queryKey: ["tickets", "queue-head", filters],
    enabled: deep,
    refetchInterval: useFallbackPoll(60_000),
    queryFn: ({ signal }) => api.get<Page<Ticket>>("/v1/tickets", { ...filters, limit: QUEUE_PAGE }, signal),
  });
  const fetchedAt = head.dataUpdatedAt;
  useEffect(() => {
    const data = qc.getQueryData<QueuePages>(key);
    if (head.data && data && data.pages.length > 1) qc.setQueryData<QueuePages>(key, mergeHead(data, head.data));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per answer of the head query
  }, [fetchedAt]);
}
