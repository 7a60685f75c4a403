// The agents' ticket queue: filters, search and sort kept in the URL, keyset
// paging (next_cursor) with "Load more", kept live by the ticket events of
// the live stream (queueLive.ts; a slow poll while it is down).
import { useInfiniteQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { PRIORITIES, STATUSES, type Page, type Ticket, type User } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { EmptyRow, TableFrame, type Column } from "../../components/Table";
import { useFallbackPoll } from "../../lib/stream";
import { QUEUE_PAGE, useLiveQueue } from "./queueLive";
import { ErrorBox, Loading, PageTitle, PriorityBadge, StatusBadge, statusLabel, when } from "../../components/ui";

const SORTS = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "-updated_at", label: "Recently updated" },
  { value: "updated_at", label: "Least recently updated" },
];

const FILTERS = ["status", "priority", "assignee_id", "tag", "q", "sort"] as const;

export function Queue() {
  const api = useApi();
  const me = useUser();
  const users = useUsers();
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""])) as Record<(typeof FILTERS)[number], string>;
  const [search, setSearch] = useState(filters.q);

  const key = ["tickets", "queue", filters];
  const fallback = useFallbackPoll(60_000); // the live stream reloads it; this only covers its absence
  const q = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam, signal }) => api.get<Page<Ticket>>("/v1/tickets", { ...filters, limit: QUEUE_PAGE, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // deeper than a page, useLiveQueue reads the first page again instead
    refetchInterval: (query) => ((query.state.data?.pages.length ?? 0) > 1 ? false : fallback),
  });
  useLiveQueue(key, filters, q.data?.pages.length ?? 0);
  const tickets = q.data?.pages.flatMap((p) => p.items) ?? [];

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const submitSearch = (e: FormEvent) => {
    e.preventDefault();
    set("q", search.trim());
  };
  const agents = (users.data ?? []).filter((u) => u.role === "agent" || u.role === "admin");

  return (
    <section>
      <PageTitle>Ticket queue</PageTitle>
      <div className="card mb-4 grid grid-cols-2 gap-3 md:grid-cols-6" role="search">
        <form onSubmit={submitSearch} className="col-span-2">
          <label className="label" htmlFor="q">
            Search
          </label>
          <input
            id="q"
            type="search"
            className="input"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Words in subject or description"
          />
        </form>
        <Select id="f-status" label="Status" value={filters.status} onChange={(v) => set("status", v)} options={STATUSES.map((s) => [s, statusLabel(s)])} />
        <Select id="f-priority" label="Priority" value={filters.priority} onChange={(v) => set("priority", v)} options={PRIORITIES.map((p) => [p, p])} />
        <Select
          id="f-assignee"
          label="Assignee"
          value={filters.assignee_id}
          onChange={(v) => set("assignee_id", v)}
          options={[
            ...(me ? [[me.id, "Me"] as [string, string]] : []),
            ...agents.filter((a) => a.id !== me?.id).map((a) => [a.id, a.name || a.email] as [string, string]),
          ]}
        />
        <div>
          <label className="label" htmlFor="f-sort">
            Sort
          </label>
          <select
            id="f-sort"
            className="input"
            value={filters.sort || "-created_at"}
            onChange={(e) => set("sort", e.target.value === "-created_at" ? "" : e.target.value)}
          >
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <form
          className="col-span-2 md:col-span-1"
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget).get("tag");
            set("tag", typeof v === "string" ? v.trim() : "");
          }}
        >
          <label className="label" htmlFor="f-tag">
            Tag
          </label>
          <input id="f-tag" name="tag" className="input" defaultValue={filters.tag} key={filters.tag} placeholder="Enter to apply" />
        </form>
      </div>
      {q.isPending && <Loading what="Loading tickets" />}
      <ErrorBox error={q.error} />
      {q.isSuccess && (
        <TicketTable
          tickets={tickets}
          users={users.data}
          onNearEnd={() => {
            if (q.hasNextPage && !q.isFetchingNextPage) q.fetchNextPage();
          }}
        />
      )}
      {q.hasNextPage && (
        <button type="button" className="btn-secondary mt-4" onClick={() => q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}

const ROW_PX = 45;
const QUEUE_COLUMNS: Column[] = [
  { label: "#" },
  { label: "Subject" },
  { label: "Status" },
  { label: "Priority" },
  { label: "Assignee", wide: true },
  { label: "Updated", wide: true },
];

/** The queue's rows, drawn only around what is in view (a queue of 10,000
 * tickets keeps a few dozen rows in the page); nearing the end of what is
 * loaded asks for the next page. */
function TicketTable({ tickets, users, onNearEnd }: { tickets: Ticket[]; users?: User[]; onNearEnd: () => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: tickets.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_PX, overscan: 10 });
  const items = rows.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (last >= tickets.length - 15) onNearEnd();
  }, [last, tickets.length, onNearEnd]);
  const top = items.length > 0 ? items[0].start : 0;
  const bottom = items.length > 0 ? rows.getTotalSize() - items[items.length - 1].end : 0;
  return (
    <TableFrame
      label="Tickets"
      columns={QUEUE_COLUMNS}
      sticky
      scrollerRef={scroller}
      className="max-h-[70vh]"
      rowCount={tickets.length + 1}
      testId="queue-scroller"
      loaded={tickets.length}
    >
      {top > 0 && (
        <tr aria-hidden="true">
          <td colSpan={6} style={{ height: top }} />
        </tr>
      )}
      {items.map((v) => {
        const t = tickets[v.index];
        return (
          <tr key={t.id} data-index={v.index} ref={rows.measureElement} aria-rowindex={v.index + 2} className="border-t border-slate-100 hover:bg-indigo-50">
            <td className="px-3 py-2 text-slate-500">{t.number}</td>
            <td className="px-3 py-2">
              <Link className="font-medium text-indigo-800 hover:underline" to={`/agent/tickets/${t.id}`}>
                {t.subject}
              </Link>
              {t.sla?.breached && <span className="badge ml-2 bg-red-100 text-red-800">SLA breached</span>}
            </td>
            <td className="px-3 py-2">
              <StatusBadge status={t.status} />
            </td>
            <td className="px-3 py-2">
              <PriorityBadge priority={t.priority} />
            </td>
            <td className="hidden px-3 py-2 md:table-cell">{nameOf(users, t.assignee_id, "unassigned")}</td>
            <td className="hidden px-3 py-2 text-slate-600 md:table-cell">{when(t.updated_at)}</td>
          </tr>
        );
      })}
      {bottom > 0 && (
        <tr aria-hidden="true">
          <td colSpan={6} style={{ height: bottom }} />
        </tr>
      )}
      {tickets.length === 0 && <EmptyRow columns={6}>No ticket matches these filters.</EmptyRow>}
    </TableFrame>
  );
}

function Select(props: { id: string; label: string; value: string; onChange: (v: string) => void; options: [string, string][] }) {
  return (
    <div>
      <label className="label" htmlFor={props.id}>
        {props.label}
      </label>
      <select id={props.id} className="input" value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">Any</option>
        {props.options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </div>
  );
}
