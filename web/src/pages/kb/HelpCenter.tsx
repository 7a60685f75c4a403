// The help center: published articles, searched or listed newest first,
// and one article with "was this helpful?" (docs/web.md, "Knowledge base").
// Customers read it signed in (/portal/help, the /v1/kb routes, which show
// them published articles only); anyone reads a tenant's public one without
// signing in (/help/<tenant>, the /v1/help routes) once an admin opened it.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { useApi } from "../../api/context";
import type { Article, Page, SearchHit } from "../../api/types";
import { Snippet } from "../../components/Snippet";
import { ErrorBox, Loading, Notice, PageTitle, when } from "../../components/ui";

/** Where a help center's articles come from and where its pages are. */
interface Source {
  list: string;
  search: string;
  article: (id: string) => string;
  page: (id?: string) => string;
  /** signed-in readers may vote */
  feedback: boolean;
}

function portalSource(): Source {
  return {
    list: "/v1/kb/articles",
    search: "/v1/kb/search",
    article: (id) => `/v1/kb/articles/${id}`,
    page: (id) => (id ? `/portal/help/${id}` : "/portal/help"),
    feedback: true,
  };
}

function publicSource(slug: string): Source {
  const base = `/v1/help/${encodeURIComponent(slug)}`;
  return {
    list: `${base}/articles`,
    search: `${base}/search`,
    article: (id) => `${base}/articles/${id}`,
    page: (id) => (id ? `/help/${encodeURIComponent(slug)}/${id}` : `/help/${encodeURIComponent(slug)}`),
    feedback: false,
  };
}

export function PortalHelp() {
  return <Articles source={portalSource()} />;
}

export function PortalHelpArticle() {
  const { id = "" } = useParams();
  return <ArticleView source={portalSource()} id={id} />;
}

export function PublicHelp() {
  const { slug = "" } = useParams();
  return (
    <PublicFrame>
      <Articles source={publicSource(slug)} />
    </PublicFrame>
  );
}

export function PublicHelpArticle() {
  const { slug = "", id = "" } = useParams();
  return (
    <PublicFrame>
      <ArticleView source={publicSource(slug)} id={id} />
    </PublicFrame>
  );
}

function PublicFrame({ children }: { children: ReactNode }) {
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-4xl items-center gap-4 px-4 py-3">
          <span className="font-semibold text-indigo-700">Helpdesk</span>
          <a className="ml-auto text-sm text-indigo-700 hover:underline" href="/login">
            Sign in
          </a>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-4xl px-4 py-6">
        {children}
      </main>
    </div>
  );
}

function Articles({ source }: { source: Source }) {
  const api = useApi();
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const list = useQuery({
    queryKey: ["help", source.list],
    enabled: !q,
    queryFn: ({ signal }) => api.get<Page<Article>>(source.list, { limit: 50 }, signal),
  });
  const hits = useQuery({
    queryKey: ["help-search", source.search, q],
    enabled: !!q,
    queryFn: ({ signal }) => api.get<{ items: SearchHit[] }>(source.search, { q, limit: 20 }, signal),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQ(text.trim());
  };
  const current = q ? hits : list;
  return (
    <section className="space-y-4">
      <PageTitle>Help center</PageTitle>
      <form onSubmit={submit} role="search" className="flex flex-wrap items-end gap-2">
        <div className="min-w-0 flex-1">
          <label className="label" htmlFor="help-q">
            Search the articles
          </label>
          <input id="help-q" type="search" className="input" maxLength={200} value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <button type="submit" className="btn">
          Search
        </button>
      </form>
      {current.isPending && <Loading what="Loading articles" />}
      <ErrorBox error={current.error} />
      <ul className="space-y-2" aria-label="Articles">
        {q
          ? hits.data?.items.map((h) => (
              <li key={h.id} className="card">
                <Link className="font-medium text-indigo-800 hover:underline" to={source.page(h.id)}>
                  {h.title}
                </Link>
                <p className="mt-1 text-sm">
                  <Snippet text={h.snippet} />
                </p>
              </li>
            ))
          : list.data?.items.map((a) => (
              <li key={a.id} className="card">
                <Link className="font-medium text-indigo-800 hover:underline" to={source.page(a.id)}>
                  {a.title}
                </Link>
                <p className="mt-1 line-clamp-2 text-sm text-slate-600">{a.body}</p>
              </li>
            ))}
        {current.isSuccess && current.data.items.length === 0 && <li className="text-sm text-slate-600">{q ? "No article matches." : "No article yet."}</li>}
      </ul>
    </section>
  );
}

function ArticleView({ source, id }: { source: Source; id: string }) {
  const api = useApi();
  const article = useQuery({
    queryKey: ["help-article", source.article(id)],
    queryFn: ({ signal }) => api.get<Article>(source.article(id), undefined, signal),
  });
  const vote = useMutation({ mutationFn: (helpful: boolean) => api.post<void>(`/v1/kb/articles/${id}/feedback`, { helpful }) });
  if (article.isPending) return <Loading what="Loading the article" />;
  if (article.isError) return <ErrorBox error={article.error} />;
  const a = article.data;
  return (
    <article className="space-y-4">
      <Link to={source.page()} className="text-sm text-indigo-700 hover:underline">
        ← Help center
      </Link>
      <PageTitle>{a.title}</PageTitle>
      <p className="text-xs text-slate-500">Updated {when(a.updated_at)}</p>
      <div className="card whitespace-pre-wrap text-sm leading-6">{a.body}</div>
      {source.feedback && (
        <div className="card space-y-2 text-sm" aria-labelledby="helpful-title">
          <h2 id="helpful-title" className="font-semibold">
            Was this helpful?
          </h2>
          {vote.isSuccess ? (
            <Notice>Thank you for telling us.</Notice>
          ) : (
            <div className="flex gap-2">
              <button type="button" className="btn-secondary" disabled={vote.isPending} onClick={() => vote.mutate(true)}>
                Yes
              </button>
              <button type="button" className="btn-secondary" disabled={vote.isPending} onClick={() => vote.mutate(false)}>
                No
              </button>
            </div>
          )}
          <ErrorBox error={vote.error} />
        </div>
      )}
    </article>
  );
}
