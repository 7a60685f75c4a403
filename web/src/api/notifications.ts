// The signed-in user's in-app notifications (docs/web.md, "Notifications"):
// the types of GET /v1/notifications and the unread count the navigation
// shows as a badge, read again every 30 s and after a mark-read.
import { useQuery } from "@tanstack/react-query";
import { useApi, useUser } from "./context";
import { useServiceUp } from "./services";
import type { Page } from "./types";

export type NotificationType = "ticket_assigned" | "public_reply" | "customer_reply" | "sla_breached" | "work_order_dispatched" | "webhook_disabled";

export interface AppNotification {
  id: string;
  type: NotificationType;
  title: string;
  body: string;
  ticket_id: string | null;
  read_at: string | null;
  created_at: string;
}

/** The unread count shown: a full page of 100 more is "99+". */
export const UNREAD_PAGE = 100;

/** The query keys every notifications read shares (invalidated together). */
export const NOTIFICATIONS_KEY = ["notifications"] as const;

export function unreadLabel(count: number, more: boolean): string {
  return more || count > 99 ? "99+" : String(count);
}

/** The caller's unread notifications (first page): count and whether more. */
export function useUnread() {
  const api = useApi();
  const user = useUser();
  const up = useServiceUp("notification");
  return useQuery({
    queryKey: [...NOTIFICATIONS_KEY, "unread-count", user?.id],
    enabled: up,
    refetchInterval: 30_000,
    queryFn: ({ signal }) =>
      api
        .get<Page<AppNotification>>("/v1/notifications", { unread: "true", limit: UNREAD_PAGE }, signal)
        .then((p) => ({ count: p.items.length, more: p.next_cursor !== null })),
  });
}
