// One article for admins and agents: edit (each save is a new version,
// sent with If-Match), publish or archive, every version with its text and
// a restore, and delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useApi } from "../../api/context";
import { ApiError, conflictText } from "../../api/errors";
import { ARTICLE_STATUSES, type Article, type ArticleStatus, type ArticleVersion, type Page } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { ConflictBox, ErrorBox, Field, Loading, Notice, PageTitle, splitList, when } from "../../components/ui";

export function ArticleEditor() {
  const { id = "" } = useParams();
  const api = useApi();
  const article = useQuery({ queryKey: ["kb-article", id], queryFn: ({ signal }) => api.get<Article>(`/v1/kb/articles/${id}`, undefined, signal) });
  if (article.isPending) return <Loading what="Loading the article" />;
  if (article.isError) return <ErrorBox error={article.error} />;
  const a = article.data;
  return (
    <section className="space-y-4">
      <Link to="/kb" className="text-sm text-indigo-700 hover:underline">
        ← Knowledge base
      </Link>
      <PageTitle actions={<span className="badge bg-slate-100 text-slate-800">{a.status}</span>}>{a.title}</PageTitle>
      <p className="text-sm text-slate-600">
        Version {a.version} · {a.helpful} found it helpful, {a.not_helpful} did not · published {when(a.published_at)}
      </p>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <Editor key={a.version} article={a} />
        </div>
        <aside className="space-y-4">
          <Versions article={a} />
          <Delete article={a} />
        </aside>
      </div>
    </section>
  );
}

function useSaved(id: string) {
  const qc = useQueryClient();
  return (a?: Article) => {
    if (a) qc.setQueryData(["kb-article", id], a);
    else qc.invalidateQueries({ queryKey: ["kb-article", id] });
    qc.invalidateQueries({ queryKey: ["kb"] });
    qc.invalidateQueries({ queryKey: ["kb-versions", id] });
  };
}

function Editor({ article }: { article: Article }) {
  const api = useApi();
  const saved = useSaved(article.id);
  const [form, setForm] = useState({ title: article.title, body: article.body, tags: article.tags.join(", "), locale: article.locale });
  const [status, setStatus] = useState<ArticleStatus>(article.status);
  const [conflict, setConflict] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = {};
      if (form.title.trim() !== article.title) body.title = form.title.trim();
      if (form.body !== article.body) body.body = form.body;
      if (splitList(form.tags).join(",") !== article.tags.join(",")) body.tags = splitList(form.tags);
      if (form.locale.trim() !== article.locale) body.locale = form.locale.trim();
      if (status !== article.status) body.status = status;
      return api.patch<Article>(`/v1/kb/articles/${article.id}`, body, article.version);
    },
    onSuccess: (a) => saved(a),
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) {
        setConflict(conflictText("article", article.version));
        saved();
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setConflict(null);
    save.mutate();
  };
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="edit-article-title">
      <h2 id="edit-article-title" className="font-semibold">
        Edit
      </h2>
      <Field id="ae-title" label="Title">
        <input id="ae-title" className="input" required maxLength={200} value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} />
      </Field>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <Field id="ae-tags" label="Tags (comma-separated)">
          <input id="ae-tags" className="input" value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} />
        </Field>
        <Field id="ae-locale" label="Language">
          <input id="ae-locale" className="input" value={form.locale} onChange={(e) => setForm({ ...form, locale: e.target.value })} />
        </Field>
        <Field id="ae-status" label="Status">
          <select id="ae-status" className="input" value={status} onChange={(e) => setStatus(e.target.value as ArticleStatus)}>
            {ARTICLE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s === "published" ? "published (customers see it)" : s}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Field id="ae-body" label="Text">
        <textarea id="ae-body" className="input min-h-64" required value={form.body} onChange={(e) => setForm({ ...form, body: e.target.value })} />
      </Field>
      <ConflictBox text={conflict} />
      {save.isError && !conflict && <ErrorBox error={save.error} />}
      <button type="submit" className="btn" disabled={save.isPending}>
        {save.isPending ? "Saving…" : "Save as a new version"}
      </button>
    </form>
  );
}

function Versions({ article }: { article: Article }) {
  const api = useApi();
  const users = useUsers();
  const saved = useSaved(article.id);
  const [shown, setShown] = useState<number | null>(null);
  const versions = useQuery({
    queryKey: ["kb-versions", article.id],
    queryFn: ({ signal }) => api.get<Page<ArticleVersion>>(`/v1/kb/articles/${article.id}/versions`, { limit: 100 }, signal),
  });
  const restore = useMutation({
    mutationFn: (n: number) => api.request<Article>("POST", `/v1/kb/articles/${article.id}/versions/${n}/restore`, { ifMatch: article.version }),
    onSuccess: (r) => saved(r.data),
  });
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Versions</h2>
      {versions.isPending && <Loading />}
      <ErrorBox error={versions.error ?? restore.error} />
      {restore.isSuccess && (
        <Notice>
          Version {restore.variables} is the current text again (as version {restore.data.data.version}).
        </Notice>
      )}
      <ol className="space-y-2 text-sm" aria-label="Versions">
        {(versions.data?.items ?? []).map((v) => (
          <li key={v.version} className="border-b border-slate-100 pb-2">
            <div className="flex flex-wrap items-center gap-2">
              <span className="font-medium">Version {v.version}</span>
              <span className="text-slate-600">
                {when(v.created_at)}, {nameOf(users.data, v.author_id)}
              </span>
            </div>
            <div className="mt-1 flex gap-2">
              <button
                type="button"
                className="btn-secondary"
                aria-expanded={shown === v.version}
                onClick={() => setShown(shown === v.version ? null : v.version)}
              >
                {shown === v.version ? "Hide" : "Show"} version {v.version}
              </button>
              {v.version !== article.version && (
                <button type="button" className="btn-secondary" disabled={restore.isPending} onClick={() => restore.mutate(v.version)}>
                  Restore version {v.version}
                </button>
              )}
            </div>
            {shown === v.version && (
              <div className="mt-2 rounded-md bg-slate-50 p-2">
                <p className="font-medium">{v.title}</p>
                <p className="whitespace-pre-wrap text-slate-700">{v.body}</p>
              </div>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

function Delete({ article }: { article: Article }) {
  const api = useApi();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const del = useMutation({
    mutationFn: () => api.del(`/v1/kb/articles/${article.id}`),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["kb"] });
      navigate("/kb");
    },
  });
  return (
    <div className="card space-y-2">
      <ErrorBox error={del.error} />
      <button
        type="button"
        className="btn-danger"
        disabled={del.isPending}
        onClick={() => window.confirm(`Delete “${article.title}” with all its versions?`) && del.mutate()}
      >
        Delete the article
      </button>
    </div>
  );
}
