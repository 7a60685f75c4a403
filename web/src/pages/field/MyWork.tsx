// "My work orders": the technician's start page (docs/web.md). Their work
// orders to do, soonest first, each with its next step in one tap ("On my
// way", "Arrived"; PATCH with If-Match) and a link to its page for notes,
// the checklist, parts and the customer's sign-off; the ones done; and
// "Share my location" (PUT /v1/technicians/{id}/location) from the
// browser's geolocation or typed by hand.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useApi } from "../../api/context";
import { ApiError, conflictText, fieldMessage } from "../../api/errors";
import type { WorkOrder } from "../../api/types";
import { ConflictBox, ErrorBox, FieldProblem, Loading, Notice, PageTitle, PriorityBadge, when } from "../../components/ui";
import { statusBadgeClass, statusText, useOwnTechnician, useWorkOrders } from "./data";
import { browserPosition, nextStep, readPosition, splitWork } from "./myWork";

export function MyWork() {
  const list = useWorkOrders();
  const me = useOwnTechnician();
  if (list.isPending || me.isPending) return <Loading what="Loading your work orders" />;
  const { todo, done } = splitWork(list.data ?? []);
  return (
    <section className="space-y-4">
      <PageTitle>My work orders</PageTitle>
      <ErrorBox error={list.error ?? me.error} />
      <SharePosition technicianId={me.data?.id ?? null} />
      <h2 className="font-semibold">To do</h2>
      <ul className="space-y-3" aria-label="To do">
        {todo.map((w) => (
          <WorkCard key={w.id} wo={w} />
        ))}
        {list.isSuccess && todo.length === 0 && <li className="text-sm text-slate-600">Nothing to do: no work order is scheduled for you.</li>}
      </ul>
      {done.length > 0 && (
        <>
          <h2 className="font-semibold">Done</h2>
          <ul className="space-y-2 text-sm" aria-label="Done">
            {done.map((w) => (
              <li key={w.id} className="flex flex-wrap items-center gap-2">
                <span className={statusBadgeClass(w.status)}>{statusText(w.status)}</span>
                <Link className="text-indigo-800 hover:underline" to={`/field/work-orders/${w.id}`}>
                  {w.title}
                </Link>
                <span className="text-slate-600">{when(w.completed_at ?? w.window.start)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function WorkCard({ wo }: { wo: WorkOrder }) {
  const api = useApi();
  const qc = useQueryClient();
  const [conflict, setConflict] = useState<string | null>(null);
  const step = nextStep(wo.status);
  const move = useMutation({
    mutationFn: (status: string) => api.patch<WorkOrder>(`/v1/work-orders/${wo.id}`, { status }, wo.version),
    onSettled: () => qc.invalidateQueries({ queryKey: ["work-orders"] }),
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) setConflict(conflictText("work order", wo.version));
    },
  });
  const open = wo.checklist.filter((c) => c.required && !c.done).length;
  const place = wo.location.address || `${wo.location.lat.toFixed(4)}, ${wo.location.lon.toFixed(4)}`;
  return (
    <li className="card space-y-2" aria-labelledby={`wo-${wo.id}`}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 id={`wo-${wo.id}`} className="font-medium">
          {wo.title}
        </h3>
        <span className={statusBadgeClass(wo.status)}>{statusText(wo.status)}</span>
        <PriorityBadge priority={wo.priority} />
      </div>
      <p className="text-sm text-slate-700">
        {when(wo.window.start)} – {when(wo.window.end)} · {place}
      </p>
      {wo.description && <p className="text-sm text-slate-600">{wo.description}</p>}
      <p className="text-xs text-slate-600">
        Checklist: {wo.checklist.filter((c) => c.done).length} of {wo.checklist.length} done
        {open > 0 && `, ${open} required still open`}
      </p>
      <ConflictBox text={conflict} />
      {!conflict && <ErrorBox error={move.error} />}
      <div className="flex flex-wrap gap-2">
        {step && (
          <button
            type="button"
            className="btn"
            disabled={move.isPending}
            onClick={() => {
              setConflict(null);
              move.mutate(step.status);
            }}
            aria-label={`${step.label}: ${wo.title}`}
          >
            {step.label}
          </button>
        )}
        <Link className="btn-secondary" to={`/field/work-orders/${wo.id}`} aria-label={`Open ${wo.title}: notes, checklist, parts and sign-off`}>
          {wo.status === "on_site" ? "Finish: checklist, parts, sign-off" : "Open"}
        </Link>
      </div>
    </li>
  );
}

function SharePosition({ technicianId }: { technicianId: string | null }) {
  const api = useApi();
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [sent, setSent] = useState<{ lat: number; lon: number } | null>(null);
  const put = useMutation({
    mutationFn: (p: { lat: number; lon: number }) => api.put<void>(`/v1/technicians/${technicianId}/location`, p).then(() => p),
    onSuccess: (p) => setSent(p),
  });
  const share = async () => {
    setProblem(null);
    setSent(null);
    try {
      const p = await browserPosition(typeof navigator === "undefined" ? undefined : navigator.geolocation);
      setLat(String(p.lat));
      setLon(String(p.lon));
      put.mutate(p);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSent(null);
    const p = readPosition(lat, lon);
    if ("error" in p) return setProblem(p.error);
    setProblem(null);
    put.mutate(p);
  };
  if (!technicianId)
    return (
      <div className="card text-sm text-slate-700">
        <h2 className="font-semibold">Share my location</h2>
        <p className="mt-1">You are not set up as a technician yet: an admin adds you, then you can share your position here.</p>
      </div>
    );
  return (
    <form className="card space-y-2" onSubmit={submit} aria-labelledby="share-title">
      <h2 id="share-title" className="font-semibold">
        Share my location
      </h2>
      <p className="text-sm text-slate-600">Dispatch sends the nearest technician: tell it where you are now.</p>
      <button type="button" className="btn" onClick={share} disabled={put.isPending}>
        Share my location
      </button>
      <p className="text-sm text-slate-600">Or type it:</p>
      <div className="grid grid-cols-2 gap-2 sm:max-w-md">
        <CoordinateField name="lat" label="Latitude" value={lat} onChange={setLat} problem={fieldMessage(put.error, "lat")} />
        <CoordinateField name="lon" label="Longitude" value={lon} onChange={setLon} problem={fieldMessage(put.error, "lon")} />
      </div>
      <ErrorBox error={put.error}>{problem}</ErrorBox>
      {sent && (
        <Notice>
          Location shared: {sent.lat.toFixed(4)}, {sent.lon.toFixed(4)}.
        </Notice>
      )}
      <button type="submit" className="btn-secondary" disabled={put.isPending}>
        Save this position
      </button>
    </form>
  );
}

/** A typed coordinate, with the API's problem about it under it. */
function CoordinateField(props: { name: string; label: string; value: string; onChange: (v: string) => void; problem: string }) {
  const id = `my-${props.name}`;
  return (
    <div>
      <label className="label" htmlFor={id}>
        {props.label}
      </label>
      <input
        id={id}
        className="input"
        inputMode="decimal"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={props.problem ? `${id}-error` : undefined}
      />
      <FieldProblem id={`${id}-error`} text={props.problem} />
    </div>
  );
}
