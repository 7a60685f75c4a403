// One work order: dispatch of the nearest qualified technician, status
// moves with notes and the customer's sign-off (If-Match), the checklist,
// the parts used and (admins, agents) the history.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import { WORK_ORDER_MOVES, type Page, type Part, type WorkOrder, type WorkOrderHistoryEntry, type WorkOrderStatus } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { EmptyRow, TableFrame } from "../../components/Table";
import { ConflictBox, ErrorBox, Fact, Field, Loading, Notice, PageTitle, PriorityBadge, when } from "../../components/ui";
import { useLiveInvalidate, workOrderOf } from "../../lib/stream";
import { statusBadgeClass, statusText, technicianName, useTechnicians, workOrderKeys } from "./data";

/** The work order, reloaded with its history by its workorder.* events. */
function useWorkOrder(id: string) {
  const api = useApi();
  useLiveInvalidate((event) => (workOrderOf(event) === id ? workOrderKeys(event) : []));
  return useQuery({ queryKey: ["work-order", id], queryFn: ({ signal }) => api.get<WorkOrder>(`/v1/work-orders/${id}`, undefined, signal) });
}

/** After a change: this work order again, and every list that shows it. */
function useRefresh(id: string) {
  const qc = useQueryClient();
  return (w?: WorkOrder) => {
    if (w) qc.setQueryData(["work-order", id], w);
    qc.invalidateQueries({ queryKey: ["work-order", id] });
    qc.invalidateQueries({ queryKey: ["work-orders"] });
    qc.invalidateQueries({ queryKey: ["wo-history", id] });
  };
}

export function WorkOrderDetail() {
  const { id = "" } = useParams();
  const me = useUser();
  const staff = me?.role === "admin" || me?.role === "agent";
  const wo = useWorkOrder(id);
  const users = useUsers();
  const techs = useTechnicians();
  if (wo.isPending) return <Loading what="Loading the work order" />;
  if (wo.isError) return <ErrorBox error={wo.error} />;
  const w = wo.data;
  const open = w.status !== "completed" && w.status !== "cancelled";
  return (
    <section className="space-y-4">
      <Link to={staff ? "/field/work-orders" : "/field/my"} className="text-sm text-indigo-700 hover:underline">
        ← {staff ? "Work orders" : "My work orders"}
      </Link>
      <PageTitle
        actions={
          <span className="flex gap-2">
            <span className={statusBadgeClass(w.status)}>{statusText(w.status)}</span>
            <PriorityBadge priority={w.priority} />
          </span>
        }
      >
        {w.title}
      </PageTitle>
      <dl className="grid grid-cols-2 gap-2 text-sm md:grid-cols-4">
        <Fact label="Window">
          {when(w.window.start)} – {when(w.window.end)}
        </Fact>
        <Fact label="Place">{w.location.address || `${w.location.lat.toFixed(4)}, ${w.location.lon.toFixed(4)}`}</Fact>
        <Fact label="Technician">
          {technicianName(techs.data, users.data, w.technician_id, "unassigned")}
          {w.distance_km !== null && ` (${w.distance_km.toFixed(1)} km, about ${w.eta_minutes} min away)`}
        </Fact>
        <Fact label="Skills needed">{w.required_skills.join(", ") || "none"}</Fact>
        {w.ticket_id && (
          <Fact label="Ticket">
            {staff ? (
              <Link className="text-indigo-700 underline" to={`/agent/tickets/${w.ticket_id}`}>
                open the ticket
              </Link>
            ) : (
              "linked"
            )}
          </Fact>
        )}
        {w.sign_off && (
          <Fact label="Signed off">
            {w.sign_off.signed_by}, {when(w.sign_off.signed_at)}
          </Fact>
        )}
      </dl>
      {w.description && <div className="card whitespace-pre-wrap text-sm">{w.description}</div>}
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="space-y-4 lg:col-span-2">
          <Checklist wo={w} editable={open} />
          <Parts wo={w} editable={open} />
          {staff && <History id={w.id} />}
        </div>
        <aside className="space-y-4">
          {staff && w.status === "unassigned" && <Dispatch wo={w} />}
          <StatusForm key={w.version} wo={w} />
        </aside>
      </div>
    </section>
  );
}

/** Dispatch: the service picks the nearest technician who qualifies, or the one
 * chosen by hand (technicianId), or says why not (409 overlap / nobody, 422). */
export function useDispatch(wo: WorkOrder) {
  const api = useApi();
  const refresh = useRefresh(wo.id);
  return useMutation({
    mutationFn: (technicianId?: string) => api.post<WorkOrder>(`/v1/work-orders/${wo.id}/dispatch`, technicianId ? { technician_id: technicianId } : {}),
    onSuccess: (w) => refresh(w),
  });
}

/** Who went, how far and how soon, in words. */
export function DispatchResult({ wo }: { wo: WorkOrder }) {
  const users = useUsers();
  const techs = useTechnicians();
  return (
    <Notice>
      Assigned to {technicianName(techs.data, users.data, wo.technician_id)}:{" "}
      {wo.distance_km === null ? "no position known." : `${wo.distance_km.toFixed(1)} km away, about ${wo.eta_minutes} min.`}
    </Notice>
  );
}

function Dispatch({ wo }: { wo: WorkOrder }) {
  const send = useDispatch(wo);
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Dispatch</h2>
      <p className="text-sm text-slate-600">
        Assigns the nearest technician who is available, has every skill needed, works the whole window and has no other work order then.
      </p>
      <ErrorBox error={send.error} />
      {send.isSuccess && <DispatchResult wo={send.data} />}
      <button type="button" className="btn" disabled={send.isPending || send.isSuccess} onClick={() => send.mutate(undefined)}>
        Dispatch nearest technician
      </button>
    </div>
  );
}

function StatusForm({ wo }: { wo: WorkOrder }) {
  const api = useApi();
  const refresh = useRefresh(wo.id);
  const [status, setStatus] = useState<WorkOrderStatus>(wo.status);
  const [notes, setNotes] = useState(wo.notes);
  const [signedBy, setSignedBy] = useState("");
  const [conflict, setConflict] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.patch<WorkOrder>(`/v1/work-orders/${wo.id}`, body, wo.version),
    onSuccess: (w) => refresh(w),
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) {
        setConflict(conflictText("work order", wo.version));
        refresh();
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (status !== wo.status) body.status = status;
    if (notes !== wo.notes) body.notes = notes;
    if (status === "completed" && signedBy.trim()) body.signed_by = signedBy.trim();
    setConflict(null);
    save.mutate(body);
  };
  const moves = WORK_ORDER_MOVES[wo.status];
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="wo-progress">
      <h2 id="wo-progress" className="font-semibold">
        Progress
      </h2>
      <Field id="wo-status-move" label="Status">
        <select
          id="wo-status-move"
          className="input"
          value={status}
          disabled={moves.length === 0}
          onChange={(e) => setStatus(e.target.value as WorkOrderStatus)}
        >
          {[wo.status, ...moves].map((s) => (
            <option key={s} value={s}>
              {statusText(s)}
            </option>
          ))}
        </select>
      </Field>
      {status === "completed" && wo.status !== "completed" && (
        <Field id="wo-signed" label="Signed off by (the customer's name)">
          <input id="wo-signed" className="input" maxLength={200} value={signedBy} onChange={(e) => setSignedBy(e.target.value)} />
        </Field>
      )}
      <Field id="wo-notes" label="Notes">
        <textarea id="wo-notes" className="input min-h-20" value={notes} onChange={(e) => setNotes(e.target.value)} />
      </Field>
      <ConflictBox text={conflict} />
      {save.isError && !conflict && <ErrorBox error={save.error} />}
      <button type="submit" className="btn" disabled={save.isPending || (status === wo.status && notes === wo.notes)}>
        Save progress
      </button>
      <p className="text-xs text-slate-500">Version {wo.version}</p>
    </form>
  );
}

function Checklist({ wo, editable }: { wo: WorkOrder; editable: boolean }) {
  const api = useApi();
  const refresh = useRefresh(wo.id);
  const [text, setText] = useState("");
  const [required, setRequired] = useState(false);
  const tick = useMutation({
    mutationFn: (v: { item: string; done: boolean }) => api.patch(`/v1/work-orders/${wo.id}/checklist/${v.item}`, { done: v.done }),
    onSuccess: () => refresh(),
  });
  const add = useMutation({
    mutationFn: () => api.post(`/v1/work-orders/${wo.id}/checklist`, { text: text.trim(), required }),
    onSuccess: () => {
      setText("");
      setRequired(false);
      refresh();
    },
  });
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Checklist</h2>
      <ErrorBox error={tick.error} />
      <ul className="space-y-1 text-sm" aria-label="Checklist">
        {wo.checklist.map((c) => (
          <li key={c.id}>
            <label className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={c.done}
                disabled={!editable || tick.isPending}
                onChange={(e) => tick.mutate({ item: c.id, done: e.target.checked })}
              />
              <span className={c.done ? "line-through text-slate-500" : ""}>{c.text}</span>
              {c.required && <span className="badge bg-amber-100 text-amber-900">required</span>}
            </label>
          </li>
        ))}
        {wo.checklist.length === 0 && <li className="text-slate-600">No items.</li>}
      </ul>
      {editable && (
        <form
          className="flex flex-wrap items-end gap-2 border-t border-slate-100 pt-2"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <Field id="cl-text" label="New item" className="min-w-48 flex-1">
            <input id="cl-text" className="input" required maxLength={500} value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          <label className="flex items-center gap-1 text-sm">
            <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} /> Required to complete
          </label>
          <button type="submit" className="btn-secondary" disabled={add.isPending}>
            Add item
          </button>
          <div className="w-full">
            <ErrorBox error={add.error} />
          </div>
        </form>
      )}
    </div>
  );
}

function Parts({ wo, editable }: { wo: WorkOrder; editable: boolean }) {
  const api = useApi();
  const qc = useQueryClient();
  const parts = useQuery({
    queryKey: ["parts", wo.id],
    queryFn: ({ signal }) => api.get<Page<Part>>(`/v1/work-orders/${wo.id}/parts`, { limit: 100 }, signal),
  });
  const [form, setForm] = useState({ sku: "", description: "", quantity: "1" });
  const add = useMutation({
    mutationFn: () =>
      api.post<Part>(`/v1/work-orders/${wo.id}/parts`, {
        sku: form.sku.trim(),
        ...(form.description.trim() ? { description: form.description.trim() } : {}),
        quantity: Number(form.quantity),
      }),
    onSuccess: () => {
      setForm({ sku: "", description: "", quantity: "1" });
      qc.invalidateQueries({ queryKey: ["parts", wo.id] });
    },
  });
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Parts used</h2>
      <ErrorBox error={parts.error} />
      {parts.isSuccess && (
        <TableFrame label="Parts used" columns={[{ label: "SKU" }, { label: "Description" }, { label: "Quantity" }]}>
          {parts.data.items.map((p) => (
            <tr key={p.id} className="border-t border-slate-100">
              <td className="px-3 py-2 font-mono">{p.sku}</td>
              <td className="px-3 py-2">{p.description ?? "—"}</td>
              <td className="px-3 py-2">{p.quantity}</td>
            </tr>
          ))}
          {parts.data.items.length === 0 && <EmptyRow columns={3}>None yet.</EmptyRow>}
        </TableFrame>
      )}
      {editable && (
        <form
          className="grid grid-cols-2 gap-2 md:grid-cols-4"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <Field id="pt-sku" label="SKU">
            <input id="pt-sku" className="input" required maxLength={64} value={form.sku} onChange={(e) => setForm({ ...form, sku: e.target.value })} />
          </Field>
          <Field id="pt-desc" label="Description">
            <input
              id="pt-desc"
              className="input"
              maxLength={500}
              value={form.description}
              onChange={(e) => setForm({ ...form, description: e.target.value })}
            />
          </Field>
          <Field id="pt-qty" label="Quantity">
            <input
              id="pt-qty"
              type="number"
              min={1}
              max={100000}
              className="input"
              required
              value={form.quantity}
              onChange={(e) => setForm({ ...form, quantity: e.target.value })}
            />
          </Field>
          <div className="flex items-end">
            <button type="submit" className="btn-secondary" disabled={add.isPending}>
              Add part
            </button>
          </div>
          <div className="col-span-2 md:col-span-4">
            <ErrorBox error={add.error} />
          </div>
        </form>
      )}
    </div>
  );
}

function History({ id }: { id: string }) {
  const api = useApi();
  const users = useUsers();
  const techs = useTechnicians();
  const h = useQuery({
    queryKey: ["wo-history", id],
    queryFn: ({ signal }) => api.get<Page<WorkOrderHistoryEntry>>(`/v1/work-orders/${id}/history`, undefined, signal),
  });
  const show = (field: string, v: unknown) => {
    if (v === null || v === undefined) return "nothing";
    if (field === "technician_id" && typeof v === "string") return technicianName(techs.data, users.data, v);
    return typeof v === "string" ? v : JSON.stringify(v);
  };
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">History</h2>
      {h.isPending && <Loading />}
      <ErrorBox error={h.error} />
      <ol className="space-y-1 text-sm" aria-label="Work order history">
        {(h.data?.items ?? []).map((e) => (
          <li key={e.id} className="border-b border-slate-100 py-1">
            <span className="text-slate-500">{when(e.at)}</span> · <span className="font-medium">{nameOf(users.data, e.actor_id, "the system")}</span>{" "}
            {e.field.startsWith("checklist") || e.field === "parts" ? `changed the ${e.field.split(".")[0]}` : `changed ${e.field.replace("_id", "")}`}
            {!e.field.startsWith("checklist") && e.field !== "parts" && ` from ${show(e.field, e.from)} to ${show(e.field, e.to)}`}
          </li>
        ))}
      </ol>
    </div>
  );
}
