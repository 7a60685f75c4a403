-- Auto-triage (docs/architecture.md, "Auto-triage"): per tenant, a
-- multinomial naive Bayes text classifier for a ticket's category and its
-- priority, learnt only from what people decided, read from hd-ticket's
-- events by the consumer (hd/consumer.h, source "ticket"). Its state is
-- counts, kept here so that it survives restarts:
--   triage_examples  the latest human decision per ticket and field (label
--                    and the ticket's terms then), so a corrected decision
--                    replaces the old one instead of counting twice;
--   triage_terms     per field, term and label: occurrences in examples;
--   triage_labels    per field and label: examples and their term total;
--   triage_fields    per field: the vocabulary size (distinct terms).
-- Terms are PostgreSQL's English snowball lexemes of subject and description
-- (to_tsvector: lower-cased, stemmed, stop words dropped). The maths of a
-- prediction is C (libs/src/triage.c); knowledge.triage_input gives it the
-- counts it needs. `hd-knowledge --retrain` empties all four tables and the
-- consumer's position, so the model is rebuilt from hd-ticket's events.

CREATE TABLE knowledge.triage_examples (
	tenant_id uuid        NOT NULL,
	field     text        NOT NULL CHECK (field IN ('category', 'priority')),
	ticket_id uuid        NOT NULL,
	label     text        NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
	terms     jsonb       NOT NULL,
	event_id  uuid        NOT NULL,
	learnt_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, field, ticket_id)
);
CREATE TABLE knowledge.triage_terms (
	tenant_id uuid    NOT NULL,
	field     text    NOT NULL,
	term      text    NOT NULL,
	label     text    NOT NULL,
	n         integer NOT NULL CHECK (n >= 0),
	PRIMARY KEY (tenant_id, field, term, label)
);
CREATE TABLE knowledge.triage_labels (
	tenant_id uuid    NOT NULL,
	field     text    NOT NULL,
	label     text    NOT NULL,
	docs      integer NOT NULL CHECK (docs >= 0),
	terms     bigint  NOT NULL CHECK (terms >= 0),
	PRIMARY KEY (tenant_id, field, label)
);
CREATE TABLE knowledge.triage_fields (
	tenant_id uuid    NOT NULL,
	field     text    NOT NULL,
	vocab     integer NOT NULL CHECK (vocab >= 0),
	PRIMARY KEY (tenant_id, field)
);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['triage_examples', 'triage_terms', 'triage_labels', 'triage_fields'] LOOP
		EXECUTE format('ALTER TABLE knowledge.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE knowledge.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON knowledge.%I'
			' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
			' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON knowledge.%I TO hd_app', t);
	END LOOP;
END $$;

-- The terms of a ticket's text: {"lexeme": occurrences}; the first 8000
-- characters (the start of a long description says enough).
CREATE FUNCTION knowledge.triage_terms_of(p_text text) RETURNS jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT coalesce(jsonb_object_agg(v.lexeme, coalesce(cardinality(v.positions), 1)), '{}')
		FROM unnest(to_tsvector('pg_catalog.english', left(coalesce(p_text, ''), 8000))) v $$;

-- Adds (p_sign 1) or removes (-1) one example's terms for p_label.
CREATE FUNCTION knowledge.triage_count(p_field text, p_label text, p_terms jsonb, p_sign integer)
	RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	total bigint := (SELECT coalesce(sum(value::bigint), 0) FROM jsonb_each_text(p_terms));
BEGIN
	IF p_sign > 0 THEN
		INSERT INTO knowledge.triage_terms AS tt (tenant_id, field, term, label, n)
		SELECT knowledge.tenant(), p_field, e.key, p_label, e.value::integer
		FROM jsonb_each_text(p_terms) e
		ON CONFLICT (tenant_id, field, term, label) DO UPDATE SET n = tt.n + excluded.n;
		INSERT INTO knowledge.triage_labels AS l (tenant_id, field, label, docs, terms)
		VALUES (knowledge.tenant(), p_field, p_label, 1, total)
		ON CONFLICT (tenant_id, field, label) DO UPDATE SET docs = l.docs + 1, terms = l.terms + total;
	ELSE
		UPDATE knowledge.triage_terms tt SET n = greatest(tt.n - e.value::integer, 0)
		FROM jsonb_each_text(p_terms) e
		WHERE tt.tenant_id = knowledge.tenant() AND tt.field = p_field AND tt.term = e.key
		  AND tt.label = p_label;
		DELETE FROM knowledge.triage_terms tt WHERE tt.tenant_id = knowledge.tenant()
		  AND tt.field = p_field AND tt.label = p_label AND tt.n = 0;
		UPDATE knowledge.triage_labels l SET docs = greatest(l.docs - 1, 0),
		       terms = greatest(l.terms - total, 0)
		WHERE l.tenant_id = knowledge.tenant() AND l.field = p_field AND l.label = p_label;
		DELETE FROM knowledge.triage_labels l WHERE l.tenant_id = knowledge.tenant()
		  AND l.field = p_field AND l.label = p_label AND l.docs = 0;
	END IF;
END
$$;

-- The vocabulary size of p_field, counted again after a change.
CREATE FUNCTION knowledge.triage_vocab_update(p_field text) RETURNS void
	LANGUAGE sql VOLATILE AS $$
	INSERT INTO knowledge.triage_fields AS f (tenant_id, field, vocab)
	SELECT knowledge.tenant(), p_field, count(DISTINCT tt.term) FROM knowledge.triage_terms tt
	WHERE tt.tenant_id = knowledge.tenant() AND tt.field = p_field
	ON CONFLICT (tenant_id, field) DO UPDATE SET vocab = excluded.vocab
$$;

-- Forgets the example of ticket p_ticket for p_field, if any.
CREATE FUNCTION knowledge.triage_forget(p_field text, p_ticket uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	old knowledge.triage_examples;
BEGIN
	DELETE FROM knowledge.triage_examples e WHERE e.tenant_id = knowledge.tenant()
	  AND e.field = p_field AND e.ticket_id = p_ticket RETURNING * INTO old;
	IF FOUND THEN
		PERFORM knowledge.triage_count(p_field, old.label, old.terms, -1);
		PERFORM knowledge.triage_vocab_update(p_field);
	END IF;
END
$$;

-- Learns that ticket p_ticket with text p_text has p_label for p_field (a
-- person's decision), replacing the ticket's earlier example of that field.
CREATE FUNCTION knowledge.triage_learn(p_field text, p_ticket uuid, p_label text, p_text text,
                                       p_event uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	t jsonb := knowledge.triage_terms_of(p_text);
BEGIN
	PERFORM knowledge.triage_forget(p_field, p_ticket);
	IF p_label IS NULL OR t = '{}' THEN
		RETURN;
	END IF;
	INSERT INTO knowledge.triage_examples (tenant_id, field, ticket_id, label, terms, event_id)
	VALUES (knowledge.tenant(), p_field, p_ticket, left(p_label, 100), t, p_event);
	PERFORM knowledge.triage_count(p_field, left(p_label, 100), t, 1);
	PERFORM knowledge.triage_vocab_update(p_field);
END
$$;

-- The effect of one hd-ticket event (the consumer's statement, in the
-- event's tenant and transaction; hd/consumer.h). What counts as a person's
-- decision (docs/architecture.md, "Auto-triage"):
--   ticket.created by someone for another requester (staff: a customer only
--   opens tickets for itself): its category (when set) and its priority;
--   ticket.updated by a person (actor not null; only staff may PATCH): each
--   of category and priority it changed (a category set to null forgets);
--   ticket.deleted: the ticket's examples are forgotten.
-- The system (actor null: automations, auto_triage, work order events)
-- never teaches, so the classifier never learns from its own predictions.
CREATE FUNCTION knowledge.apply_ticket_event(p_tenant uuid, p_type text, p_data json,
                                             p_event uuid, p_seq bigint, p_actor uuid)
	RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	t     json := CASE p_type WHEN 'ticket.updated' THEN p_data -> 'ticket' ELSE p_data END;
	id    uuid := (t ->> 'id')::uuid;
	words text := concat_ws(E'\n', t ->> 'subject', t ->> 'description');
	f     text;
BEGIN
	IF p_type = 'ticket.deleted' THEN
		PERFORM knowledge.triage_forget('category', id);
		PERFORM knowledge.triage_forget('priority', id);
	ELSIF p_actor IS NULL THEN
		RETURN;
	ELSIF p_type = 'ticket.created' THEN
		IF p_actor IS NOT DISTINCT FROM NULLIF(t ->> 'requester_id', '')::uuid THEN
			RETURN;
		END IF;
		PERFORM knowledge.triage_learn('category', id, t ->> 'category', words, p_event);
		PERFORM knowledge.triage_learn('priority', id, t ->> 'priority', words, p_event);
	ELSIF p_type = 'ticket.updated' THEN
		FOREACH f IN ARRAY ARRAY['category', 'priority'] LOOP
			IF (p_data -> 'changes') ->> f IS NOT NULL THEN
				PERFORM knowledge.triage_learn(f, id, t ->> f, words, p_event);
			END IF;
		END LOOP;
	END IF;
END
$$;

-- What the C classifier needs to predict p_field for p_text (hd/triage.h):
-- {"vocab": distinct terms, "labels": [{"label","docs","terms"}...],
--  "terms": [{"tf": occurrences in p_text, "counts": {label: n}}...]} with
-- only the text's terms the model knows.
CREATE FUNCTION knowledge.triage_field_input(p_field text, p_terms jsonb) RETURNS json
	LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'vocab', coalesce((SELECT f.vocab FROM knowledge.triage_fields f
		                   WHERE f.tenant_id = knowledge.tenant() AND f.field = p_field), 0),
		'labels', coalesce((SELECT json_agg(json_build_object('label', l.label, 'docs', l.docs,
		                                                      'terms', l.terms) ORDER BY l.label)
		                    FROM knowledge.triage_labels l
		                    WHERE l.tenant_id = knowledge.tenant() AND l.field = p_field), '[]'),
		'terms', coalesce((SELECT json_agg(json_build_object('tf', d.tf, 'counts', d.counts))
		                   FROM (SELECT e.value::integer AS tf,
		                                (SELECT json_object_agg(tt.label, tt.n)
		                                 FROM knowledge.triage_terms tt
		                                 WHERE tt.tenant_id = knowledge.tenant()
		                                   AND tt.field = p_field AND tt.term = e.key) AS counts
		                         FROM jsonb_each_text(p_terms) e) d
		                   WHERE d.counts IS NOT NULL), '[]'))
$$;

-- Both fields' inputs for a ticket's text: {"category": ..., "priority": ...}.
CREATE FUNCTION knowledge.triage_input(p_text text) RETURNS json
	LANGUAGE sql STABLE AS $$
	SELECT json_build_object('category', knowledge.triage_field_input('category', t),
	                         'priority', knowledge.triage_field_input('priority', t))
	FROM (SELECT knowledge.triage_terms_of(p_text) AS t) x
$$;

-- `hd-knowledge --retrain` (run as the owner, every tenant): forgets the
-- whole model and the consumer's position in hd-ticket's events, so the
-- consumer rebuilds the model from them all on its next start.
CREATE FUNCTION knowledge.triage_reset() RETURNS void
	LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	TRUNCATE knowledge.triage_examples, knowledge.triage_terms, knowledge.triage_labels,
	         knowledge.triage_fields;
	DELETE FROM knowledge.consumed WHERE source = 'ticket';
END
$$;
REVOKE ALL ON FUNCTION knowledge.triage_reset() FROM PUBLIC;
