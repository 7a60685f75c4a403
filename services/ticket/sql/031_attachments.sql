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

-- The sweeper works across tenants (SECURITY DEFINER, as the owner): up to
-- lim unattached uploads older than ttl_s seconds, oldest first.
CREATE POLICY sweeper ON ticket.attachments TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE FUNCTION ticket.attachments_expired(ttl_s integer, lim integer)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.tenant_id, a.id FROM ticket.attachments a
	WHERE a.comment_id IS NULL AND a.work_order_id IS NULL
	  AND a.created_at < now() - make_interval(secs => ttl_s)
	ORDER BY a.created_at LIMIT lim
$$;
-- Deletes one swept upload once its object is gone, unless it was claimed
-- meanwhile (then the object must stay: the caller checks the result).
CREATE FUNCTION ticket.attachment_forget(p_tenant uuid, p_id uuid) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH d AS (DELETE FROM ticket.attachments a WHERE a.tenant_id = p_tenant AND a.id = p_id
	           AND a.comment_id IS NULL AND a.work_order_id IS NULL RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d)
$$;
REVOKE ALL ON FUNCTION ticket.attachments_expired(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.attachments_expired(integer, integer) TO hd_app;
REVOKE ALL ON FUNCTION ticket.attachment_forget(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.attachment_forget(uuid, uuid) TO hd_app;

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

-- Claims the caller's unattached uploads p_ids for one comment (p_ticket,
-- p_comment) or one work order (p_work_order): each must be in the tenant,
-- uploaded by p_caller and unattached, or already this owner's (a retry),
-- and an image when p_images_only (a work order's signature).
-- Returns their objects as a JSON array; raises attachments_claimable (422,
-- nothing changed: the caller's statement fails whole) when one is not.
CREATE FUNCTION ticket.attachments_claim(p_tenant uuid, p_caller uuid, p_ids uuid[], p_ticket uuid,
                                         p_comment uuid, p_work_order uuid,
                                         p_images_only boolean) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n integer;
	j json;
BEGIN
	IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
		RETURN '[]'::json;
	END IF;
	IF (p_comment IS NULL) = (p_work_order IS NULL) THEN
		RAISE EXCEPTION 'attachments_claim: one owner' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	WITH u AS (
		UPDATE ticket.attachments a SET ticket_id = p_ticket, comment_id = p_comment,
		                                work_order_id = p_work_order
		WHERE a.tenant_id = p_tenant AND a.id = ANY (p_ids)
		  AND (NOT p_images_only OR a.content_type LIKE 'image/%')
		  AND ((a.comment_id IS NULL AND a.work_order_id IS NULL AND a.uploaded_by = p_caller)
		       OR (a.comment_id IS NOT DISTINCT FROM p_comment
		           AND a.work_order_id IS NOT DISTINCT FROM p_work_order))
		RETURNING ticket.attachment_json(a) AS j, a.created_at, a.id)
	SELECT count(*), json_agg(u.j ORDER BY u.created_at, u.id) INTO n, j FROM u;
	IF n < (SELECT count(DISTINCT x) FROM unnest(p_ids) x) THEN
		RAISE EXCEPTION 'an attachment is not one of your unattached uploads%', CASE WHEN p_images_only THEN ' (or not an image)' ELSE '' END
			USING ERRCODE = 'check_violation', CONSTRAINT = 'attachments_claimable';
	END IF;
	RETURN j;
END
$$;
