-- hd-ticket consumes hd-field's work order events (docs/architecture.md,
-- "Event consumers"; libs/include/hd/consumer.h): when a work order linked
-- to a ticket is dispatched or completed, the ticket gets an internal
-- comment and a history entry written by the system. The system has no
-- user id: such a comment has author_id NULL and author_role 'system' (the
-- API shows "author_id": null, docs/openapi.yaml), and its history entry
-- actor_id NULL, like the other automatic changes.
ALTER TABLE ticket.comments ALTER COLUMN author_id DROP NOT NULL;
ALTER TABLE ticket.comments ADD CONSTRAINT comments_author_or_system
	CHECK (author_id IS NOT NULL OR author_role = 'system');

-- The effect of one hd-field event on its ticket, run by the consumer in
-- the event's tenant (row-level security applies) and transaction, right
-- after ticket.consume moved the position. Events of other types, work
-- orders without a ticket, and tickets deleted or closed (closed is final)
-- change nothing: the event still counts as applied.
-- (ticket.apply_field_event: R_field_events.sql, its current definition.)
