// Knowledge-base articles offered where they may save a ticket: while a
// customer types a new ticket's subject (GET /v1/kb/search), and beside a
// ticket for agents (GET /v1/tickets/{id}/suggestions, with the category
// and priority predicted from similar solved tickets). Not drawn when the
// knowledge service does not answer (docs/web.md).
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { useApi } from "../../api/context";
import { useServiceUp } from "../../api/services";
import type { Article, SearchHit, TicketSuggestions } from "../../api/types";
import { Snippet } from "../../components/Snippet";
import { ErrorBox } from "../../components/ui";

const TYPING_PAUSE_MS = 300;
const MIN_CHARS = 3;

/** value, once it has stopped changing for ms. */
export function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Under the subject of a new ticket: articles that may already answer it. */
export function SubjectSuggestions({ subject }: { subject: string }) {
  const api = useApi();
  const up = useServiceUp("knowledge");
  const q = useSettled(subject.trim(), TYPING_PAUSE_MS);
  const hits = useQuery({
    queryKey: ["kb-suggest", q],
    enabled: up && q.length >= MIN_CHARS,
    staleTime: 60_000,
    queryFn: ({ signal }) => api.get<{ items: SearchHit[] }>("/v1/kb/search", { q, limit: 5 }, signal),
  });
  if (!up || q.length < MIN_CHARS || !hits.data || hits.data.items.length === 0) return null;
  return (
    <div className="rounded-md border border-indigo-200 bg-indigo-50 p-3 text-sm" role="region" aria-label="Articles that may help">
      <p className="font-medium text-indigo-900">These articles may answer it already:</p>
      <ul className="mt-2 space-y-2">
        {hits.data.items.map((h) => (
          <SuggestedArticle key={h.id} hit={h} />
        ))}
      </ul>
    </div>
  );
}

/** One suggestion, opened in place so the ticket being typed stays. */
function SuggestedArticle({ hit }: { hit: SearchHit }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const article = useQuery({
    queryKey: ["help-article", `/v1/kb/articles/${hit.id}`],
    enabled: open,
    queryFn: ({ signal }) => api.get<Article>(`/v1/kb/articles/${hit.id}`, undefined, signal),
  });
  return (
    <li>
      <button type="button" className="text-left font-medium text-indigo-800 underline" aria-expanded={open} onClick={() => setOpen(!open)}>
        {hit.title}
      </button>
      <p>
        <Snippet text={hit.snippet} />
      </p>
      {open && (
        <article className="mt-1 rounded-md bg-white p-2" aria-label={hit.title}>
          <ErrorBox error={article.error} />
          {article.data && <p className="whitespace-pre-wrap">{article.data.body}</p>}
        </article>
      )}
    </li>
  );
}

/** Beside a ticket, for admins and agents. */
export function TicketSuggestionsPanel({ ticketId }: { ticketId: string }) {
  const api = useApi();
  const s = useQuery({
    queryKey: ["suggestions", ticketId],
    staleTime: 60_000,
    queryFn: ({ signal }) => api.get<TicketSuggestions>(`/v1/tickets/${ticketId}/suggestions`, undefined, signal),
  });
  if (s.isError) return <ErrorBox error={s.error} />;
  if (!s.data) return null;
  const p = s.data.predicted;
  return (
    <div className="card space-y-2 text-sm" role="region" aria-label="Suggestions">
      <h2 className="font-semibold">Suggestions</h2>
      {p.category || p.priority ? (
        <p>
          Similar solved tickets were {p.category ? `in category “${p.category}”` : ""}
          {p.category && p.priority ? " with " : ""}
          {p.priority ? `priority ${p.priority}` : ""} ({Math.round(p.confidence * 100)}% of them).
        </p>
      ) : (
        <p className="text-slate-600">No similar solved ticket yet.</p>
      )}
      {!s.data.degraded && s.data.articles.length > 0 && (
        <>
          <h3 className="font-medium">Articles</h3>
          <ul className="space-y-2" aria-label="Suggested articles">
            {s.data.articles.map((h) => (
              <li key={h.id}>
                <Link className="font-medium text-indigo-800 hover:underline" to={`/kb/articles/${h.id}`}>
                  {h.title}
                </Link>
                <p>
                  <Snippet text={h.snippet} />
                </p>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
