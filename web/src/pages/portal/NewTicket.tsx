// A customer opens a ticket: subject and what happened; knowledge-base
// articles that may answer it are offered while the subject is typed.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useApi } from "../../api/context";
import type { Ticket } from "../../api/types";
import { ErrorBox, PageTitle } from "../../components/ui";
import { SubjectSuggestions } from "../kb/Suggestions";

export function NewTicket() {
  const api = useApi();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [subject, setSubject] = useState("");
  const [description, setDescription] = useState("");
  // one key per form, so a double submit or a retry opens one ticket
  const key = useRef(crypto.randomUUID());
  const create = useMutation({
    mutationFn: () =>
      api.post<Ticket>("/v1/tickets", { subject: subject.trim(), description: description.trim() || undefined }, { idempotencyKey: key.current }),
    onSuccess: (t) => {
      qc.invalidateQueries({ queryKey: ["tickets"] });
      navigate(`/portal/tickets/${t.id}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section className="max-w-2xl">
      <PageTitle>Open a ticket</PageTitle>
      <form onSubmit={submit} className="card space-y-4">
        <div>
          <label className="label" htmlFor="subject">
            Subject
          </label>
          <input
            id="subject"
            className="input"
            required
            maxLength={200}
            value={subject}
            onChange={(e) => setSubject(e.target.value)}
            placeholder="In a few words, what is wrong?"
          />
        </div>
        <SubjectSuggestions subject={subject} />
        <div>
          <label className="label" htmlFor="description">
            Description
          </label>
          <textarea
            id="description"
            className="input min-h-40"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            placeholder="What happened, what you expected, what you tried."
          />
        </div>
        <ErrorBox error={create.error} />
        <button type="submit" className="btn" disabled={create.isPending}>
          {create.isPending ? "Sending…" : "Open ticket"}
        </button>
      </form>
    </section>
  );
}
