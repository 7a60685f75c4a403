// Analytics for admins and agents (docs/web.md, "Analytics"): the figures of
// a window of days in the tenant's time zone — summary cards, a metric per
// day or hour, a forecast with its 95 % band, the agents' table — each with
// a CSV download (Accept: text/csv); admins set the time zone. The figures
// are read again after the live stream's events that change them
// (analyticsKeys), at most every 15 s.
import { useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import type { ApiClient } from "../../api/client";
import { useApi, useUser } from "../../api/context";
import { nameOf, useUsers } from "../../api/users";
import { TableFrame, type Column } from "../../components/Table";
import { ErrorBox, Loading, Notice, PageTitle, when } from "../../components/ui";
import { useLiveInvalidate, type LiveEvent } from "../../lib/stream";
import { Chart } from "./Chart";
import { addDays, bucketLabel, csvName, dayIn, knownZones, windowQuery } from "./window";

export const METRICS = ["tickets.created", "tickets.solved", "sla.breaches", "workorders.completed"] as const;
type Metric = (typeof METRICS)[number];
const METRIC_NAMES: Record<Metric, string> = {
  "tickets.created": "Tickets created",
  "tickets.solved": "Tickets solved",
  "sla.breaches": "SLA breaches",
  "workorders.completed": "Work orders completed",
};

interface Summary {
  as_of: string | null;
  tickets: { created: number; solved: number; open: number; by_status: Record<string, number>; by_priority: Record<string, number> };
  sla: { first_response_compliance: number | null; resolution_compliance: number | null; breaches: number };
  times: { first_response_minutes_p50: number | null; resolution_minutes_p50: number | null };
  work_orders: { created: number; completed: number };
}
interface Timeseries {
  as_of: string | null;
  points: { t: string; value: number }[];
}
interface Forecast {
  method: string;
  points: { t: string; value: number; low: number; high: number }[];
}
interface AgentRow {
  agent_id: string;
  solved: number;
  first_response_minutes_p50: number | null;
  first_response_minutes_p90: number | null;
  resolution_minutes_p50: number | null;
  resolution_minutes_p90: number | null;
  csat: number | null;
}

const AGENT_COLUMNS: Column[] = [
  { label: "Agent" },
  { label: "Solved" },
  { label: "First response p50 / p90" },
  { label: "Resolution p50 / p90", wide: true },
  { label: "CSAT" },
];

const pct = (v: number | null) => (v === null ? "—" : `${Math.round(v * 1000) / 10} %`);
const minutes = (v: number | null) => (v === null ? "—" : v < 120 ? `${Math.round(v)} min` : `${Math.round(v / 6) / 10} h`);

/** Saves the CSV of path as name (a download of a Blob: nothing leaves the page). */
async function downloadCsv(api: ApiClient, path: string, query: Record<string, string>, name: string): Promise<void> {
  const text = await api.getText(path, query, "text/csv");
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function CsvButton({ label, path, query, name }: { label: string; path: string; query: Record<string, string>; name: string }) {
  const api = useApi();
  const save = useMutation({ mutationFn: () => downloadCsv(api, path, query, name) });
  return (
    <span className="inline-flex flex-col items-end gap-1">
      <button type="button" className="btn-secondary" disabled={save.isPending} onClick={() => save.mutate()}>
        {label}
      </button>
      <ErrorBox error={save.error} />
    </span>
  );
}

export function Analytics() {
  const api = useApi();
  const settings = useQuery({
    queryKey: ["analytics", "settings"],
    queryFn: ({ signal }) => api.get<{ timezone: string }>("/v1/analytics/settings", undefined, signal),
  });
  if (settings.isPending) return <Loading what="Loading analytics" />;
  if (settings.isError) return <ErrorBox error={settings.error} />;
  return <AnalyticsOf key={settings.data.timezone} timeZone={settings.data.timezone} />;
}

/** The figures an event of the live stream changes (what hd-analytics
 * counts: services/analytics/sql), none for the others. */
export function analyticsKeys(event: LiveEvent): QueryKey[] {
  const counted =
    event.type.startsWith("ticket.") ||
    event.type === "sla.breached" ||
    event.type === "workorder.created" ||
    event.type === "workorder.completed" ||
    (event.type === "comment.added" && event.data.first_response === true);
  return counted
    ? [
        ["analytics", "summary"],
        ["analytics", "timeseries"],
        ["analytics", "agents"],
      ]
    : [];
}

/** hd-analytics counts an event a moment after the stream carries it, and
 * its reports cost more than a list: 2 s after an event, then at most every 15 s. */
const ANALYTICS_PACE = { delayMs: 2_000, throttleMs: 15_000 };

function AnalyticsOf({ timeZone }: { timeZone: string }) {
  useLiveInvalidate(analyticsKeys, true, ANALYTICS_PACE);
  const [toDay, setToDay] = useState(() => dayIn(new Date(), timeZone));
  const [fromDay, setFromDay] = useState(() => addDays(dayIn(new Date(), timeZone), -29));
  const valid = fromDay !== "" && toDay !== "" && fromDay <= toDay;
  const query = valid ? windowQuery(fromDay, toDay, timeZone) : null;
  return (
    <section className="space-y-6">
      <PageTitle>Analytics</PageTitle>
      <div className="card flex flex-wrap items-end gap-4" role="group" aria-label="Window">
        <DayInput id="an-from" label="From" value={fromDay} onChange={setFromDay} />
        <DayInput id="an-to" label="To (included)" value={toDay} onChange={setToDay} />
        <TimeZoneSetting timeZone={timeZone} />
      </div>
      {!valid && <ErrorBox error={null}>The first day must not be after the last.</ErrorBox>}
      {query && (
        <>
          <SummaryCards query={query} csv={csvName("summary", fromDay, toDay)} />
          <SeriesPanel query={query} timeZone={timeZone} fromDay={fromDay} toDay={toDay} />
          <ForecastPanel timeZone={timeZone} />
          <AgentsTable query={query} csv={csvName("agents", fromDay, toDay)} />
        </>
      )}
    </section>
  );
}

function DayInput({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (v: string) => void }) {
  return (
    <div>
      <label className="label" htmlFor={id}>
        {label}
      </label>
      <input id={id} type="date" className="input" value={value} onChange={(e) => onChange(e.target.value)} required />
    </div>
  );
}

function TimeZoneSetting({ timeZone }: { timeZone: string }) {
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const [zone, setZone] = useState(timeZone);
  const save = useMutation({
    mutationFn: () => api.put<{ timezone: string }>("/v1/analytics/settings", { timezone: zone }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["analytics"] }),
  });
  if (me?.role !== "admin") return <p className="text-sm text-slate-700">Days and hours in {timeZone} (an admin sets it).</p>;
  const zones = knownZones();
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <div>
        <label className="label" htmlFor="an-tz">
          Time zone of days and hours
        </label>
        <select id="an-tz" className="input" value={zone} onChange={(e) => setZone(e.target.value)}>
          {(zones.includes(zone) ? zones : [zone, ...zones]).map((z) => (
            <option key={z}>{z}</option>
          ))}
        </select>
      </div>
      <button type="submit" className="btn-secondary" disabled={save.isPending || zone === timeZone}>
        Save time zone
      </button>
      <ErrorBox error={save.error} />
    </form>
  );
}

function Card({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="card p-3">
      <dt className="text-xs text-slate-600">{label}</dt>
      <dd className="text-2xl font-semibold">{children}</dd>
    </div>
  );
}

function Panel({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  const id = `panel-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <section className="space-y-3" aria-labelledby={id}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} className="text-lg font-semibold">
          {title}
        </h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

function SummaryCards({ query, csv }: { query: { from: string; to: string }; csv: string }) {
  const api = useApi();
  const q = useQuery({
    queryKey: ["analytics", "summary", query],
    queryFn: ({ signal }) => api.get<Summary>("/v1/analytics/summary", query, signal),
  });
  return (
    <Panel title="Summary" actions={<CsvButton label="Download summary (CSV)" path="/v1/analytics/summary" query={query} name={csv} />}>
      <ErrorBox error={q.error} />
      {q.isPending && <Loading what="Loading the summary" />}
      {q.isSuccess && (
        <>
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-5" data-testid="analytics-summary">
            <Card label="Tickets created">{q.data.tickets.created}</Card>
            <Card label="Tickets solved">{q.data.tickets.solved}</Card>
            <Card label="Still open">{q.data.tickets.open}</Card>
            <Card label="First responses on time">{pct(q.data.sla.first_response_compliance)}</Card>
            <Card label="Resolutions on time">{pct(q.data.sla.resolution_compliance)}</Card>
            <Card label="SLA breaches">{q.data.sla.breaches}</Card>
            <Card label="First response (median)">{minutes(q.data.times.first_response_minutes_p50)}</Card>
            <Card label="Resolution (median)">{minutes(q.data.times.resolution_minutes_p50)}</Card>
            <Card label="Work orders created">{q.data.work_orders.created}</Card>
            <Card label="Work orders completed">{q.data.work_orders.completed}</Card>
          </dl>
          <p className="text-xs text-slate-600">Counted from the event stream: every event before {when(q.data.as_of)} is in these figures.</p>
        </>
      )}
    </Panel>
  );
}

function MetricSelect({ id, value, onChange }: { id: string; value: Metric; onChange: (m: Metric) => void }) {
  return (
    <div>
      <label className="label" htmlFor={id}>
        Metric
      </label>
      <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value as Metric)}>
        {METRICS.map((m) => (
          <option key={m} value={m}>
            {METRIC_NAMES[m]}
          </option>
        ))}
      </select>
    </div>
  );
}

function SeriesPanel(props: { query: { from: string; to: string }; timeZone: string; fromDay: string; toDay: string }) {
  const api = useApi();
  const [metric, setMetric] = useState<Metric>("tickets.created");
  const [interval, setInterval] = useState<"day" | "hour">("day");
  const params = { ...props.query, metric, interval };
  const q = useQuery({
    queryKey: ["analytics", "timeseries", params],
    queryFn: ({ signal }) => api.get<Timeseries>("/v1/analytics/timeseries", params, signal),
  });
  return (
    <Panel
      title="Over time"
      actions={<CsvButton label="Download series (CSV)" path="/v1/analytics/timeseries" query={params} name={csvName(metric, props.fromDay, props.toDay)} />}
    >
      <div className="flex flex-wrap gap-4">
        <MetricSelect id="ts-metric" value={metric} onChange={setMetric} />
        <div>
          <label className="label" htmlFor="ts-interval">
            Per
          </label>
          <select id="ts-interval" className="input" value={interval} onChange={(e) => setInterval(e.target.value as "day" | "hour")}>
            <option value="day">day</option>
            <option value="hour">hour</option>
          </select>
        </div>
      </div>
      <ErrorBox error={q.error} />
      {q.isPending && <Loading what="Loading the series" />}
      {q.isSuccess && (
        <div className="card">
          <Chart
            title={`${METRIC_NAMES[metric]} per ${interval}`}
            testId="timeseries-chart"
            series={{ labels: q.data.points.map((p) => bucketLabel(p.t, interval, props.timeZone)), values: q.data.points.map((p) => p.value) }}
          />
        </div>
      )}
    </Panel>
  );
}

function ForecastPanel({ timeZone }: { timeZone: string }) {
  const api = useApi();
  const [metric, setMetric] = useState<Metric>("tickets.created");
  const [days, setDays] = useState(14);
  const horizon = Math.min(90, Math.max(1, Math.round(days) || 1));
  const q = useQuery({
    queryKey: ["analytics", "forecast", metric, horizon],
    queryFn: ({ signal }) => api.get<Forecast>("/v1/analytics/forecast", { metric, horizon_days: horizon }, signal),
  });
  return (
    <Panel title="Forecast">
      <div className="flex flex-wrap gap-4">
        <MetricSelect id="fc-metric" value={metric} onChange={setMetric} />
        <div>
          <label className="label" htmlFor="fc-days">
            Days ahead (1–90)
          </label>
          <input id="fc-days" type="number" min={1} max={90} className="input w-28" value={days} onChange={(e) => setDays(Number(e.target.value))} />
        </div>
      </div>
      <ErrorBox error={q.error} />
      {q.isPending && <Loading what="Loading the forecast" />}
      {q.isSuccess && (
        <div className="card space-y-1">
          <Chart
            title={`${METRIC_NAMES[metric]} forecast per day`}
            testId="forecast-chart"
            series={{
              labels: q.data.points.map((p) => bucketLabel(p.t, "day", timeZone)),
              values: q.data.points.map((p) => p.value),
              lows: q.data.points.map((p) => p.low),
              highs: q.data.points.map((p) => p.high),
            }}
          />
          <p className="text-xs text-slate-600">Method: {q.data.method.replace(/_/g, " ")}; the band holds 95 % of the likely values.</p>
        </div>
      )}
    </Panel>
  );
}

function AgentsTable({ query, csv }: { query: { from: string; to: string }; csv: string }) {
  const api = useApi();
  const users = useUsers();
  const q = useQuery({
    queryKey: ["analytics", "agents", query],
    queryFn: ({ signal }) => api.get<{ items: AgentRow[] }>("/v1/analytics/agents", query, signal),
  });
  return (
    <Panel title="Agents" actions={<CsvButton label="Download agents (CSV)" path="/v1/analytics/agents" query={query} name={csv} />}>
      <ErrorBox error={q.error} />
      {q.isPending && <Loading what="Loading the agents" />}
      {q.isSuccess &&
        (q.data.items.length === 0 ? (
          <Notice>No agent solved, answered or was rated in this window.</Notice>
        ) : (
          <TableFrame label="Agents" columns={AGENT_COLUMNS}>
            {q.data.items.map((a) => (
              <tr key={a.agent_id} className="border-t border-slate-100">
                <td className="px-3 py-2">{nameOf(users.data, a.agent_id)}</td>
                <td className="px-3 py-2">{a.solved}</td>
                <td className="px-3 py-2">
                  {minutes(a.first_response_minutes_p50)} / {minutes(a.first_response_minutes_p90)}
                </td>
                <td className="hidden px-3 py-2 md:table-cell">
                  {minutes(a.resolution_minutes_p50)} / {minutes(a.resolution_minutes_p90)}
                </td>
                <td className="px-3 py-2">{pct(a.csat)}</td>
              </tr>
            ))}
          </TableFrame>
        ))}
    </Panel>
  );
}
