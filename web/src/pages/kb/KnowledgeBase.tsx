// The knowledge base for admins and agents: articles by status and tag,
// search (full text, typo fallback marked), writing a new one, and the
// help-center setting (agents read it, admins change it).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import { ARTICLE_STATUSES, type Article, type Page, type SearchHit, type Tenant } from "../../api/types";
import { Snippet } from "../../components/Snippet";
import { EmptyRow, TableFrame, type Column } from "../../components/Table";
import { ErrorBox, Field, Loading, Notice, PageTitle, splitList, SubmitCancel, when } from "../../components/ui";

const COLUMNS: Column[] = [{ label: "Title" }, { label: "Status" }, { label: "Locale", wide: true }, { label: "Helpful", wide: true }, { label: "Updated" }];

export function KnowledgeBase() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const tag = params.get("tag") ?? "";
  const q = params.get("q") ?? "";
  const [text, setText] = useState(q);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const list = useQuery({
    queryKey: ["kb", "list", status, tag],
    enabled: !q,
    queryFn: ({ signal }) => api.get<Page<Article>>("/v1/kb/articles", { status, tag, limit: 100 }, signal),
  });
  return (
    <section className="space-y-4">
      <PageTitle>Knowledge base</PageTitle>
      <NewArticle />
      <div className="card grid grid-cols-2 gap-3 md:grid-cols-4" role="search">
        <form
          className="col-span-2"
          onSubmit={(e) => {
            e.preventDefault();
            set("q", text.trim());
          }}
        >
          <Field id="kb-q" label="Search">
            <input
              id="kb-q"
              type="search"
              className="input"
              maxLength={200}
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder="Enter to search"
            />
          </Field>
        </form>
        <Field id="kb-status" label="Status">
          <select id="kb-status" className="input" value={status} onChange={(e) => set("status", e.target.value)}>
            <option value="">Any</option>
            {ARTICLE_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget).get("tag");
            set("tag", typeof v === "string" ? v.trim() : "");
          }}
        >
          <Field id="kb-tag" label="Tag">
            <input id="kb-tag" name="tag" className="input" defaultValue={tag} key={tag} placeholder="Enter to apply" />
          </Field>
        </form>
      </div>
      {q ? (
        <SearchResults q={q} />
      ) : (
        <>
          {list.isPending && <Loading what="Loading articles" />}
          <ErrorBox error={list.error} />
          {list.isSuccess && (
            <TableFrame label="Articles" columns={COLUMNS}>
              {list.data.items.map((a) => (
                <tr key={a.id} className="border-t border-slate-100">
                  <td className="px-3 py-2">
                    <Link className="font-medium text-indigo-800 hover:underline" to={`/kb/articles/${a.id}`}>
                      {a.title}
                    </Link>
                  </td>
                  <td className="px-3 py-2">{a.status}</td>
                  <td className="hidden px-3 py-2 md:table-cell">{a.locale}</td>
                  <td className="hidden px-3 py-2 md:table-cell">
                    {a.helpful} yes · {a.not_helpful} no
                  </td>
                  <td className="px-3 py-2 text-slate-600">{when(a.updated_at)}</td>
                </tr>
              ))}
              {list.data.items.length === 0 && <EmptyRow columns={COLUMNS.length}>No article matches.</EmptyRow>}
            </TableFrame>
          )}
        </>
      )}
      <HelpCenterSetting />
    </section>
  );
}

function SearchResults({ q }: { q: string }) {
  const api = useApi();
  const hits = useQuery({
    queryKey: ["kb", "search", q],
    queryFn: ({ signal }) => api.get<{ items: SearchHit[] }>("/v1/kb/search", { q, limit: 20 }, signal),
  });
  if (hits.isPending) return <Loading what="Searching" />;
  if (hits.isError) return <ErrorBox error={hits.error} />;
  return (
    <ul className="space-y-2" aria-label="Search results">
      {hits.data.items.map((h) => (
        <li key={h.id} className="card text-sm">
          <Link className="font-medium text-indigo-800 hover:underline" to={`/kb/articles/${h.id}`}>
            {h.title}
          </Link>
          {h.fuzzy && <span className="badge ml-2 bg-slate-100 text-slate-700">similar title</span>}
          <p className="mt-1">
            <Snippet text={h.snippet} />
          </p>
        </li>
      ))}
      {hits.data.items.length === 0 && <li className="text-sm text-slate-600">No article matches “{q}”.</li>}
    </ul>
  );
}

function NewArticle() {
  const api = useApi();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ title: "", body: "", tags: "", locale: "en" });
  const create = useMutation({
    mutationFn: () =>
      api.post<Article>("/v1/kb/articles", { title: form.title.trim(), body: form.body, tags: splitList(form.tags), locale: form.locale.trim() || "en" }),
    onSuccess: (a) => {
      qc.invalidateQueries({ queryKey: ["kb"] });
      navigate(`/kb/articles/${a.id}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  if (!open)
    return (
      <button type="button" className="btn" onClick={() => setOpen(true)}>
        Write an article
      </button>
    );
  return (
    <form onSubmit={submit} className="card grid grid-cols-1 gap-3 md:grid-cols-4" aria-labelledby="new-article-title">
      <h2 id="new-article-title" className="font-semibold md:col-span-4">
        New article (a draft until published)
      </h2>
      <Field id="na-title" label="Title" className="md:col-span-2">
        <input id="na-title" className="input" required maxLength={200} value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} />
      </Field>
      <Field id="na-tags" label="Tags (comma-separated)">
        <input id="na-tags" className="input" value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} />
      </Field>
      <Field id="na-locale" label="Language">
        <input id="na-locale" className="input" value={form.locale} onChange={(e) => setForm({ ...form, locale: e.target.value })} />
      </Field>
      <Field id="na-body" label="Text" className="md:col-span-4">
        <textarea id="na-body" className="input min-h-40" required value={form.body} onChange={(e) => setForm({ ...form, body: e.target.value })} />
      </Field>
      <div className="md:col-span-4">
        <ErrorBox error={create.error} />
      </div>
      <SubmitCancel label="Save draft" pending={create.isPending} onCancel={() => setOpen(false)} className="md:col-span-4" />
    </form>
  );
}

function HelpCenterSetting() {
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const setting = useQuery({ queryKey: ["kb-settings"], queryFn: ({ signal }) => api.get<{ public: boolean }>("/v1/kb/settings", undefined, signal) });
  const tenant = useQuery({ queryKey: ["tenant"], queryFn: ({ signal }) => api.get<Tenant>("/v1/tenants/current", undefined, signal) });
  const put = useMutation({
    mutationFn: (open: boolean) => api.put<{ public: boolean }>("/v1/kb/settings", { public: open }),
    onSuccess: (s) => qc.setQueryData(["kb-settings"], s),
  });
  const admin = me?.role === "admin";
  const address = tenant.data ? `/help/${tenant.data.slug}` : null;
  return (
    <div className="card space-y-2 text-sm" aria-labelledby="help-setting-title">
      <h2 id="help-setting-title" className="font-semibold">
        Public help center
      </h2>
      {setting.isPending && <Loading />}
      <ErrorBox error={setting.error ?? put.error} />
      {setting.isSuccess && (
        <>
          <p>
            {setting.data.public
              ? "Open: anyone can read the published articles without signing in"
              : "Closed: only signed-in users of this organisation read the articles"}
            {setting.data.public && address && (
              <>
                {" "}
                at{" "}
                <a className="text-indigo-700 underline" href={address}>
                  {address}
                </a>
              </>
            )}
            .
          </p>
          {admin && (
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={setting.data.public} disabled={put.isPending} onChange={(e) => put.mutate(e.target.checked)} />
              Readable by anyone, without signing in
            </label>
          )}
          {put.isSuccess && <Notice>Help center {put.data.public ? "opened" : "closed"}.</Notice>}
        </>
      )}
    </div>
  );
}
