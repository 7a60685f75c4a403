// The signed-in user's in-app notifications (docs/web.md, "Notifications"):
// the types of GET /v1/notifications and the unread count the navigation
// shows as a badge, read again after a mark-read and when an event of the
// live stream may have made one for the user (every 30 s only while the
// stream is down).
import { useQuery } from "@tanstack/react-query";
import { useFallbackPoll, useLiveInvalidate, type LiveEvent } from "../lib/stream";
import { useApi, useUser } from "./context";
import { useServiceUp } from "./services";
import type { Page, User } from "./types";

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

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Whether hd-notification may make a notification for user from this
 * event (services/notification/sql/002_functions.sql): a ticket assigned to
 * them, a public reply on their ticket, a reply on a ticket of an agent, an
 * SLA breach (its assignee and the admins), a work order dispatched to a
 * technician (the stream gives technicians only their own). */
export function mayNotify(event: LiveEvent, user: Pick<User, "id" | "role">): boolean {
  const d = event.data;
  const staff = user.role === "agent" || user.role === "admin";
  switch (event.type) {
    case "ticket.created":
      return str(d.assignee_id) === user.id;
    case "ticket.updated":
    case "ticket.merged":
      return str((d.ticket as Record<string, unknown> | undefined)?.assignee_id) === user.id;
    case "comment.added":
      return str(d.author_id) !== user.id && (staff || (d.public === true && str(d.requester_id) === user.id));
    case "sla.breached":
      return staff;
    case "workorder.dispatched":
      return user.role === "technician";
    default:
      return false;
  }
}

/** When to read the count again after such an event: hd-notification writes
 * the notification from the same event as the stream carries, a moment
 * later, so after 1 s, and again after 5 s and 15 s for a busy service. */
const AFTER_EVENT = [
  { delayMs: 1_000, throttleMs: 2_000 },
  { delayMs: 5_000, throttleMs: 5_000 },
  { delayMs: 15_000, throttleMs: 15_000 },
];

/** Reloads every notifications query (the badge, the page) on the events of
 * mayNotify. */
function useLiveNotifications(enabled: boolean) {
  const user = useUser();
  const keys = (event: LiveEvent) => (user && mayNotify(event, user) ? [NOTIFICATIONS_KEY] : []);
  useLiveInvalidate(keys, enabled, AFTER_EVENT[0]);
  useLiveInvalidate(keys, enabled, AFTER_EVENT[1]);
  useLiveInvalidate(keys, enabled, AFTER_EVENT[2]);
}

/** The caller's unread notifications (first page): count and whether more. */
export function useUnread() {
  const api = useApi();
  const user = useUser();
  const up = useServiceUp("notification");
  useLiveNotifications(up);
  return useQuery({
    queryKey: [...NOTIFICATIONS_KEY, "unread-count", user?.id],
    enabled: up,
    refetchInterval: useFallbackPoll(30_000),
    queryFn: ({ signal }) =>
      api
        .get<Page<AppNotification>>("/v1/notifications", { unread: "true", limit: UNREAD_PAGE }, signal)
        .then((p) => ({ count: p.items.length, more: p.next_cursor !== null })),
  });
}
