-- Attachments (docs/architecture.md, "Attachments"): hd-ticket keeps the
-- record of every uploaded file; the bytes live in the storage backend
-- (libs/include/hd/storage.h) under "<tenant>/<id>". An upload starts
-- unattached (visible to its uploader only) and is claimed by one comment
-- (same transaction as the comment) or one work order of hd-field
-- (attachments.claim); unattached rows older than HD_ATTACHMENT_TTL_S are
-- swept with their objects (ticket.attachments_expired, then delete).
CREATE TABLE ticket.attachments (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	filename      text        NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255),
	content_type  text        NOT NULL CHECK (octet_length(content_type) BETWEEN 3 AND 127),
	size          bigint      NOT NULL CHECK (size >= 0),
	sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	uploaded_by   uuid        NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	ticket_id     uuid,
	comment_id    uuid,
	work_order_id uuid,
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT attachments_one_owner CHECK (comment_id IS NULL OR work_order_id IS NULL),
	CONSTRAINT attachments_comment_ticket CHECK ((comment_id IS NULL) = (ticket_id IS NULL))
);
CREATE INDEX attachments_unattached ON ticket.attachments (created_at)
	WHERE comment_id IS NULL AND work_order_id IS NULL;
CREATE INDEX attachments_by_comment ON ticket.attachments (tenant_id, comment_id)
	WHERE comment_id IS NOT NULL;

ALTER TABLE ticket.attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket.attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket.attachments USING (tenant_id = ticket.current_tenant())
	WITH CHECK (tenant_id = ticket.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON ticket.attachments TO hd_app;

-- The sweeper works across tenants (SECURITY DEFINER functions, as the
-- owner: attachments_expired and attachment_forget, now in
-- R_attachments.sql).
CREATE POLICY sweeper ON ticket.attachments TO CURRENT_USER USING (true) WITH CHECK (true);

-- The API's attachment object.
CREATE FUNCTION ticket.attachment_json(a ticket.attachments) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', a.id, 'filename', a.filename, 'content_type', a.content_type,
	                         'size', a.size, 'sha256', a.sha256)
$$;

-- A comment with its attachments ([] when none): what comments.create and
-- comments.list return from now on.
CREATE OR REPLACE FUNCTION ticket.comment_json(c ticket.comments) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', c.id, 'ticket_id', c.ticket_id, 'author_id', c.author_id,
	                         'body', c.body, 'public', c.public, 'created_at', ticket.ts(c.created_at),
	                         'attachments', COALESCE((SELECT json_agg(ticket.attachment_json(a) ORDER BY a.created_at, a.id)
	                                                  FROM ticket.attachments a
	                                                  WHERE a.tenant_id = c.tenant_id AND a.comment_id = c.id), '[]'::json))
$$;

-- ticket.attachments_claim, which comments and work orders claim uploads
-- with: R_attachments.sql (its current definition).
