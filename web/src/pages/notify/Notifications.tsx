// The signed-in user's notifications (docs/web.md, "Notifications"): newest
// first, all or unread only, a page of 50 at a time (keyset), each marked
// read on its own or all shown at once; a ticket's notification links to
// the ticket on the caller's face of the console. Live: the badge's events
// (useUnread) reload every notifications query, this list included.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { useApi, useUser } from "../../api/context";
import { NOTIFICATIONS_KEY, type AppNotification } from "../../api/notifications";
import type { Page, Role } from "../../api/types";
import { ErrorBox, Loading, Notice, PageTitle, when } from "../../components/ui";
import { useFallbackPoll } from "../../lib/stream";

const PAGE = 50;

/** Where a notification's ticket opens for a role. */
export function ticketPath(role: Role, ticketId: string): string {
  return role === "customer" ? `/portal/tickets/${ticketId}` : `/agent/tickets/${ticketId}`;
}

export function Notifications() {
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const list = useInfiniteQuery({
    queryKey: [...NOTIFICATIONS_KEY, "list", unreadOnly],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.get<Page<AppNotification>>("/v1/notifications", { unread: unreadOnly ? "true" : undefined, limit: PAGE, cursor: pageParam }, signal),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: useFallbackPoll(30_000), // else the live stream's events reload it (api/notifications.ts)
  });
  const markRead = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await api.post<void>(`/v1/notifications/${id}/read`);
      return ids.length;
    },
    onSuccess: (n) => setMessage(n === 1 ? "Marked as read." : `${n} notifications marked as read.`),
    onSettled: () => qc.invalidateQueries({ queryKey: NOTIFICATIONS_KEY }),
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const unread = items.filter((n) => !n.read_at);
  return (
    <section className="space-y-4">
      <PageTitle
        actions={
          <button
            type="button"
            className="btn-secondary"
            disabled={unread.length === 0 || markRead.isPending}
            onClick={() => markRead.mutate(unread.map((n) => n.id))}
          >
            Mark all shown as read
          </button>
        }
      >
        Notifications
      </PageTitle>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} />
        Unread only
      </label>
      {message && <Notice>{message}</Notice>}
      <ErrorBox error={markRead.error ?? list.error} />
      {list.isPending ? (
        <Loading what="Loading notifications" />
      ) : (
        <ul className="space-y-2" aria-label="Notifications">
          {items.map((n) => (
            <NotificationItem key={n.id} n={n} role={me?.role ?? "customer"} pending={markRead.isPending} onRead={() => markRead.mutate([n.id])} />
          ))}
          {items.length === 0 && <li className="card text-sm text-slate-600">{unreadOnly ? "Nothing unread." : "No notification yet."}</li>}
        </ul>
      )}
      {list.hasNextPage && (
        <button type="button" className="btn-secondary" disabled={list.isFetchingNextPage} onClick={() => list.fetchNextPage()}>
          Show older
        </button>
      )}
    </section>
  );
}

function NotificationItem({ n, role, pending, onRead }: { n: AppNotification; role: Role; pending: boolean; onRead: () => void }) {
  return (
    <li className={`card space-y-1 ${n.read_at ? "" : "border-l-4 border-l-indigo-600"}`} data-unread={n.read_at ? undefined : "true"}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className={n.read_at ? "text-sm" : "text-sm font-semibold"}>
          {n.title}
          {!n.read_at && <span className="sr-only"> (unread)</span>}
        </h2>
        <span className="text-xs text-slate-600">{when(n.created_at)}</span>
      </div>
      {n.body && <p className="whitespace-pre-wrap text-sm text-slate-700">{n.body}</p>}
      <div className="flex flex-wrap gap-3 text-sm">
        {n.ticket_id && (
          <Link className="text-indigo-800 underline" to={ticketPath(role, n.ticket_id)}>
            Open the ticket
          </Link>
        )}
        {!n.read_at && (
          <button
            type="button"
            className="text-indigo-800 underline disabled:opacity-50"
            disabled={pending}
            onClick={onRead}
            aria-label={`Mark “${n.title}” as read`}
          >
            Mark as read
          </button>
        )}
      </div>
    </li>
  );
}
