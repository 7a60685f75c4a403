-- Files on a work order (docs/architecture.md, "Attachments"): hd-ticket
-- owns the uploads (ticket.attachments); a work order records the ids it
-- claimed there (attachments.claim, before its own change): the files of
-- its create or later PATCHes (attachment_ids) and the customer's signature
-- image of the sign-off (signature_attachment_id, with status completed).
ALTER TABLE field.work_orders
	ADD COLUMN attachment_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(attachment_ids) <= 50),
	ADD COLUMN signature_attachment_id uuid;

-- work_order_json, which shows both, is in R_work_orders.sql.
