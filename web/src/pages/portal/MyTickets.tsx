// The customer's tickets, newest first, a page at a time.
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useApi } from "../../api/context";
import type { Page, Ticket } from "../../api/types";
import { ErrorBox, Loading, PageTitle, StatusBadge, when } from "../../components/ui";

export function MyTickets() {
  const api = useApi();
  const q = useInfiniteQuery({
    queryKey: ["tickets", "mine"],
    queryFn: ({ pageParam, signal }) => api.get<Page<Ticket>>("/v1/tickets", { limit: 25, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const tickets = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <PageTitle
        actions={
          <Link className="btn" to="/portal/new">
            Open a ticket
          </Link>
        }
      >
        My tickets
      </PageTitle>
      {q.isPending && <Loading what="Loading your tickets" />}
      <ErrorBox error={q.error} />
      {q.isSuccess && tickets.length === 0 && <p className="card text-sm text-slate-600">You have no tickets yet. Open one when you need help.</p>}
      <ul className="space-y-2" aria-label="My tickets">
        {tickets.map((t) => (
          <li key={t.id}>
            <Link to={`/portal/tickets/${t.id}`} className="card flex flex-wrap items-center gap-3 hover:border-indigo-300">
              <span className="text-sm text-slate-500">#{t.number}</span>
              <span className="flex-1 font-medium">{t.subject}</span>
              <StatusBadge status={t.status} />
              <span className="text-xs text-slate-500">updated {when(t.updated_at)}</span>
            </Link>
          </li>
        ))}
      </ul>
      {q.hasNextPage && (
        <button type="button" className="btn-secondary mt-4" onClick={() => q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? "Loading…" : "Show older tickets"}
        </button>
      )}
    </section>
  );
}
