// One ticket for agents: its properties (saved with If-Match, a lost race
// explained in words), the conversation with public replies and internal
// notes, the history, time entries, merging into another ticket, the
// suggestions (category, priority, articles) and a work order from it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import {
  PRIORITIES,
  STATUS_MOVES,
  type Comment,
  type HistoryEntry,
  type Page,
  type Priority,
  type Status,
  type Ticket,
  type TimeEntry,
  type User,
} from "../../api/types";
import { useServiceUp } from "../../api/services";
import { nameOf, useUsers } from "../../api/users";
import { ConflictBox, ErrorBox, Fact, Loading, Notice, PageTitle, PriorityBadge, StatusBadge, statusLabel, when } from "../../components/ui";
import { TicketSuggestionsPanel } from "../kb/Suggestions";
import { ticketOf, useFallbackPoll, useLiveInvalidate } from "../../lib/stream";

type Tab = "conversation" | "history" | "time";

export function TicketDetail() {
  const { id = "" } = useParams();
  const api = useApi();
  const users = useUsers();
  const me = useUser();
  // technicians read tickets and log time; changes, history and merging are
  // for agents and admins (docs/openapi.yaml)
  const staff = me?.role === "admin" || me?.role === "agent";
  const [tab, setTab] = useState<Tab>("conversation");
  const fieldUp = useServiceUp("field");
  const ticket = useQuery({ queryKey: ["ticket", id], queryFn: ({ signal }) => api.get<Ticket>(`/v1/tickets/${id}`, undefined, signal) });
  if (ticket.isPending) return <Loading what="Loading the ticket" />;
  if (ticket.isError) return <ErrorBox error={ticket.error} />;
  const t = ticket.data;
  return (
    <section className="space-y-4">
      <Link to="/agent" className="text-sm text-indigo-700 hover:underline">
        ← Ticket queue
      </Link>
      <PageTitle
        actions={
          <span className="flex gap-2">
            <StatusBadge status={t.status} />
            <PriorityBadge priority={t.priority} />
          </span>
        }
      >
        #{t.number} {t.subject}
      </PageTitle>
      <dl className="grid grid-cols-2 gap-2 text-sm md:grid-cols-4">
        <Fact label="Requester">{nameOf(users.data, t.requester_id)}</Fact>
        <Fact label="Opened">{when(t.created_at)}</Fact>
        <Fact label="First response due">{t.first_response_at ? `answered ${when(t.first_response_at)}` : when(t.sla?.first_response_due)}</Fact>
        <Fact label="Resolution due">
          {when(t.sla?.resolution_due)}
          {t.sla?.breached && <span className="badge ml-1 bg-red-100 text-red-800">breached</span>}
        </Fact>
        <Fact label="Time spent">{t.time_spent_minutes} min</Fact>
        <Fact label="Satisfaction">{t.satisfaction ?? "—"}</Fact>
        {t.merged_into && (
          <Fact label="Merged into">
            <Link className="text-indigo-700 underline" to={`/agent/tickets/${t.merged_into}`}>
              the target ticket
            </Link>
          </Fact>
        )}
      </dl>
      {t.description && <div className="card whitespace-pre-wrap text-sm">{t.description}</div>}
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="space-y-4 lg:col-span-2">
          <div role="tablist" aria-label="Ticket sections" className="flex gap-2 border-b border-slate-200">
            {(staff ? (["conversation", "history", "time"] as Tab[]) : (["conversation", "time"] as Tab[])).map((k) => (
              <button
                key={k}
                role="tab"
                type="button"
                aria-selected={tab === k}
                className={`-mb-px border-b-2 px-3 py-2 text-sm ${tab === k ? "border-indigo-600 font-semibold text-indigo-700" : "border-transparent text-slate-600"}`}
                onClick={() => setTab(k)}
              >
                {k === "conversation" ? "Conversation" : k === "history" ? "History" : "Time"}
              </button>
            ))}
          </div>
          <div role="tabpanel">
            {tab === "conversation" && <Conversation ticket={t} users={users.data} />}
            {tab === "history" && <History id={t.id} users={users.data} />}
            {tab === "time" && <TimeEntries ticket={t} users={users.data} />}
          </div>
        </div>
        <aside className="space-y-4">
          <Properties key={t.id} ticket={t} users={users.data} canEdit={staff} />
          {staff && <TicketSuggestionsPanel ticketId={t.id} />}
          {staff && fieldUp && t.status !== "closed" && (
            <Link className="btn-secondary" to={`/field/work-orders?ticket=${t.id}`}>
              Send a technician (work order)
            </Link>
          )}
          {staff && t.status !== "closed" && <Merge ticket={t} />}
        </aside>
      </div>
    </section>
  );
}

/** The editable fields, against the version the agent started from. */
function Properties({ ticket, users, canEdit }: { ticket: Ticket; users?: User[]; canEdit: boolean }) {
  const api = useApi();
  const qc = useQueryClient();
  const [base, setBase] = useState(ticket);
  const [status, setStatus] = useState<Status>(ticket.status);
  const [priority, setPriority] = useState<Priority>(ticket.priority);
  const [assignee, setAssignee] = useState(ticket.assignee_id ?? "");
  const [tags, setTags] = useState(ticket.tags.join(", "));
  const [conflict, setConflict] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const reset = (t: Ticket) => {
    setBase(t);
    setStatus(t.status);
    setPriority(t.priority);
    setAssignee(t.assignee_id ?? "");
    setTags(t.tags.join(", "));
  };
  const changes = (): Record<string, unknown> => {
    const c: Record<string, unknown> = {};
    if (status !== base.status) c.status = status;
    if (priority !== base.priority) c.priority = priority;
    if (assignee !== (base.assignee_id ?? "")) c.assignee_id = assignee || null;
    const tagList = tags
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (tagList.join(",") !== base.tags.join(",")) c.tags = tagList;
    return c;
  };
  const save = useMutation({
    mutationFn: () => api.patch<Ticket>(`/v1/tickets/${base.id}`, changes(), base.version),
    onSuccess: (t) => {
      qc.setQueryData(["ticket", t.id], t);
      qc.invalidateQueries({ queryKey: ["tickets"] });
      qc.invalidateQueries({ queryKey: ["history", t.id] });
      reset(t);
      setConflict(null);
      setSaved(true);
    },
    onError: async (err) => {
      setSaved(false);
      if (err instanceof ApiError && err.status === 412) {
        const fresh = await api.get<Ticket>(`/v1/tickets/${base.id}`);
        setConflict(conflictText("ticket", base.version, fresh.version));
        qc.setQueryData(["ticket", fresh.id], fresh);
        reset(fresh);
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    setConflict(null);
    save.mutate();
  };
  const moves = [base.status, ...STATUS_MOVES[base.status]];
  const agents = (users ?? []).filter((u) => (u.role === "agent" || u.role === "admin") && u.active);
  const dirty = Object.keys(changes()).length > 0;
  // a change elsewhere (a reply of one's own, a colleague) is taken in while
  // nothing is being edited; during an edit the edit's version stands, so
  // If-Match catches what changed meanwhile
  useEffect(() => {
    if (ticket.version !== base.version && !dirty) reset(ticket);
  }, [ticket, base.version, dirty]);
  const readOnly = base.status === "closed" || !canEdit;
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="props-title">
      <h2 id="props-title" className="font-semibold">
        Properties
      </h2>
      <div>
        <label className="label" htmlFor="p-status">
          Status
        </label>
        <select id="p-status" className="input" value={status} disabled={readOnly} onChange={(e) => setStatus(e.target.value as Status)}>
          {moves.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="p-priority">
          Priority
        </label>
        <select id="p-priority" className="input" value={priority} disabled={readOnly} onChange={(e) => setPriority(e.target.value as Priority)}>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="p-assignee">
          Assignee
        </label>
        <select id="p-assignee" className="input" value={assignee} disabled={readOnly} onChange={(e) => setAssignee(e.target.value)}>
          <option value="">Unassigned</option>
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name || a.email}
            </option>
          ))}
          {assignee && !agents.some((a) => a.id === assignee) && <option value={assignee}>{nameOf(users, assignee)}</option>}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="p-tags">
          Tags (comma-separated)
        </label>
        <input id="p-tags" className="input" value={tags} disabled={readOnly} onChange={(e) => setTags(e.target.value)} />
      </div>
      <ConflictBox text={conflict} />
      {save.isError && !(save.error instanceof ApiError && save.error.status === 412) && <ErrorBox error={save.error} />}
      {saved && !dirty && <Notice>Saved.</Notice>}
      <div className="flex gap-2">
        <button type="submit" className="btn" disabled={!dirty || save.isPending || readOnly}>
          {save.isPending ? "Saving…" : "Save changes"}
        </button>
        <button type="button" className="btn-secondary" disabled={!dirty} onClick={() => reset(base)}>
          Undo
        </button>
      </div>
      <p className="text-xs text-slate-500">Version {base.version}</p>
    </form>
  );
}

function Conversation({ ticket, users }: { ticket: Ticket; users?: User[] }) {
  const api = useApi();
  const qc = useQueryClient();
  const comments = useQuery({
    queryKey: ["comments", ticket.id],
    queryFn: ({ signal }) => api.get<Page<Comment>>(`/v1/tickets/${ticket.id}/comments`, { limit: 100 }, signal),
    refetchInterval: useFallbackPoll(60_000), // the live stream reloads it; this only covers its absence
  });
  // replies and notes of others appear as they are written; the properties
  // are not reloaded under an edit (If-Match tells of a change at saving)
  useLiveInvalidate((ev) => (ev.type === "comment.added" && ticketOf(ev) === ticket.id ? [["comments", ticket.id]] : []));
  const [body, setBody] = useState("");
  const [isPublic, setPublic] = useState(true);
  const send = useMutation({
    mutationFn: () => api.post<Comment>(`/v1/tickets/${ticket.id}/comments`, { body: body.trim(), public: isPublic }),
    onSuccess: () => {
      setBody("");
      qc.invalidateQueries({ queryKey: ["comments", ticket.id] });
      qc.invalidateQueries({ queryKey: ["ticket", ticket.id] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.mutate();
  };
  return (
    <div className="space-y-3">
      <ErrorBox error={comments.error} />
      {comments.isPending && <Loading what="Loading the conversation" />}
      <ol className="space-y-3" aria-label="Conversation">
        {(comments.data?.items ?? []).map((c) => (
          <li key={c.id} className={`card text-sm ${c.public ? "" : "border-amber-300 bg-amber-50"}`}>
            <div className="mb-1 flex gap-2 text-xs text-slate-600">
              <span className="font-medium text-slate-800">{nameOf(users, c.author_id)}</span>
              <span>{when(c.created_at)}</span>
              {!c.public && <span className="badge bg-amber-200 text-amber-900">Internal note</span>}
            </div>
            <div className="whitespace-pre-wrap">{c.body}</div>
          </li>
        ))}
        {comments.isSuccess && comments.data.items.length === 0 && <li className="text-sm text-slate-600">No replies yet.</li>}
      </ol>
      {ticket.status !== "closed" && (
        <form onSubmit={submit} className={`card space-y-2 ${isPublic ? "" : "border-amber-300 bg-amber-50"}`}>
          <fieldset className="flex gap-4 text-sm">
            <legend className="sr-only">Kind of reply</legend>
            <label className="flex items-center gap-1">
              <input type="radio" name="kind" checked={isPublic} onChange={() => setPublic(true)} /> Public reply
            </label>
            <label className="flex items-center gap-1">
              <input type="radio" name="kind" checked={!isPublic} onChange={() => setPublic(false)} /> Internal note
            </label>
          </fieldset>
          <label className="label" htmlFor="comment-body">
            {isPublic ? "Reply to the requester" : "Note for your team (the requester never sees it)"}
          </label>
          <textarea id="comment-body" className="input min-h-24" required value={body} onChange={(e) => setBody(e.target.value)} />
          <ErrorBox error={send.error} />
          <button type="submit" className="btn" disabled={send.isPending || !body.trim()}>
            {isPublic ? "Send reply" : "Add note"}
          </button>
        </form>
      )}
    </div>
  );
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "none";
  return typeof v === "string" ? statusLabel(v) : JSON.stringify(v);
}

function History({ id, users }: { id: string; users?: User[] }) {
  const api = useApi();
  const history = useQuery({
    queryKey: ["history", id],
    queryFn: ({ signal }) => api.get<Page<HistoryEntry>>(`/v1/tickets/${id}/history`, { limit: 100 }, signal),
  });
  if (history.isPending) return <Loading what="Loading the history" />;
  if (history.isError) return <ErrorBox error={history.error} />;
  if (history.data.items.length === 0) return <p className="text-sm text-slate-600">Nothing has changed yet.</p>;
  return (
    <ol className="space-y-1 text-sm" aria-label="History">
      {history.data.items.map((h, i) => (
        <li key={i} className="border-b border-slate-100 py-1">
          <span className="text-slate-500">{when(h.at)}</span> · <span className="font-medium">{nameOf(users, h.actor_id)}</span> changed{" "}
          <span className="font-medium">{h.field.replace("_id", "").replace("_", " ")}</span> from{" "}
          {h.field === "assignee_id" ? nameOf(users, h.from as string, "nobody") : show(h.from)} to{" "}
          {h.field === "assignee_id" ? nameOf(users, h.to as string, "nobody") : show(h.to)}
        </li>
      ))}
    </ol>
  );
}

function TimeEntries({ ticket, users }: { ticket: Ticket; users?: User[] }) {
  const api = useApi();
  const qc = useQueryClient();
  const entries = useQuery({
    queryKey: ["time", ticket.id],
    queryFn: ({ signal }) => api.get<Page<TimeEntry>>(`/v1/tickets/${ticket.id}/time-entries`, { limit: 100 }, signal),
  });
  const [minutes, setMinutes] = useState("15");
  const [note, setNote] = useState("");
  const [billable, setBillable] = useState(false);
  const add = useMutation({
    mutationFn: () => api.post<TimeEntry>(`/v1/tickets/${ticket.id}/time-entries`, { minutes: Number(minutes), note: note.trim() || undefined, billable }),
    onSuccess: () => {
      setNote("");
      qc.invalidateQueries({ queryKey: ["time", ticket.id] });
      qc.invalidateQueries({ queryKey: ["ticket", ticket.id] });
    },
  });
  return (
    <div className="space-y-3">
      <ErrorBox error={entries.error} />
      <ul className="space-y-1 text-sm" aria-label="Time entries">
        {(entries.data?.items ?? []).map((e) => (
          <li key={e.id} className="border-b border-slate-100 py-1">
            <span className="font-medium">{e.minutes} min</span> by {nameOf(users, e.user_id)} · {when(e.created_at)}
            {e.billable && <span className="badge ml-1 bg-emerald-100 text-emerald-800">billable</span>}
            {e.note && <span className="text-slate-600"> — {e.note}</span>}
          </li>
        ))}
        {entries.isSuccess && entries.data.items.length === 0 && <li className="text-slate-600">No time logged yet.</li>}
      </ul>
      {ticket.status !== "closed" && (
        <form
          className="card grid grid-cols-2 gap-2 md:grid-cols-4"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <div>
            <label className="label" htmlFor="t-min">
              Minutes
            </label>
            <input id="t-min" type="number" min={1} max={1440} required className="input" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
          </div>
          <div className="col-span-2">
            <label className="label" htmlFor="t-note">
              Note
            </label>
            <input id="t-note" className="input" value={note} onChange={(e) => setNote(e.target.value)} />
          </div>
          <label className="flex items-end gap-1 text-sm">
            <input type="checkbox" checked={billable} onChange={(e) => setBillable(e.target.checked)} /> Billable
          </label>
          <div className="col-span-2 md:col-span-4">
            <ErrorBox error={add.error} />
            <button type="submit" className="btn mt-1" disabled={add.isPending}>
              Log time
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function Merge({ ticket }: { ticket: Ticket }) {
  const api = useApi();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [number, setNumber] = useState("");
  const merge = useMutation({
    mutationFn: async () => {
      const found = await api.get<Page<Ticket>>("/v1/tickets", { number: number.trim() });
      const target = found.items[0];
      if (!target) throw new Error(`There is no ticket #${number.trim()}.`);
      if (target.id === ticket.id) throw new Error("A ticket cannot be merged into itself.");
      return api.post<Ticket>(`/v1/tickets/${ticket.id}/merge`, { into: target.id });
    },
    onSuccess: (target) => {
      qc.invalidateQueries({ queryKey: ["tickets"] });
      qc.invalidateQueries({ queryKey: ["ticket", ticket.id] });
      navigate(`/agent/tickets/${target.id}`);
    },
  });
  return (
    <form
      className="card space-y-2"
      onSubmit={(e) => {
        e.preventDefault();
        if (window.confirm(`Merge #${ticket.number} into #${number}? This ticket will be closed and its conversation moved.`)) merge.mutate();
      }}
      aria-labelledby="merge-title"
    >
      <h2 id="merge-title" className="font-semibold">
        Merge into another ticket
      </h2>
      <label className="label" htmlFor="merge-number">
        Target ticket number
      </label>
      <input id="merge-number" className="input" inputMode="numeric" pattern="[0-9]+" required value={number} onChange={(e) => setNumber(e.target.value)} />
      <ErrorBox error={merge.error} />
      <button type="submit" className="btn-secondary" disabled={merge.isPending}>
        Merge
      </button>
    </form>
  );
}
