// The shapes of docs/openapi.yaml that the console uses.
export type Role = "admin" | "agent" | "technician" | "customer" | "platform_admin";

export interface User {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  mfa_enabled: boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
  user: User;
}

export type Status = "new" | "open" | "pending" | "on_hold" | "solved" | "closed";
export type Priority = "low" | "normal" | "high" | "urgent";

export interface Ticket {
  id: string;
  number: number;
  subject: string;
  description: string | null;
  status: Status;
  priority: Priority;
  category: string | null;
  tags: string[];
  requester_id: string;
  assignee_id: string | null;
  created_at: string;
  updated_at: string;
  first_response_at: string | null;
  solved_at: string | null;
  merged_into: string | null;
  time_spent_minutes: number;
  satisfaction: string | null;
  sla: { first_response_due: string | null; resolution_due: string | null; breached: boolean } | null;
  version: number;
}

export interface Comment {
  id: string;
  ticket_id: string;
  author_id: string;
  body: string;
  public: boolean;
  created_at: string;
}

export interface HistoryEntry {
  at: string;
  actor_id: string;
  field: string;
  from: unknown;
  to: unknown;
}

export interface TimeEntry {
  id: string;
  ticket_id: string;
  user_id: string;
  minutes: number;
  note: string | null;
  billable: boolean;
  created_at: string;
}

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface SlaTarget {
  first_response_minutes: number;
  resolution_minutes: number;
}

export interface SlaPolicy {
  targets: Partial<Record<Priority, SlaTarget>>;
  business_hours?: BusinessHours | null;
}

export interface Automation {
  id: string;
  name: string;
  event: "ticket.created" | "ticket.updated";
  conditions: { field: string; op: string; value: unknown }[];
  actions: { type: string; value: unknown }[];
  active: boolean;
  version?: number;
}

export const STATUSES: Status[] = ["new", "open", "pending", "on_hold", "solved", "closed"];
export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];

// The moves docs/openapi.yaml allows from each status (others are 422).
export const STATUS_MOVES: Record<Status, Status[]> = {
  new: ["open", "pending", "on_hold", "solved"],
  open: ["pending", "on_hold", "solved"],
  pending: ["open", "on_hold", "solved"],
  on_hold: ["open", "pending", "solved"],
  solved: ["open", "closed"],
  closed: [],
};

// --- business hours (SLA policy, technicians' working hours)
export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/** Up to 4 sorted, disjoint ["HH:MM","HH:MM"] windows a day. */
export interface BusinessHours {
  timezone: string;
  days: Partial<Record<Weekday, [string, string][]>>;
}

// --- field service (hd-field)
export interface LatLon {
  lat: number;
  lon: number;
}

export interface Technician {
  id: string;
  user_id: string;
  skills: string[];
  location: LatLon | null;
  available: boolean;
  active: boolean;
  working_hours: BusinessHours | null;
  last_seen_at: string | null;
  distance_km?: number;
  created_at: string;
  updated_at: string;
  version: number;
}

export type WorkOrderStatus = "unassigned" | "scheduled" | "en_route" | "on_site" | "completed" | "cancelled";
export const WORK_ORDER_STATUSES: WorkOrderStatus[] = ["unassigned", "scheduled", "en_route", "on_site", "completed", "cancelled"];

// The moves docs/openapi.yaml allows a PATCH (unassigned → scheduled is dispatch's).
export const WORK_ORDER_MOVES: Record<WorkOrderStatus, WorkOrderStatus[]> = {
  unassigned: ["cancelled"],
  scheduled: ["en_route", "on_site", "cancelled"],
  en_route: ["on_site", "cancelled"],
  on_site: ["completed", "cancelled"],
  completed: [],
  cancelled: [],
};

export interface ChecklistItem {
  id: string;
  text: string;
  required: boolean;
  done: boolean;
  done_at: string | null;
  done_by: string | null;
}

export interface WorkOrder {
  id: string;
  title: string;
  description: string;
  ticket_id: string | null;
  location: LatLon & { address?: string | null };
  required_skills: string[];
  window: { start: string; end: string };
  priority: Priority;
  status: WorkOrderStatus;
  technician_id: string | null;
  distance_km: number | null;
  eta_minutes: number | null;
  notes: string;
  checklist: ChecklistItem[];
  sign_off: { signed_by: string; signed_at: string } | null;
  completed_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface Part {
  id: string;
  work_order_id: string;
  sku: string;
  description: string | null;
  quantity: number;
  created_by: string;
  created_at: string;
}

export interface WorkOrderHistoryEntry {
  id: number;
  at: string;
  actor_id: string | null;
  field: string;
  from: unknown;
  to: unknown;
}

// --- knowledge base (hd-knowledge)
export type ArticleStatus = "draft" | "published" | "archived";
export const ARTICLE_STATUSES: ArticleStatus[] = ["draft", "published", "archived"];

export interface Article {
  id: string;
  title: string;
  body: string;
  tags: string[];
  locale: string;
  status: ArticleStatus;
  version: number;
  helpful: number;
  not_helpful: number;
  author_id: string;
  created_at: string;
  updated_at: string;
  published_at: string | null;
}

export interface ArticleVersion {
  version: number;
  title: string;
  body: string;
  tags: string[];
  locale: string;
  status: ArticleStatus;
  author_id: string;
  created_at: string;
}

export interface SearchHit {
  id: string;
  title: string;
  /** HTML-escaped by the service, the matched words in <mark>…</mark> */
  snippet: string;
  score: number;
  fuzzy: boolean;
}

export interface TicketSuggestions {
  articles: SearchHit[];
  degraded?: boolean;
  predicted: { category: string | null; priority: Priority | null; confidence: number };
}
