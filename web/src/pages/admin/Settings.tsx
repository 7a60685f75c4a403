// Tenant settings that the API has today: the tenant, the SLA targets per
// priority and business hours, and automation rules (Automations.tsx).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../../api/context";
import { hoursToText, textToHours } from "../../api/hours";
import { PRIORITIES, type BusinessHours, type Priority, type SlaPolicy, type Tenant } from "../../api/types";
import { HoursEditor } from "../../components/HoursEditor";
import { ErrorBox, Loading, Notice, PageTitle, when } from "../../components/ui";
import { Automations } from "./Automations";

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
