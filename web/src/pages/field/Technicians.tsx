// Technicians (admins and agents): the list, the nearest ones to a place
// (PostGIS, with their distance), filters by skill and availability, and
// (admins) adding a user of role technician.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useApi, useUser } from "../../api/context";
import type { Page, Technician } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { EmptyRow, TableFrame, type Column } from "../../components/Table";
import { ErrorBox, Field, Loading, Notice, PageTitle, splitList, when } from "../../components/ui";
import { allPages, parseLatLon } from "./data";

const COLUMNS: Column[] = [{ label: "Name" }, { label: "Skills" }, { label: "Available" }, { label: "Distance" }, { label: "Last seen", wide: true }];

interface Search {
  near: string;
  radius_km: string;
  skill: string;
  available: string;
}

export function Technicians() {
  const api = useApi();
  const me = useUser();
  const users = useUsers();
  const [form, setForm] = useState<Search>({ near: "", radius_km: "", skill: "", available: "" });
  const [search, setSearch] = useState<Search>(form);
  const [formError, setFormError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["technicians", "search", search],
    queryFn: ({ signal }) =>
      search.near
        ? api.get<Page<Technician>>("/v1/technicians", { ...search, limit: 100 }, signal).then((p) => p.items)
        : allPages<Technician>(api, "/v1/technicians", { skill: search.skill || undefined, available: search.available || undefined }, signal),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (form.near && !parseLatLon(form.near)) return setFormError("Near: give a latitude and a longitude, e.g. 48.8566, 2.3522.");
    setFormError(null);
    const near = parseLatLon(form.near);
    setSearch({ ...form, near: near ? `${near.lat},${near.lon}` : "", radius_km: near ? form.radius_km : "" });
  };
  return (
    <section className="space-y-4">
      <PageTitle>Technicians</PageTitle>
      {me?.role === "admin" && <AddTechnician existing={list.data} onAdded={setAdded} />}
      {added && <Notice>{added}</Notice>}
      <form onSubmit={submit} className="card grid grid-cols-2 gap-3 md:grid-cols-5" role="search" aria-label="Find technicians">
        <Field id="t-near" label="Near (lat, lon)" className="col-span-2">
          <input id="t-near" className="input" placeholder="48.8566, 2.3522" value={form.near} onChange={(e) => setForm({ ...form, near: e.target.value })} />
        </Field>
        <Field id="t-radius" label="Within (km)">
          <input
            id="t-radius"
            type="number"
            min={0.1}
            step="any"
            className="input"
            value={form.radius_km}
            onChange={(e) => setForm({ ...form, radius_km: e.target.value })}
          />
        </Field>
        <Field id="t-skill" label="Skills (all of)">
          <input id="t-skill" className="input" placeholder="hvac, gas" value={form.skill} onChange={(e) => setForm({ ...form, skill: e.target.value })} />
        </Field>
        <Field id="t-available" label="Available">
          <select id="t-available" className="input" value={form.available} onChange={(e) => setForm({ ...form, available: e.target.value })}>
            <option value="">Any</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </Field>
        <div className="col-span-2 md:col-span-5">
          <button type="submit" className="btn">
            Find
          </button>
        </div>
        <div className="col-span-2 md:col-span-5">
          <ErrorBox error={null}>{formError}</ErrorBox>
        </div>
      </form>
      {list.isPending && <Loading what="Loading technicians" />}
      <ErrorBox error={list.error} />
      {list.isSuccess && (
        <TableFrame label="Technicians" columns={COLUMNS}>
          {list.data.map((t) => (
            <tr key={t.id} className={`border-t border-slate-100 ${t.active ? "" : "italic text-slate-600"}`}>
              <td className="px-3 py-2">
                <Link className="font-medium text-indigo-800 hover:underline" to={`/field/technicians/${t.id}`}>
                  {nameOf(users.data, t.user_id)}
                </Link>
              </td>
              <td className="px-3 py-2">{t.skills.join(", ") || "—"}</td>
              <td className="px-3 py-2">{t.available ? "yes" : "no"}</td>
              <td className="px-3 py-2">{t.distance_km !== undefined ? `${t.distance_km.toFixed(1)} km` : "—"}</td>
              <td className="hidden px-3 py-2 md:table-cell">{when(t.last_seen_at)}</td>
            </tr>
          ))}
          {list.data.length === 0 && <EmptyRow columns={COLUMNS.length}>No technician matches.</EmptyRow>}
        </TableFrame>
      )}
    </section>
  );
}

/** Admins: a user of role technician becomes a technician, with skills and a place. */
function AddTechnician({ existing, onAdded }: { existing?: Technician[]; onAdded: (text: string) => void }) {
  const api = useApi();
  const qc = useQueryClient();
  const users = useUsers();
  const [form, setForm] = useState({ user_id: "", skills: "", location: "" });
  const [formError, setFormError] = useState<string | null>(null);
  const taken = new Set((existing ?? []).map((t) => t.user_id));
  const candidates = (users.data ?? []).filter((u) => u.role === "technician" && u.active && !taken.has(u.id));
  const add = useMutation({
    mutationFn: (body: object) => api.post<Technician>("/v1/technicians", body),
    onSuccess: (t) => {
      setForm({ user_id: "", skills: "", location: "" });
      qc.invalidateQueries({ queryKey: ["technicians"] });
      onAdded(`${nameOf(users.data, t.user_id)} is a technician now.`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const location = form.location.trim() ? parseLatLon(form.location) : undefined;
    if (location === null) return setFormError("Position: give a latitude and a longitude, e.g. 48.8566, 2.3522.");
    setFormError(null);
    add.mutate({ user_id: form.user_id, skills: splitList(form.skills), ...(location ? { location } : {}) });
  };
  return (
    <form onSubmit={submit} className="card grid grid-cols-1 gap-3 md:grid-cols-4" aria-labelledby="add-tech-title">
      <h2 id="add-tech-title" className="font-semibold md:col-span-4">
        Add a technician
      </h2>
      <Field id="nt-user" label="User (role technician)">
        <select id="nt-user" className="input" required value={form.user_id} onChange={(e) => setForm({ ...form, user_id: e.target.value })}>
          <option value="">{candidates.length ? "Choose…" : "No technician user left: add one under Users"}</option>
          {candidates.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name || u.email}
            </option>
          ))}
        </select>
      </Field>
      <Field id="nt-skills" label="Skills (comma-separated)">
        <input id="nt-skills" className="input" value={form.skills} onChange={(e) => setForm({ ...form, skills: e.target.value })} />
      </Field>
      <Field id="nt-location" label="Position (lat, lon)">
        <input id="nt-location" className="input" value={form.location} onChange={(e) => setForm({ ...form, location: e.target.value })} />
      </Field>
      <div className="flex items-end">
        <button type="submit" className="btn" disabled={add.isPending || !form.user_id}>
          Add technician
        </button>
      </div>
      <div className="md:col-span-4">
        <ErrorBox error={add.error}>{formError}</ErrorBox>
      </div>
    </form>
  );
}
