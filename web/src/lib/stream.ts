// Live events for the console (docs/web.md, "Live updates"): one
// EventSource per tab on GET /v1/stream, shared by every page that listens.
// EventSource cannot send Authorization, so each connection first takes a
// one-time stream ticket (POST /v1/stream/tickets, with the bearer token and
// its refresh) and opens /v1/stream?ticket=… . A ticket works once, so the
// browser's own reconnect (which repeats the URL) cannot be used: on an
// error or an `event: reset` (slow reader, token expired, session ended) the
// stream is closed and opened again with a fresh ticket and
// `last_event_id=<last id>`, which resumes with nothing lost or repeated.
// A ticket refused because the session ended (401/403 after a refresh)
// stops it: the user is signed out.
import { useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useSyncExternalStore } from "react";
import type { ApiClient } from "../api/client";
import { useApi } from "../api/context";
import { ApiError } from "../api/errors";

/** A domain event as the stream carries it (docs/openapi.yaml, GET /v1/stream). */
export interface LiveEvent {
  id: string;
  seq: number;
  type: string;
  tenant_id: string;
  occurred_at?: string;
  actor: string | null;
  data: Record<string, unknown>;
}

export type LiveListener = (event: LiveEvent) => void;

/** What the stream needs of EventSource (tests pass a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (e: MessageEvent) => void): void;
  close(): void;
  onerror: ((e: Event) => void) | null;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

/** The event types the console's pages react to. */
export const LIVE_TYPES = [
  "ticket.created",
  "ticket.updated",
  "ticket.merged",
  "ticket.deleted",
  "comment.added",
  "sla.breached",
  "workorder.created",
  "workorder.dispatched",
  "workorder.status_changed",
  "workorder.rescheduled",
  "workorder.completed",
  "workorder.cancelled",
];

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export class LiveStream {
  private source: EventSourceLike | null = null;
  private lastId: string | null = null;
  private readonly listeners = new Set<LiveListener>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_MIN_MS;
  /** bumped on every stop and reconnect: a ticket that comes back late opens nothing */
  private generation = 0;
  /** whether a stream is open now (pages poll only while it is not) */
  private up = false;
  private readonly upListeners = new Set<() => void>();

  constructor(
    private readonly api: Pick<ApiClient, "post">,
    private readonly open: EventSourceFactory = (url) => new EventSource(url),
    private readonly base = "",
  ) {}

  /** The id of the last event delivered (the resume position). */
  get lastEventId(): string | null {
    return this.lastId;
  }

  /** Whether events flow now: a stream opened and has not failed since. */
  get isUp(): boolean {
    return this.up;
  }

  /** Calls fn whenever isUp changes; returns the unsubscribe. */
  onUpChange(fn: () => void): () => void {
    this.upListeners.add(fn);
    return () => this.upListeners.delete(fn);
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    for (const fn of this.upListeners) fn();
  }

  /** Listens; the first listener opens the stream, the last one leaving closes it. */
  subscribe(fn: LiveListener): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) void this.connect();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    this.generation++;
    this.setUp(false);
    this.source?.close();
    this.source = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.timer = null;
    let ticket: string;
    try {
      ticket = (await this.api.post<{ ticket: string; expires_in: number }>("/v1/stream/tickets")).ticket;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return; // signed out
      if (generation === this.generation) this.retryLater();
      return;
    }
    if (generation !== this.generation || this.listeners.size === 0) return;
    const query = new URLSearchParams({ ticket });
    if (this.lastId) query.set("last_event_id", this.lastId);
    const source = this.open(`${this.base}/v1/stream?${query.toString()}`);
    this.source = source;
    for (const type of LIVE_TYPES) source.addEventListener(type, (e) => this.deliver(source, e));
    source.addEventListener("open", () => {
      if (source !== this.source) return;
      this.retryMs = RETRY_MIN_MS; // it works: the next failure retries soon
      this.setUp(true);
    });
    source.addEventListener("reset", () => this.reconnect(source));
    source.onerror = () => this.reconnect(source);
  }

  private deliver(source: EventSourceLike, e: MessageEvent): void {
    if (source !== this.source) return;
    if (e.lastEventId) this.lastId = e.lastEventId;
    let event: LiveEvent;
    try {
      event = JSON.parse(String(e.data)) as LiveEvent;
    } catch {
      return;
    }
    for (const fn of this.listeners) fn(event);
  }

  /** Ends source (the browser would resend its used ticket) and opens anew. */
  private reconnect(source: EventSourceLike): void {
    if (source !== this.source) return; // already handled (reset, then the close's error)
    source.close();
    this.source = null;
    this.generation++;
    this.setUp(false);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.timer !== null || this.listeners.size === 0) return;
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}

const streams = new WeakMap<ApiClient, LiveStream>();

/** The tab's one stream for this client. */
export function liveStreamOf(api: ApiClient): LiveStream {
  let s = streams.get(api);
  if (!s) {
    s = new LiveStream(api);
    streams.set(api, s);
  }
  return s;
}

/** Calls onEvent for every live event while the component is mounted
 * (nothing where the browser has no EventSource, e.g. in unit tests). */
export function useLiveEvents(onEvent: LiveListener, enabled = true): void {
  const api = useApi();
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });
  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return;
    return liveStreamOf(api).subscribe((ev) => handler.current(ev));
  }, [api, enabled]);
}

/** Whether the tab's stream carries events now (false where the browser
 * has no EventSource). */
export function useLiveUp(): boolean {
  const api = useApi();
  const live = typeof EventSource === "undefined" ? null : liveStreamOf(api);
  const subscribe = useCallback((fn: () => void) => (live ? live.onUpChange(fn) : () => undefined), [live]);
  return useSyncExternalStore(subscribe, () => live?.isUp ?? false);
}

/** A query's refetchInterval: every ms while the stream is down, never while
 * it is up (its events reload the query then). */
export function useFallbackPoll(ms: number): number | false {
  return useLiveUp() ? false : ms;
}

/** How reloads follow events: the first reload delayMs after an event (for
 * data another service writes from the same event, e.g. a notification),
 * then at most one per throttleMs while events keep coming. */
export interface LivePace {
  delayMs?: number;
  throttleMs?: number;
}

const COALESCE_MS = 1_000;

interface PendingReload {
  key: QueryKey;
  timer: ReturnType<typeof setTimeout> | null;
  again: boolean;
}

/** Refetches the queries that keys(event) names, at most once per
 * pace.throttleMs (1 s) per key: a burst of events costs one reload, the
 * last one included. */
export function useLiveInvalidate(keys: (event: LiveEvent) => QueryKey[], enabled = true, pace: LivePace = {}): void {
  const qc = useQueryClient();
  const pending = useRef(new Map<string, PendingReload>());
  const { delayMs = 0, throttleMs = COALESCE_MS } = pace;
  useEffect(() => {
    const timers = pending.current;
    return () => {
      for (const p of timers.values()) if (p.timer !== null) clearTimeout(p.timer);
      timers.clear();
    };
  }, []);
  useLiveEvents((event) => {
    for (const key of keys(event)) {
      const id = JSON.stringify(key);
      const p = pending.current.get(id);
      if (p) {
        p.again = true;
        continue;
      }
      const entry: PendingReload = { key, timer: null, again: false };
      const fire = () => {
        entry.again = false;
        void qc.invalidateQueries({ queryKey: entry.key });
        entry.timer = setTimeout(() => {
          entry.timer = null;
          if (entry.again) fire();
          else pending.current.delete(id);
        }, throttleMs);
      };
      pending.current.set(id, entry);
      if (delayMs > 0) entry.timer = setTimeout(fire, delayMs);
      else fire();
    }
  }, enabled);
}

/** The ticket an event is about (comment.added: its ticket; ticket.*: the ticket). */
export function ticketOf(event: LiveEvent): string | null {
  const d = event.data;
  if (event.type === "comment.added") return typeof d.ticket_id === "string" ? d.ticket_id : null;
  const t = event.type === "ticket.created" || event.type === "ticket.deleted" ? d : (d.ticket as Record<string, unknown> | undefined);
  return t && typeof t.id === "string" ? t.id : null;
}

/** The work order a workorder.* event is about, or null. */
export function workOrderOf(event: LiveEvent): string | null {
  if (!event.type.startsWith("workorder.")) return null;
  const w = event.data.work_order as Record<string, unknown> | undefined;
  return w && typeof w.id === "string" ? w.id : null;
}
