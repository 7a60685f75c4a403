// Admins subscribe URLs to the tenant's events (docs/web.md, "Webhooks"):
// create (the signing secret is shown this once), list, change the URL and
// events or turn on and off (If-Match), delete, and each webhook's
// deliveries with their attempts.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../api/context";
import { ApiError, conflictText, fieldMessage } from "../../api/errors";
import type { Page } from "../../api/types";
import { EmptyRow, TableFrame, type Column } from "../../components/Table";
import { ConflictBox, ErrorBox, FieldProblem, Loading, Notice, PageTitle, SubmitCancel, when } from "../../components/ui";

/** The event types a webhook may subscribe to (docs/openapi.yaml, EventType). */
export const EVENT_TYPES = [
  "ticket.created",
  "ticket.updated",
  "ticket.deleted",
  "ticket.merged",
  "comment.added",
  "sla.breached",
  "workorder.created",
  "workorder.dispatched",
  "workorder.status_changed",
  "workorder.completed",
  "workorder.cancelled",
  "article.created",
  "article.updated",
  "article.published",
  "article.deleted",
  "user.created",
  "user.updated",
  "user.deactivated",
  "tenant.created",
  "automation.webhook",
] as const;

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  consecutive_failures: number;
  disabled_at: string | null;
  created_at: string;
  version: number;
}

export interface WebhookDelivery {
  id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  last_status_code: number | null;
  last_error?: string | null;
  next_attempt_at: string | null;
  created_at?: string;
}

const HOOK_COLUMNS: Column[] = [
  { label: "URL" },
  { label: "Events", wide: true },
  { label: "State" },
  { label: "Since", wide: true },
  { label: "Actions", hidden: true },
];
const DELIVERY_COLUMNS: Column[] = [
  { label: "Event" },
  { label: "Status" },
  { label: "Attempts" },
  { label: "Last answer" },
  { label: "Next attempt", wide: true },
];

export function Webhooks() {
  const api = useApi();
  const qc = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [shown, setShown] = useState<Webhook | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["webhooks"],
    queryFn: ({ signal }) => api.get<Page<Webhook>>("/v1/webhooks", { limit: 100 }, signal),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["webhooks"] });
  const toggle = useMutation({
    mutationFn: (w: Webhook) => api.patch<Webhook>(`/v1/webhooks/${w.id}`, { active: !w.active }, w.version),
    onSuccess: (w) => setMessage(`${w.url} is ${w.active ? "on" : "off"} now.`),
    onError: (err) => err instanceof ApiError && err.status === 412 && setMessage(conflictText("webhook", 0)),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (w: Webhook) => api.del(`/v1/webhooks/${w.id}`),
    onSuccess: () => {
      setMessage("Webhook deleted.");
      setShown(null);
    },
    onSettled: refresh,
  });
  return (
    <section className="space-y-4">
      <PageTitle>Webhooks</PageTitle>
      <WebhookForm
        onSaved={(w) => {
          if (w.secret) setSecret({ url: w.url, secret: w.secret });
          setMessage(null);
          refresh();
        }}
      />
      {secret && <SecretOnce {...secret} onDone={() => setSecret(null)} />}
      {message && <Notice>{message}</Notice>}
      <ErrorBox error={list.error ?? toggle.error ?? remove.error} />
      {list.isPending && <Loading what="Loading webhooks" />}
      {list.isSuccess && (
        <TableFrame label="Webhooks" columns={HOOK_COLUMNS}>
          {list.data.items.map((w) => (
            <tr key={w.id} className="border-t border-slate-100 align-top">
              <td className="max-w-64 break-all px-3 py-2">{w.url}</td>
              <td className="hidden px-3 py-2 text-xs md:table-cell">{w.events.join(", ")}</td>
              <td className="px-3 py-2">
                <span className={`badge ${w.active ? "bg-emerald-100 text-emerald-800" : "bg-slate-200 text-slate-800"}`}>{w.active ? "on" : "off"}</span>
                {w.consecutive_failures > 0 && <div className="text-xs text-red-800">{w.consecutive_failures} failed in a row</div>}
                {w.disabled_at && <div className="text-xs text-slate-600">turned off {when(w.disabled_at)}</div>}
              </td>
              <td className="hidden px-3 py-2 md:table-cell">{when(w.created_at)}</td>
              <td className="space-x-2 whitespace-nowrap px-3 py-2 text-right">
                <button
                  type="button"
                  className="btn-secondary"
                  disabled={toggle.isPending}
                  onClick={() => toggle.mutate(w)}
                  aria-label={`${w.active ? "Turn off" : "Turn on"} ${w.url}`}
                >
                  {w.active ? "Turn off" : "Turn on"}
                </button>
                <button type="button" className="btn-secondary" onClick={() => setEditing(w.id)} aria-label={`Change ${w.url}`}>
                  Change
                </button>
                <button type="button" className="btn-secondary" onClick={() => setShown(w)} aria-label={`Deliveries of ${w.url}`}>
                  Deliveries
                </button>
                <button
                  type="button"
                  className="btn-danger"
                  aria-label={`Delete ${w.url}`}
                  onClick={() => window.confirm(`Delete the webhook to ${w.url}? Its deliveries stop.`) && remove.mutate(w)}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {list.data.items.length === 0 && <EmptyRow columns={HOOK_COLUMNS.length}>No webhook yet.</EmptyRow>}
        </TableFrame>
      )}
      {editing && list.data?.items.some((w) => w.id === editing) && (
        <WebhookForm
          key={editing}
          hook={list.data.items.find((w) => w.id === editing)}
          onCancel={() => setEditing(null)}
          onSaved={(w) => {
            setEditing(null);
            setMessage(`Webhook to ${w.url} saved: ${w.events.join(", ")}.`);
            refresh();
          }}
        />
      )}
      {shown && <Deliveries hook={shown} />}
    </section>
  );
}

function SecretOnce({ url, secret, onDone }: { url: string; secret: string; onDone: () => void }) {
  return (
    <div role="status" className="space-y-2 rounded-md border border-amber-400 bg-amber-50 p-3 text-sm text-amber-950" data-testid="webhook-secret">
      <p>
        Webhook to <strong className="break-all">{url}</strong> added. Its signing secret is shown this once: copy it into the receiver now, it checks{" "}
        <code>X-Helpdesk-Signature</code> with it.
      </p>
      <code className="block break-all rounded bg-white p-2 font-mono">{secret}</code>
      <button type="button" className="btn-secondary" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

/** The URL and events of a webhook, for a new one (POST, with "on from the
 * start") or to change one (PATCH with If-Match); the API's field errors
 * are shown under their field. */
function WebhookForm({ hook, onSaved, onCancel }: { hook?: Webhook; onSaved: (w: Webhook & { secret?: string }) => void; onCancel?: () => void }) {
  const api = useApi();
  const qc = useQueryClient();
  const [url, setUrl] = useState(hook?.url ?? "https://");
  const [events, setEvents] = useState<string[]>(hook?.events ?? ["ticket.created"]);
  const [active, setActive] = useState(true);
  const [conflict, setConflict] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: () =>
      hook
        ? api.patch<Webhook>(`/v1/webhooks/${hook.id}`, { url, events }, hook.version)
        : api.post<Webhook & { secret: string }>("/v1/webhooks", { url, events, active }),
    onSuccess: (w) => {
      if (!hook) setUrl("https://");
      onSaved(w);
    },
    onError: (err) => {
      if (!(err instanceof ApiError && err.status === 412)) return;
      // what is kept: the values typed here, now against the webhook as it is
      setConflict(conflictText("webhook", hook?.version ?? 0));
      void qc.invalidateQueries({ queryKey: ["webhooks"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setConflict(null);
    save.mutate();
  };
  const flip = (ev: string, on: boolean) => setEvents(on ? [...events, ev] : events.filter((x) => x !== ev));
  const prefix = hook ? `wh-${hook.id}` : "wh";
  const title = hook ? `Change the webhook to ${hook.url}` : "Add a webhook";
  const urlError = fieldMessage(save.error, "url");
  const eventsError = fieldMessage(save.error, "events");
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby={`${prefix}-title`}>
      <h2 id={`${prefix}-title`} className="break-all font-semibold">
        {title}
      </h2>
      <div>
        <label className="label" htmlFor={`${prefix}-url`}>
          URL (https)
        </label>
        <input
          id={`${prefix}-url`}
          type="url"
          className="input"
          required
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-invalid={urlError ? true : undefined}
          aria-describedby={urlError ? `${prefix}-url-error` : undefined}
        />
        <FieldProblem id={`${prefix}-url-error`} text={urlError} />
      </div>
      <fieldset aria-describedby={eventsError ? `${prefix}-events-error` : undefined}>
        <legend className="label">Events</legend>
        <div className="grid grid-cols-1 gap-1 text-sm sm:grid-cols-2 md:grid-cols-4">
          {EVENT_TYPES.map((ev) => (
            <label key={ev} className="flex items-center gap-2">
              <input type="checkbox" checked={events.includes(ev)} onChange={(e) => flip(ev, e.target.checked)} />
              {ev}
            </label>
          ))}
        </div>
        <FieldProblem id={`${prefix}-events-error`} text={eventsError || (events.length === 0 ? "Choose at least one event." : "")} />
      </fieldset>
      {!hook && (
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
          On from the start
        </label>
      )}
      <ConflictBox text={conflict} />
      {!conflict && <ErrorBox error={save.error} />}
      {hook ? (
        <SubmitCancel label="Save changes" pending={save.isPending || events.length === 0} onCancel={onCancel ?? (() => undefined)} />
      ) : (
        <button type="submit" className="btn" disabled={save.isPending || events.length === 0}>
          Add webhook
        </button>
      )}
    </form>
  );
}

function Deliveries({ hook }: { hook: Webhook }) {
  const api = useApi();
  const list = useQuery({
    queryKey: ["webhooks", hook.id, "deliveries"],
    refetchInterval: 10_000,
    queryFn: ({ signal }) => api.get<Page<WebhookDelivery>>(`/v1/webhooks/${hook.id}/deliveries`, { limit: 100 }, signal),
  });
  return (
    <div className="space-y-2">
      <h2 className="font-semibold">
        Deliveries to <span className="break-all">{hook.url}</span>
      </h2>
      <ErrorBox error={list.error} />
      {list.isPending && <Loading what="Loading deliveries" />}
      {list.isSuccess && (
        <TableFrame label="Deliveries" columns={DELIVERY_COLUMNS}>
          {list.data.items.map((d) => (
            <tr key={d.id} className="border-t border-slate-100">
              <td className="px-3 py-2">{d.event_type}</td>
              <td className="px-3 py-2">{d.status}</td>
              <td className="px-3 py-2">{d.attempts}</td>
              <td className="px-3 py-2">{d.last_status_code ?? (d.last_error ? `no answer: ${d.last_error}` : "—")}</td>
              <td className="hidden px-3 py-2 md:table-cell">{when(d.next_attempt_at)}</td>
            </tr>
          ))}
          {list.data.items.length === 0 && <EmptyRow columns={DELIVERY_COLUMNS.length}>No delivery yet.</EmptyRow>}
        </TableFrame>
      )}
    </div>
  );
}
