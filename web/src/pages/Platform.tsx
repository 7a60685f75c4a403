// The platform admin adds tenants (organisations) with their first admin.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../api/context";
import type { Tenant } from "../api/types";
import { ErrorBox, Notice, PageTitle } from "../components/ui";

export function Platform() {
  const api = useApi();
  const [form, setForm] = useState({ name: "", slug: "", admin_email: "", admin_name: "", admin_password: "" });
  const create = useMutation({ mutationFn: () => api.post<Tenant>("/v1/tenants", form) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const field = (k: keyof typeof form, label: string, type = "text") => (
    <div>
      <label className="label" htmlFor={`t-${k}`}>
        {label}
      </label>
      <input
        id={`t-${k}`}
        type={type}
        className="input"
        required={k !== "admin_name"}
        value={form[k]}
        onChange={(e) => setForm({ ...form, [k]: e.target.value })}
      />
    </div>
  );
  return (
    <section className="max-w-xl">
      <PageTitle>Add an organisation</PageTitle>
      <form onSubmit={submit} className="card space-y-3">
        {field("name", "Name")}
        {field("slug", "Sign-in name (lowercase letters, digits, dashes)")}
        {field("admin_email", "First admin's email", "email")}
        {field("admin_name", "First admin's name")}
        {field("admin_password", "First admin's password", "password")}
        <ErrorBox error={create.error} />
        {create.data && <Notice>Organisation {create.data.slug} created: its admin can sign in now.</Notice>}
        <button type="submit" className="btn" disabled={create.isPending}>
          Create
        </button>
      </form>
    </section>
  );
}
