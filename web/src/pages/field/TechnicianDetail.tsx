// One technician: skills, availability and working hours (PATCH with
// If-Match), the position (admins; PUT …/location), and the week ahead.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import { hoursToText, textToHours } from "../../api/hours";
import type { Page, Technician, WorkOrder } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { HoursEditor } from "../../components/HoursEditor";
import { ErrorBox, Field, Loading, Notice, PageTitle, splitList, when } from "../../components/ui";
import { parseLatLon, statusBadgeClass, statusText } from "./data";

export function TechnicianDetail() {
  const { id = "" } = useParams();
  const api = useApi();
  const users = useUsers();
  const tech = useQuery({ queryKey: ["technician", id], queryFn: ({ signal }) => api.get<Technician>(`/v1/technicians/${id}`, undefined, signal) });
  if (tech.isPending) return <Loading what="Loading the technician" />;
  if (tech.isError) return <ErrorBox error={tech.error} />;
  const t = tech.data;
  return (
    <section className="space-y-4">
      <Link to="/field/technicians" className="text-sm text-indigo-700 hover:underline">
        ← Technicians
      </Link>
      <PageTitle>{nameOf(users.data, t.user_id)}</PageTitle>
      {!t.active && <Notice>This user is no longer an active technician: they are never dispatched.</Notice>}
      <div className="grid gap-4 lg:grid-cols-2">
        <Profile key={t.version} tech={t} />
        <div className="space-y-4">
          <Position tech={t} />
          <Schedule id={t.id} />
        </div>
      </div>
    </section>
  );
}

function Profile({ tech }: { tech: Technician }) {
  const api = useApi();
  const qc = useQueryClient();
  const [skills, setSkills] = useState(tech.skills.join(", "));
  const [available, setAvailable] = useState(tech.available);
  const [hours, setHours] = useState(() => hoursToText(tech.working_hours));
  const [problem, setProblem] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: object) => api.patch<Technician>(`/v1/technicians/${tech.id}`, body, tech.version),
    onSuccess: (t) => {
      qc.setQueryData(["technician", t.id], t);
      qc.invalidateQueries({ queryKey: ["technicians"] });
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) {
        setProblem(conflictText("technician", tech.version));
        qc.invalidateQueries({ queryKey: ["technician", tech.id] });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = textToHours(hours.timezone, hours.days);
    if ("error" in parsed) return setProblem(parsed.error);
    setProblem(null);
    save.mutate({ skills: splitList(skills), available, working_hours: parsed.hours });
  };
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="tech-profile">
      <h2 id="tech-profile" className="font-semibold">
        Skills and hours
      </h2>
      <Field id="tp-skills" label="Skills (comma-separated)">
        <input id="tp-skills" className="input" value={skills} onChange={(e) => setSkills(e.target.value)} />
      </Field>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={available} onChange={(e) => setAvailable(e.target.checked)} /> Available for dispatch
      </label>
      <h3 className="font-medium">Working hours</h3>
      <p className="text-sm text-slate-600">Outside them the technician is never dispatched. Empty: any time.</p>
      <HoursEditor id="tp-hours" timezone={hours.timezone} days={hours.days} onChange={(timezone, days) => setHours({ timezone, days })} />
      <ErrorBox error={save.isError && !(save.error instanceof ApiError && save.error.status === 412) ? save.error : null}>{problem}</ErrorBox>
      {save.isSuccess && <Notice>Saved.</Notice>}
      <button type="submit" className="btn" disabled={save.isPending}>
        Save
      </button>
      <p className="text-xs text-slate-500">Version {tech.version}</p>
    </form>
  );
}

function Position({ tech }: { tech: Technician }) {
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const [text, setText] = useState(tech.location ? `${tech.location.lat}, ${tech.location.lon}` : "");
  const [problem, setProblem] = useState<string | null>(null);
  const put = useMutation({
    mutationFn: (p: { lat: number; lon: number }) => api.put<void>(`/v1/technicians/${tech.id}/location`, p),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["technician", tech.id] });
      qc.invalidateQueries({ queryKey: ["technicians"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p = parseLatLon(text);
    if (!p) return setProblem("Give a latitude and a longitude, e.g. 48.8566, 2.3522.");
    setProblem(null);
    put.mutate(p);
  };
  const mayMove = me?.role === "admin" || me?.role === "technician";
  return (
    <form onSubmit={submit} className="card space-y-2" aria-labelledby="tech-pos">
      <h2 id="tech-pos" className="font-semibold">
        Position
      </h2>
      <p className="text-sm text-slate-600">
        {tech.location ? `${tech.location.lat.toFixed(4)}, ${tech.location.lon.toFixed(4)}` : "Unknown"} · last seen {when(tech.last_seen_at)}
      </p>
      {mayMove && (
        <>
          <Field id="tp-pos" label="New position (lat, lon)">
            <input id="tp-pos" className="input" value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          <ErrorBox error={put.error}>{problem}</ErrorBox>
          {put.isSuccess && <Notice>Position saved.</Notice>}
          <button type="submit" className="btn-secondary" disabled={put.isPending}>
            Set position
          </button>
        </>
      )}
    </form>
  );
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

function Schedule({ id }: { id: string }) {
  const api = useApi();
  const [from] = useState(() => new Date(Date.now() - 24 * 3600 * 1000));
  const q = useQuery({
    queryKey: ["schedule", id, from.toISOString()],
    queryFn: ({ signal }) =>
      api.get<Page<WorkOrder>>(`/v1/technicians/${id}/schedule`, { from: from.toISOString(), to: new Date(from.getTime() + WEEK_MS).toISOString() }, signal),
  });
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Schedule (yesterday and the six days ahead)</h2>
      {q.isPending && <Loading />}
      <ErrorBox error={q.error} />
      <ol className="space-y-1 text-sm" aria-label="Schedule">
        {(q.data?.items ?? []).map((w) => (
          <li key={w.id} className="flex flex-wrap gap-2">
            <span className="text-slate-600">
              {when(w.window.start)} – {when(w.window.end)}
            </span>
            <Link className="text-indigo-800 hover:underline" to={`/field/work-orders/${w.id}`}>
              {w.title}
            </Link>
            <span className={statusBadgeClass(w.status)}>{statusText(w.status)}</span>
          </li>
        ))}
        {q.isSuccess && q.data.items.length === 0 && <li className="text-slate-600">Nothing planned.</li>}
      </ol>
    </div>
  );
}
