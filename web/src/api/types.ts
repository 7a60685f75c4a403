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
  business_hours?: unknown;
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
