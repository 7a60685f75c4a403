// A customer's ticket: the public conversation (reloaded when the live
// stream brings a reply or a change, so replies appear without reloading;
// web/src/lib/stream.ts), a reply box, and the rating once the ticket is
// solved.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useApi, useUser } from "../../api/context";
import type { Comment, Page, Ticket } from "../../api/types";
import { ErrorBox, Loading, Notice, PageTitle, StatusBadge, when } from "../../components/ui";
import { ticketOf, useFallbackPoll, useLiveInvalidate } from "../../lib/stream";

/** While the live stream is down, a reload this often. */
const FALLBACK_MS = 60_000;

export function TicketView() {
  const { id = "" } = useParams();
  const api = useApi();
  const me = useUser();
  const qc = useQueryClient();
  const fallback = useFallbackPoll(FALLBACK_MS);
  const ticket = useQuery({
    queryKey: ["ticket", id],
    queryFn: ({ signal }) => api.get<Ticket>(`/v1/tickets/${id}`, undefined, signal),
    refetchInterval: fallback,
  });
  const comments = useQuery({
    queryKey: ["comments", id],
    queryFn: ({ signal }) => api.get<Page<Comment>>(`/v1/tickets/${id}/comments`, { limit: 100 }, signal),
    refetchInterval: fallback,
  });
  useLiveInvalidate((ev) =>
    ticketOf(ev) === id
      ? [
          ["comments", id],
          ["ticket", id],
        ]
      : [],
  );
  const [body, setBody] = useState("");
  const reply = useMutation({
    mutationFn: () => api.post<Comment>(`/v1/tickets/${id}/comments`, { body: body.trim() }),
    onSuccess: () => {
      setBody("");
      qc.invalidateQueries({ queryKey: ["comments", id] });
      qc.invalidateQueries({ queryKey: ["ticket", id] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    reply.mutate();
  };

  if (ticket.isPending) return <Loading what="Loading the ticket" />;
  if (ticket.isError) return <ErrorBox error={ticket.error} />;
  const t = ticket.data;
  const closed = t.status === "closed";
  return (
    <section className="max-w-3xl space-y-4">
      <Link to="/portal" className="text-sm text-indigo-700 hover:underline">
        ← My tickets
      </Link>
      <PageTitle actions={<StatusBadge status={t.status} />}>
        #{t.number} {t.subject}
      </PageTitle>
      <p className="text-sm text-slate-600">Opened {when(t.created_at)}</p>
      {t.description && <div className="card whitespace-pre-wrap text-sm">{t.description}</div>}
      <h2 className="text-lg font-semibold">Conversation</h2>
      <ErrorBox error={comments.error} />
      <ol className="space-y-3" aria-label="Conversation">
        {(comments.data?.items ?? []).map((c) => (
          <li key={c.id} className={`card text-sm ${c.author_id === me?.id ? "border-indigo-200 bg-indigo-50" : ""}`}>
            <div className="mb-1 text-xs text-slate-600">
              {c.author_id === me?.id ? "You" : "Support"} · {when(c.created_at)}
            </div>
            <div className="whitespace-pre-wrap">{c.body}</div>
          </li>
        ))}
        {comments.isSuccess && comments.data.items.length === 0 && <li className="text-sm text-slate-600">No replies yet. We will answer here.</li>}
      </ol>
      {closed ? (
        <Notice>
          This ticket is closed.{" "}
          <Link className="underline" to="/portal/new">
            Open a new ticket
          </Link>{" "}
          if you need more help.
        </Notice>
      ) : (
        <form onSubmit={submit} className="card space-y-2">
          <label className="label" htmlFor="reply">
            Your reply
          </label>
          <textarea id="reply" className="input min-h-24" required value={body} onChange={(e) => setBody(e.target.value)} />
          <ErrorBox error={reply.error} />
          <button type="submit" className="btn" disabled={reply.isPending || !body.trim()}>
            Send reply
          </button>
        </form>
      )}
      {(t.status === "solved" || closed) && <Rating ticket={t} />}
    </section>
  );
}

function Rating({ ticket }: { ticket: Ticket }) {
  const api = useApi();
  const qc = useQueryClient();
  const [comment, setComment] = useState("");
  const rate = useMutation({
    mutationFn: (rating: "good" | "bad") => api.post(`/v1/tickets/${ticket.id}/satisfaction`, { rating, comment: comment.trim() || undefined }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["ticket", ticket.id] }),
  });
  if (ticket.satisfaction) return <Notice>Thank you: you rated this answer {ticket.satisfaction}.</Notice>;
  return (
    <div className="card space-y-2" aria-labelledby="rate-title">
      <h2 id="rate-title" className="font-semibold">
        How did we do?
      </h2>
      <label className="label" htmlFor="rate-comment">
        Comment (optional)
      </label>
      <input id="rate-comment" className="input" value={comment} onChange={(e) => setComment(e.target.value)} />
      <ErrorBox error={rate.error} />
      <div className="flex gap-2">
        <button type="button" className="btn" onClick={() => rate.mutate("good")} disabled={rate.isPending}>
          Good
        </button>
        <button type="button" className="btn-secondary" onClick={() => rate.mutate("bad")} disabled={rate.isPending}>
          Bad
        </button>
      </div>
    </div>
  );
}
