// The field service's lists, shared by its pages (docs/web.md, "Field service").
import { useQuery, type QueryKey } from "@tanstack/react-query";
import type { ApiClient } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useApi, useUser } from "../../api/context";
import type { Page, Technician, User, WorkOrder, WorkOrderStatus } from "../../api/types";
import { nameOf } from "../../api/users";
import { useFallbackPoll, useLiveInvalidate, workOrderOf, type LiveEvent } from "../../lib/stream";

const MAX_PAGES = 10;

/** Every page of a keyset list, up to MAX_PAGES of 100. */
export async function allPages<T>(api: ApiClient, path: string, query: Record<string, string | undefined>, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.get<Page<T>>(path, { ...query, limit: 100, cursor }, signal);
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

/** How often the dispatch board reads the technicians again: their
 * positions and availability have no stream event (docs/web.md, "Dispatch
 * board"), so they are polled while the board is open, the stream up or not. */
export const POSITIONS_POLL_MS = 20_000;
/** After a workorder.* event (a technician on their way, arrived, done),
 * the technicians are read again at most once per this long. */
export const POSITIONS_THROTTLE_MS = 5_000;

/** The technicians' list again on every work order event (where they go
 * and what they do changes with their work orders). */
export function technicianKeys(event: LiveEvent): QueryKey[] {
  return workOrderOf(event) ? [["technicians"]] : [];
}

/** Every technician (admins and agents may list them; technicians may not);
 * live: followed as the dispatch board needs (POSITIONS_*). */
export function useTechnicians({ live = false } = {}) {
  const api = useApi();
  const me = useUser();
  const staff = me?.role === "admin" || me?.role === "agent";
  useLiveInvalidate(technicianKeys, live && staff, { throttleMs: POSITIONS_THROTTLE_MS });
  return useQuery({
    queryKey: ["technicians", "all"],
    enabled: staff,
    queryFn: ({ signal }) => allPages<Technician>(api, "/v1/technicians", {}, signal),
    refetchInterval: live ? POSITIONS_POLL_MS : false,
  });
}

/** The queries a workorder.* event of the live stream changes: every list
 * of work orders, and the work order's own page and history. */
export function workOrderKeys(event: LiveEvent): QueryKey[] {
  const id = workOrderOf(event);
  return id ? [["work-orders"], ["work-order", id], ["wo-history", id]] : [];
}

/** The work orders (a technician: their own), reloaded by the live stream's
 * workorder.* events (every 15 s only while it is down). */
export function useWorkOrders(filters: { status?: WorkOrderStatus | ""; technician_id?: string } = {}) {
  const api = useApi();
  useLiveInvalidate(workOrderKeys);
  return useQuery({
    queryKey: ["work-orders", filters],
    queryFn: ({ signal }) =>
      allPages<WorkOrder>(api, "/v1/work-orders", { status: filters.status || undefined, technician_id: filters.technician_id || undefined }, signal),
    refetchInterval: useFallbackPoll(15_000),
  });
}

/** A technician by the name of their user. */
export function technicianName(techs: Technician[] | undefined, users: User[] | undefined, id: string | null | undefined, fallback = "—"): string {
  if (!id) return fallback;
  const t = techs?.find((x) => x.id === id);
  return t ? nameOf(users, t.user_id) : `${id.slice(0, 8)}…`;
}

export function statusText(s: WorkOrderStatus): string {
  return s.replace("_", " ");
}

const statusColours: Record<WorkOrderStatus, string> = {
  unassigned: "bg-red-100 text-red-800",
  scheduled: "bg-sky-100 text-sky-800",
  en_route: "bg-violet-100 text-violet-800",
  on_site: "bg-amber-100 text-amber-900",
  completed: "bg-emerald-100 text-emerald-800",
  cancelled: "bg-slate-100 text-slate-700",
};

export function statusBadgeClass(s: WorkOrderStatus): string {
  return `badge ${statusColours[s]}`;
}

/** "2026-12-07T09:00" (a datetime-local input) ⇄ ISO 8601 in UTC. */
export function localInputToIso(v: string): string {
  return new Date(v).toISOString();
}

export function isoToLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "48.85, 2.35" → {lat, lon}, or null when it is not a position. */
export function parseLatLon(text: string): { lat: number; lon: number } | null {
  const m = text.trim().match(/^(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)$/);
  if (!m) return null;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return null;
  return { lat, lon };
}

/** The signed-in technician's own record (GET /v1/technicians/me): null when
 * they have none yet (404: an admin has not added them as a technician). */
export function useOwnTechnician() {
  const api = useApi();
  return useQuery({
    queryKey: ["technicians", "me"],
    queryFn: ({ signal }) =>
      api.get<Technician>("/v1/technicians/me", undefined, signal).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
  });
}
