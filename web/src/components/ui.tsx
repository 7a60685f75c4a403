// Small pieces every page uses.
import type { ReactNode } from "react";
import { describeError } from "../api/errors";
import type { Priority, Status } from "../api/types";

export function ErrorBox({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error && !children) return null;
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800">
      {children ?? describeError(error)}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div role="status" className="rounded-md border border-emerald-300 bg-emerald-50 p-3 text-sm text-emerald-800">
      {children}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p role="status" className="p-4 text-sm text-slate-600">
      {what}…
    </p>
  );
}

const statusColours: Record<Status, string> = {
  new: "bg-sky-100 text-sky-800",
  open: "bg-amber-100 text-amber-900",
  pending: "bg-violet-100 text-violet-800",
  on_hold: "bg-slate-200 text-slate-800",
  solved: "bg-emerald-100 text-emerald-800",
  closed: "bg-slate-100 text-slate-700",
};

export function StatusBadge({ status }: { status: Status }) {
  return <span className={`badge ${statusColours[status]}`}>{statusLabel(status)}</span>;
}

export function statusLabel(status: string): string {
  return status === "on_hold" ? "on hold" : status;
}

const priorityColours: Record<Priority, string> = {
  low: "bg-slate-100 text-slate-700",
  normal: "bg-blue-50 text-blue-800",
  high: "bg-orange-100 text-orange-900",
  urgent: "bg-red-100 text-red-800",
};

export function PriorityBadge({ priority }: { priority: Priority }) {
  return <span className={`badge ${priorityColours[priority]}`}>{priority}</span>;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-xl font-semibold">{children}</h1>
      {actions}
    </div>
  );
}

/** A labelled control: the label names the control of that id. */
export function Field({ id, label, children, className }: { id: string; label: string; children: ReactNode; className?: string }) {
  return (
    <div className={className}>
      <label className="label" htmlFor={id}>
        {label}
      </label>
      {children}
    </div>
  );
}

/** A comma-separated list as the API's array (trimmed, no empty items). */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One fact of a record: a label over its value, in a small card (inside a <dl>). */
export function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="card p-2">
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A lost If-Match race, in words (conflictText), where the form is. */
export function ConflictBox({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <div role="alert" className="rounded-md border border-amber-400 bg-amber-50 p-3 text-sm text-amber-900" data-testid="conflict">
      {text}
    </div>
  );
}

/** A form's submit button and the Cancel that closes it. */
export function SubmitCancel({ label, pending, onCancel, className }: { label: string; pending: boolean; onCancel: () => void; className?: string }) {
  return (
    <div className={`flex gap-2 ${className ?? ""}`}>
      <button type="submit" className="btn" disabled={pending}>
        {label}
      </button>
      <button type="button" className="btn-secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** A field's problem, under it (nothing when there is none); the field
 * names it with aria-describedby={id}. */
export function FieldProblem({ id, text }: { id: string; text: string }) {
  if (!text) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-800">
      {text}
    </p>
  );
}
