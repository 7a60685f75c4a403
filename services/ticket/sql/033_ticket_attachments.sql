-- Files of a ticket's first message (docs/architecture.md, "Attachments"):
-- tickets.create takes attachment_ids like a comment, and they hang on the
-- ticket itself (its description): ticket_id set, comment_id NULL. An
-- upload is unattached while it has neither a ticket nor a work order
-- (the sweeper's and attachments_claim's test, R_attachments.sql).
ALTER TABLE ticket.attachments DROP CONSTRAINT attachments_comment_ticket;
ALTER TABLE ticket.attachments DROP CONSTRAINT attachments_one_owner;
ALTER TABLE ticket.attachments
	ADD CONSTRAINT attachments_comment_ticket CHECK (comment_id IS NULL OR ticket_id IS NOT NULL),
	ADD CONSTRAINT attachments_one_owner CHECK (ticket_id IS NULL OR work_order_id IS NULL);
DROP INDEX ticket.attachments_unattached;
CREATE INDEX attachments_unattached ON ticket.attachments (created_at)
	WHERE ticket_id IS NULL AND work_order_id IS NULL;
-- GET /v1/tickets/{id}/attachments: a ticket's files in upload order.
CREATE INDEX attachments_by_ticket ON ticket.attachments (tenant_id, ticket_id, created_at, id)
	WHERE ticket_id IS NOT NULL;
