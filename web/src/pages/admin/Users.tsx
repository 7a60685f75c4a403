// Admins manage the tenant's people: add, invite (a mailed link to set
// their password, docs/web.md "Invitations"), change role, deactivate.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi, useUser } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import type { Page, Role, User } from "../../api/types";
import { TableFrame, type Column } from "../../components/Table";
import { ErrorBox, Loading, Notice, PageTitle, when } from "../../components/ui";

const ROLES: Role[] = ["admin", "agent", "technician", "customer"];
const USER_COLUMNS: Column[] = [{ label: "Name" }, { label: "Email" }, { label: "Role" }, { label: "Since", wide: true }, { label: "Actions", hidden: true }];

export function Users() {
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const [role, setRole] = useState("");
  const [q, setQ] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["users", "admin", role, q],
    queryFn: ({ signal }) => api.get<Page<User>>("/v1/users", { role, q, limit: 100 }, signal),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["users"] });
  const changeRole = useMutation({
    mutationFn: (v: { user: User; role: Role }) => api.patch<User>(`/v1/users/${v.user.id}`, { role: v.role }, v.user.version),
    onSuccess: (u) => {
      setMessage(`${u.name || u.email} is now ${u.role}.`);
      refresh();
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) setMessage(conflictText("user", 0));
      refresh();
    },
  });
  const deactivate = useMutation({
    mutationFn: (u: User) => api.del(`/v1/users/${u.id}`),
    onSuccess: () => {
      setMessage("Deactivated: their sessions ended.");
      refresh();
    },
  });
  const invite = useMutation({
    mutationFn: (u: User) => api.post<unknown>(`/v1/users/${u.id}/invitations`).then(() => u),
    onSuccess: (u) => setMessage(`Invitation mailed to ${u.email}: its link lets them set their password.`),
  });
  return (
    <section className="space-y-4">
      <PageTitle>Users</PageTitle>
      <CreateUser
        onCreated={(u) => {
          setMessage(`Added ${u.email} as ${u.role}.`);
          refresh();
        }}
      />
      {message && <Notice>{message}</Notice>}
      <ErrorBox error={changeRole.error ?? deactivate.error ?? invite.error} />
      <div className="flex flex-wrap gap-3" role="search">
        <div>
          <label className="label" htmlFor="u-q">
            Search
          </label>
          <input id="u-q" type="search" className="input" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name or email" />
        </div>
        <div>
          <label className="label" htmlFor="u-role">
            Role
          </label>
          <select id="u-role" className="input" value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">Any</option>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </div>
      </div>
      {list.isPending && <Loading what="Loading users" />}
      <ErrorBox error={list.error} />
      {list.isSuccess && (
        <TableFrame label="Users" columns={USER_COLUMNS}>
          {list.data.items.map((u) => (
            <tr key={u.id} className={`border-t border-slate-100 ${u.active ? "" : "italic text-slate-600"}`}>
              <td className="px-3 py-2">{u.name || "—"}</td>
              <td className="px-3 py-2">{u.email}</td>
              <td className="px-3 py-2">
                <label className="sr-only" htmlFor={`role-${u.id}`}>
                  Role of {u.email}
                </label>
                <select
                  id={`role-${u.id}`}
                  className="input py-1"
                  value={u.role}
                  disabled={!u.active || u.id === me?.id || changeRole.isPending}
                  onChange={(e) => changeRole.mutate({ user: u, role: e.target.value as Role })}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td className="hidden px-3 py-2 md:table-cell">{when(u.created_at)}</td>
              <td className="px-3 py-2 text-right">
                {u.active ? (
                  u.id !== me?.id && (
                    <span className="flex justify-end gap-2">
                      <button
                        type="button"
                        className="btn-secondary"
                        disabled={invite.isPending}
                        onClick={() => invite.mutate(u)}
                        aria-label={`Invite ${u.email}`}
                      >
                        Invite
                      </button>
                      <button
                        type="button"
                        className="btn-danger"
                        onClick={() => window.confirm(`Deactivate ${u.email}? Their sessions end at once.`) && deactivate.mutate(u)}
                      >
                        Deactivate
                      </button>
                    </span>
                  )
                ) : (
                  <span className="text-xs">deactivated</span>
                )}
              </td>
            </tr>
          ))}
        </TableFrame>
      )}
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated: (u: User) => void }) {
  const api = useApi();
  const [form, setForm] = useState({ name: "", email: "", role: "agent" as Role, password: "" });
  const create = useMutation({
    mutationFn: () => api.post<User>("/v1/users", form),
    onSuccess: (u) => {
      setForm({ name: "", email: "", role: form.role, password: "" });
      onCreated(u);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit} className="card grid grid-cols-1 gap-3 md:grid-cols-5" aria-labelledby="new-user-title">
      <h2 id="new-user-title" className="font-semibold md:col-span-5">
        Add a user
      </h2>
      <div>
        <label className="label" htmlFor="n-name">
          Name
        </label>
        <input id="n-name" className="input" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      </div>
      <div>
        <label className="label" htmlFor="n-email">
          Email
        </label>
        <input id="n-email" type="email" className="input" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </div>
      <div>
        <label className="label" htmlFor="n-role">
          Role
        </label>
        <select id="n-role" className="input" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="n-password">
          First password
        </label>
        <input
          id="n-password"
          type="password"
          autoComplete="new-password"
          className="input"
          required
          minLength={8}
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
      </div>
      <div className="flex items-end">
        <button type="submit" className="btn" disabled={create.isPending}>
          Add user
        </button>
      </div>
      <div className="md:col-span-5">
        <ErrorBox error={create.error} />
      </div>
    </form>
  );
}
