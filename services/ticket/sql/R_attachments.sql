-- The attachment functions, current definitions (a repeatable file:
-- --migrate applies it whenever this text changes; docs/adding-a-daemon.md,
-- "Migrations"). First written in 031_attachments.sql; since 033 an upload
-- may hang on a ticket's description (ticket_id without comment_id), so
-- "unattached" is: no ticket and no work order.

-- The sweeper works across tenants (SECURITY DEFINER, as the owner, whom
-- the sweeper policy of 031 lets see every row): up to lim unattached
-- uploads older than ttl_s seconds, oldest first.
CREATE OR REPLACE FUNCTION ticket.attachments_expired(ttl_s integer, lim integer)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.tenant_id, a.id FROM ticket.attachments a
	WHERE a.ticket_id IS NULL AND a.work_order_id IS NULL
	  AND a.created_at < now() - make_interval(secs => ttl_s)
	ORDER BY a.created_at LIMIT lim
$$;
-- Deletes one swept upload once its object is gone, unless it was claimed
-- meanwhile (then the object must stay: the caller checks the result).
CREATE OR REPLACE FUNCTION ticket.attachment_forget(p_tenant uuid, p_id uuid) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH d AS (DELETE FROM ticket.attachments a WHERE a.tenant_id = p_tenant AND a.id = p_id
	           AND a.ticket_id IS NULL AND a.work_order_id IS NULL RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM d)
$$;
REVOKE ALL ON FUNCTION ticket.attachments_expired(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.attachments_expired(integer, integer) TO hd_app;
REVOKE ALL ON FUNCTION ticket.attachment_forget(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.attachment_forget(uuid, uuid) TO hd_app;

-- Claims the caller's unattached uploads p_ids for one owner: a ticket's
-- description (p_ticket, p_comment NULL), one of its comments (p_ticket,
-- p_comment) or a work order (p_work_order alone). Each must be in the
-- tenant, uploaded by p_caller and unattached, or already this owner's (a
-- retry), and an image when p_images_only (a work order's signature).
-- Returns their objects as a JSON array; raises attachments_claimable (422,
-- nothing changed: the caller's statement fails whole) when one is not.
CREATE OR REPLACE FUNCTION ticket.attachments_claim(p_tenant uuid, p_caller uuid, p_ids uuid[],
                                                    p_ticket uuid, p_comment uuid,
                                                    p_work_order uuid,
                                                    p_images_only boolean) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n integer;
	j json;
BEGIN
	IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
		RETURN '[]'::json;
	END IF;
	IF (p_ticket IS NULL) = (p_work_order IS NULL) OR (p_comment IS NOT NULL AND p_ticket IS NULL) THEN
		RAISE EXCEPTION 'attachments_claim: one owner' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	WITH u AS (
		UPDATE ticket.attachments a SET ticket_id = p_ticket, comment_id = p_comment,
		                                work_order_id = p_work_order
		WHERE a.tenant_id = p_tenant AND a.id = ANY (p_ids)
		  AND (NOT p_images_only OR a.content_type LIKE 'image/%')
		  AND ((a.ticket_id IS NULL AND a.work_order_id IS NULL AND a.uploaded_by = p_caller)
		       OR (a.ticket_id IS NOT DISTINCT FROM p_ticket
		           AND a.comment_id IS NOT DISTINCT FROM p_comment
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
