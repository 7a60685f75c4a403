// Tenant settings that the API has today: the tenant, the SLA targets per
// priority and business hours, and automation rules.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import { hoursToText, textToHours } from "../../api/hours";
import { PRIORITIES, type Automation, type BusinessHours, type Page, type Priority, type SlaPolicy, type Tenant } from "../../api/types";
import { HoursEditor } from "../../components/HoursEditor";
import { ErrorBox, Field, Loading, Notice, PageTitle, when } from "../../components/ui";

export function Settings() {
  const api = useApi();
  const tenant = useQuery({ queryKey: ["tenant"], queryFn: ({ signal }) => api.get<Tenant>("/v1/tenants/current", undefined, signal) });
  return (
    <section className="space-y-6">
      <PageTitle>Settings</PageTitle>
      <div className="card text-sm">
        <h2 className="mb-2 font-semibold">Organisation</h2>
        {tenant.isPending && <Loading />}
        <ErrorBox error={tenant.error} />
        {tenant.data && (
          <dl className="grid grid-cols-2 gap-2 md:grid-cols-3">
            <div>
              <dt className="text-slate-500">Name</dt>
              <dd>{tenant.data.name}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Sign-in name</dt>
              <dd>{tenant.data.slug}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Since</dt>
              <dd>{when(tenant.data.created_at)}</dd>
            </div>
          </dl>
        )}
      </div>
      <SlaEditor />
      <Automations />
    </section>
  );
}

type Targets = Record<Priority, { first: string; resolution: string }>;

function targetsOf(policy: SlaPolicy): Targets {
  const t = {} as Targets;
  for (const p of PRIORITIES) {
    const x = policy.targets[p];
    t[p] = { first: x ? String(x.first_response_minutes) : "", resolution: x ? String(x.resolution_minutes) : "" };
  }
  return t;
}

function SlaEditor() {
  const api = useApi();
  const qc = useQueryClient();
  const policy = useQuery({ queryKey: ["sla"], queryFn: ({ signal }) => api.get<SlaPolicy>("/v1/sla-policy", undefined, signal) });
  const [targets, setTargets] = useState<Targets | null>(null);
  const [hours, setHours] = useState(() => hoursToText(null));
  const [hoursError, setHoursError] = useState<string | null>(null);
  // the form takes the policy once: a later refetch (another tab's save, a
  // window regaining focus) must not wipe what is being typed
  useEffect(() => {
    if (!policy.data || targets !== null) return;
    setTargets(targetsOf(policy.data));
    setHours(hoursToText(policy.data.business_hours));
  }, [policy.data, targets]);
  const save = useMutation({
    mutationFn: (business_hours: BusinessHours | null) => {
      const out: SlaPolicy["targets"] = {};
      for (const p of PRIORITIES) {
        const x = targets![p];
        if (x.first && x.resolution) out[p] = { first_response_minutes: Number(x.first), resolution_minutes: Number(x.resolution) };
      }
      return api.put<SlaPolicy>("/v1/sla-policy", { targets: out, business_hours });
    },
    onSuccess: (p) => qc.setQueryData(["sla"], p),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = textToHours(hours.timezone, hours.days);
    setHoursError("error" in parsed ? parsed.error : null);
    if (!("error" in parsed)) save.mutate(parsed.hours);
  };
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="sla-title">
      <h2 id="sla-title" className="font-semibold">
        Service levels
      </h2>
      <p className="text-sm text-slate-600">
        Minutes to the first public answer and to the solution, per priority. Leave both empty for no target. New tickets take the targets in force when they
        are opened.
      </p>
      {policy.isPending && <Loading />}
      <ErrorBox error={policy.error} />
      {targets && (
        <div className="overflow-x-auto">
          <table className="text-sm">
            <thead>
              <tr className="text-left text-slate-600">
                <th scope="col" className="pr-3">
                  Priority
                </th>
                <th scope="col" className="pr-3">
                  First response (min)
                </th>
                <th scope="col">Resolution (min)</th>
              </tr>
            </thead>
            <tbody>
              {PRIORITIES.map((p) => (
                <tr key={p}>
                  <th scope="row" className="pr-3 text-left font-medium">
                    {p}
                  </th>
                  <td className="pr-3">
                    <input
                      aria-label={`First response minutes, ${p}`}
                      type="number"
                      min={1}
                      className="input w-28"
                      value={targets[p].first}
                      onChange={(e) => setTargets({ ...targets, [p]: { ...targets[p], first: e.target.value } })}
                    />
                  </td>
                  <td>
                    <input
                      aria-label={`Resolution minutes, ${p}`}
                      type="number"
                      min={1}
                      className="input w-28"
                      value={targets[p].resolution}
                      onChange={(e) => setTargets({ ...targets, [p]: { ...targets[p], resolution: e.target.value } })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3 className="pt-2 font-medium">Business hours</h3>
      <p className="text-sm text-slate-600">
        The clocks count only these hours, in the time zone given (an IANA name). Leave every day and the time zone empty to count all the time.
      </p>
      <HoursEditor id="sla-hours" timezone={hours.timezone} days={hours.days} onChange={(timezone, days) => setHours({ timezone, days })} />
      <ErrorBox error={save.error}>{hoursError}</ErrorBox>
      {save.isSuccess && !hoursError && <Notice>Service levels saved.</Notice>}
      <button type="submit" className="btn" disabled={!targets || save.isPending}>
        Save service levels
      </button>
    </form>
  );
}

const CONDITION_FIELDS = ["subject", "description", "priority", "category", "tags", "status"];
const OPS = ["eq", "ne", "contains"];
const ACTIONS = ["set_priority", "set_status", "set_category", "add_tag", "assign"];

function Automations() {
  const api = useApi();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ["automations"], queryFn: ({ signal }) => api.get<Page<Automation>>("/v1/automations", { limit: 100 }, signal) });
  const refresh = () => qc.invalidateQueries({ queryKey: ["automations"] });
  const [form, setForm] = useState({
    name: "",
    event: "ticket.created",
    field: "subject",
    op: "contains",
    value: "",
    action: "set_priority",
    actionValue: "high",
  });
  const [notice, setNotice] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      api.post<Automation>("/v1/automations", {
        name: form.name.trim(),
        event: form.event,
        conditions: form.value.trim() ? [{ field: form.field, op: form.op, value: form.value.trim() }] : [],
        actions: [{ type: form.action, value: form.actionValue.trim() }],
        active: true,
      }),
    onSuccess: (a) => {
      setNotice(`Rule “${a.name}” added.`);
      setForm({ ...form, name: "", value: "" });
      refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: (a: Automation) => api.patch<Automation>(`/v1/automations/${a.id}`, { active: !a.active }, a.version),
    onSuccess: refresh,
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) setNotice(conflictText("rule", 0));
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: (a: Automation) => api.del(`/v1/automations/${a.id}`), onSuccess: refresh });
  return (
    <div className="card space-y-3">
      <h2 className="font-semibold">Automations</h2>
      <p className="text-sm text-slate-600">Rules run when a ticket is created or updated: when the condition holds, the action is applied.</p>
      {list.isPending && <Loading />}
      <ErrorBox error={list.error ?? toggle.error ?? remove.error} />
      {notice && <Notice>{notice}</Notice>}
      <ul className="space-y-2 text-sm" aria-label="Automations">
        {(list.data?.items ?? []).map((a) => (
          <li key={a.id} className="flex flex-wrap items-center gap-2 border-b border-slate-100 pb-2">
            <span className="font-medium">{a.name}</span>
            <span className="text-slate-600">
              on {a.event}: {a.conditions.map((c) => `${c.field} ${c.op} ${JSON.stringify(c.value)}`).join(" and ") || "always"} →{" "}
              {a.actions.map((x) => `${x.type} ${String(x.value)}`).join(", ")}
            </span>
            <span className="ml-auto flex gap-2">
              <button type="button" className="btn-secondary" onClick={() => toggle.mutate(a)}>
                {a.active ? "Turn off" : "Turn on"}
              </button>
              <button type="button" className="btn-danger" onClick={() => window.confirm(`Delete the rule “${a.name}”?`) && remove.mutate(a)}>
                Delete
              </button>
            </span>
          </li>
        ))}
        {list.isSuccess && list.data.items.length === 0 && <li className="text-slate-600">No rules yet.</li>}
      </ul>
      <form
        className="grid grid-cols-1 gap-2 border-t border-slate-200 pt-3 md:grid-cols-4"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
        aria-labelledby="new-rule-title"
      >
        <h3 id="new-rule-title" className="font-medium md:col-span-4">
          Add a rule
        </h3>
        <Field id="a-name" label="Name">
          <input id="a-name" className="input" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field id="a-event" label="When a ticket is">
          <select id="a-event" className="input" value={form.event} onChange={(e) => setForm({ ...form, event: e.target.value })}>
            <option value="ticket.created">created</option>
            <option value="ticket.updated">updated</option>
          </select>
        </Field>
        <Field id="a-field" label="and its">
          <select id="a-field" className="input" value={form.field} onChange={(e) => setForm({ ...form, field: e.target.value })}>
            {CONDITION_FIELDS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </Field>
        <Field id="a-op" label="is / contains">
          <select id="a-op" className="input" value={form.op} onChange={(e) => setForm({ ...form, op: e.target.value })}>
            {OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </Field>
        <Field id="a-value" label="Value (empty: always)">
          <input id="a-value" className="input" value={form.value} onChange={(e) => setForm({ ...form, value: e.target.value })} />
        </Field>
        <Field id="a-action" label="then">
          <select id="a-action" className="input" value={form.action} onChange={(e) => setForm({ ...form, action: e.target.value })}>
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </Field>
        <Field id="a-action-value" label="to">
          <input id="a-action-value" className="input" required value={form.actionValue} onChange={(e) => setForm({ ...form, actionValue: e.target.value })} />
        </Field>
        <div className="flex items-end">
          <button type="submit" className="btn" disabled={create.isPending}>
            Add rule
          </button>
        </div>
        <div className="md:col-span-4">
          <ErrorBox error={create.error} />
        </div>
      </form>
    </div>
  );
}
