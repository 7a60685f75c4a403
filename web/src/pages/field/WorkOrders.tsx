// Work orders (admins and agents: all of them; technicians: their own):
// the list by status and technician, and opening one (admins and agents),
// from a ticket when the page is reached with ?ticket=<id>.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { PRIORITIES, WORK_ORDER_STATUSES, type Priority, type Ticket, type WorkOrder, type WorkOrderStatus } from "../../api/types";
import { useUsers } from "../../api/users";
import { EmptyRow, TableFrame, type Column } from "../../components/Table";
import { ErrorBox, Field, Loading, PageTitle, PriorityBadge, splitList, SubmitCancel, when } from "../../components/ui";
import { isoToLocalInput, localInputToIso, parseLatLon, statusBadgeClass, statusText, technicianName, useTechnicians, useWorkOrders } from "./data";

const COLUMNS: Column[] = [
  { label: "Title" },
  { label: "Status" },
  { label: "Priority", wide: true },
  { label: "Window" },
  { label: "Technician", wide: true },
];

export function WorkOrders() {
  const me = useUser();
  const staff = me?.role === "admin" || me?.role === "agent";
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as WorkOrderStatus | "";
  const ticketId = params.get("ticket");
  const list = useWorkOrders({ status });
  const users = useUsers();
  const techs = useTechnicians();
  return (
    <section className="space-y-4">
      <PageTitle>{staff ? "Work orders" : "My work orders"}</PageTitle>
      {staff && <NewWorkOrder ticketId={ticketId} />}
      <div className="flex flex-wrap gap-3" role="search">
        <Field id="wo-status" label="Status">
          <select
            id="wo-status"
            className="input"
            value={status}
            onChange={(e) => {
              const next = new URLSearchParams(params);
              if (e.target.value) next.set("status", e.target.value);
              else next.delete("status");
              setParams(next, { replace: true });
            }}
          >
            <option value="">Any</option>
            {WORK_ORDER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusText(s)}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {list.isPending && <Loading what="Loading work orders" />}
      <ErrorBox error={list.error} />
      {list.isSuccess && (
        <TableFrame label="Work orders" columns={COLUMNS}>
          {list.data.map((w) => (
            <tr key={w.id} className="border-t border-slate-100">
              <td className="px-3 py-2">
                <Link className="font-medium text-indigo-800 hover:underline" to={`/field/work-orders/${w.id}`}>
                  {w.title}
                </Link>
              </td>
              <td className="px-3 py-2">
                <span className={statusBadgeClass(w.status)}>{statusText(w.status)}</span>
              </td>
              <td className="hidden px-3 py-2 md:table-cell">
                <PriorityBadge priority={w.priority} />
              </td>
              <td className="px-3 py-2">{when(w.window.start)}</td>
              <td className="hidden px-3 py-2 md:table-cell">{technicianName(techs.data, users.data, w.technician_id, "unassigned")}</td>
            </tr>
          ))}
          {list.data.length === 0 && <EmptyRow columns={COLUMNS.length}>No work order matches.</EmptyRow>}
        </TableFrame>
      )}
    </section>
  );
}

const HOUR_MS = 3600 * 1000;

function NewWorkOrder({ ticketId }: { ticketId: string | null }) {
  const api = useApi();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const ticket = useQuery({
    queryKey: ["ticket", ticketId],
    enabled: !!ticketId,
    queryFn: ({ signal }) => api.get<Ticket>(`/v1/tickets/${ticketId}`, undefined, signal),
  });
  const [open, setOpen] = useState(!!ticketId);
  const [form, setForm] = useState(() => {
    const start = new Date(Math.ceil(Date.now() / HOUR_MS) * HOUR_MS + HOUR_MS);
    return {
      title: "",
      description: "",
      position: "",
      address: "",
      skills: "",
      priority: "normal" as Priority,
      start: isoToLocalInput(start),
      end: isoToLocalInput(new Date(start.getTime() + 2 * HOUR_MS)),
    };
  });
  const [problem, setProblem] = useState<string | null>(null);
  const key = useRef(crypto.randomUUID());
  const create = useMutation({
    mutationFn: (body: object) => api.post<WorkOrder>("/v1/work-orders", body, { idempotencyKey: key.current }),
    onSuccess: (w) => {
      qc.invalidateQueries({ queryKey: ["work-orders"] });
      navigate(`/field/work-orders/${w.id}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const at = parseLatLon(form.position);
    if (!at) return setProblem("Place: give a latitude and a longitude, e.g. 48.8566, 2.3522.");
    setProblem(null);
    create.mutate({
      title: form.title.trim() || ticket.data?.subject,
      ...(form.description.trim() ? { description: form.description.trim() } : {}),
      ...(ticketId ? { ticket_id: ticketId } : {}),
      location: { ...at, ...(form.address.trim() ? { address: form.address.trim() } : {}) },
      required_skills: splitList(form.skills),
      window: { start: localInputToIso(form.start), end: localInputToIso(form.end) },
      priority: form.priority,
    });
  };
  if (!open)
    return (
      <button type="button" className="btn" onClick={() => setOpen(true)}>
        New work order
      </button>
    );
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <form onSubmit={submit} className="card grid grid-cols-1 gap-3 md:grid-cols-4" aria-labelledby="new-wo-title">
      <h2 id="new-wo-title" className="font-semibold md:col-span-4">
        New work order{ticket.data ? ` for ticket #${ticket.data.number} ${ticket.data.subject}` : ""}
      </h2>
      <ErrorBox error={ticket.error} />
      <Field id="wo-title" label="Title" className="md:col-span-2">
        <input
          id="wo-title"
          className="input"
          required={!ticket.data}
          maxLength={200}
          placeholder={ticket.data?.subject}
          value={form.title}
          onChange={set("title")}
        />
      </Field>
      <Field id="wo-priority" label="Priority">
        <select id="wo-priority" className="input" value={form.priority} onChange={set("priority")}>
          {PRIORITIES.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </Field>
      <Field id="wo-skills" label="Required skills">
        <input id="wo-skills" className="input" placeholder="hvac, gas" value={form.skills} onChange={set("skills")} />
      </Field>
      <Field id="wo-position" label="Place (lat, lon)">
        <input id="wo-position" className="input" required placeholder="48.8566, 2.3522" value={form.position} onChange={set("position")} />
      </Field>
      <Field id="wo-address" label="Address">
        <input id="wo-address" className="input" value={form.address} onChange={set("address")} />
      </Field>
      <Field id="wo-start" label="From">
        <input id="wo-start" type="datetime-local" className="input" required value={form.start} onChange={set("start")} />
      </Field>
      <Field id="wo-end" label="To">
        <input id="wo-end" type="datetime-local" className="input" required value={form.end} onChange={set("end")} />
      </Field>
      <Field id="wo-description" label="What is to be done" className="md:col-span-4">
        <textarea id="wo-description" className="input min-h-20" value={form.description} onChange={set("description")} />
      </Field>
      <div className="md:col-span-4">
        <ErrorBox error={create.error}>{problem}</ErrorBox>
      </div>
      <SubmitCancel label="Open work order" pending={create.isPending} onCancel={() => setOpen(false)} className="md:col-span-4" />
    </form>
  );
}
