-- A closed ticket is final (docs/openapi.yaml, tickets): no comment is added
-- to it any more, whoever writes. The refusal names a constraint so that
-- every daemon's reply table (hd_reply_db_error) turns it into a 422 with the
-- daemon's own words (services/ticket/main.c). A merge closes the source and
-- copies its comments to the target, which is never closed.
CREATE FUNCTION ticket.comment_on_open_ticket() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM ticket.tickets t
	           WHERE t.tenant_id = NEW.tenant_id AND t.id = NEW.ticket_id AND t.status = 'closed') THEN
		RAISE EXCEPTION 'ticket % is closed', NEW.ticket_id
			USING ERRCODE = 'check_violation', CONSTRAINT = 'comments_ticket_not_closed';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER comments_ticket_not_closed BEFORE INSERT ON ticket.comments
	FOR EACH ROW EXECUTE FUNCTION ticket.comment_on_open_ticket();
