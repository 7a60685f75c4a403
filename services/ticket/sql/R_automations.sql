-- The automation rule runner, current definition (a repeatable file:
-- --migrate applies it whenever this text changes; docs/adding-a-daemon.md,
-- "Migrations"; first written in 002_automations.sql). A BEFORE trigger on
-- tickets: on ticket.created (INSERT) and ticket.updated (an UPDATE that
-- changes what a user sees), every active rule of the tenant whose
-- conditions all hold applies its actions to the row, in creation order.
-- A customer's comment that changes the ticket's sentiment (022_sentiment.sql)
-- counts as ticket.updated (docs/architecture.md, "Sentiment"): comments.c
-- writes its history entry and event, so "sentiment lt -3 → priority urgent"
-- escalates the ticket when the customer's reply is angry.
CREATE OR REPLACE FUNCTION ticket.automations_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r record;
	a jsonb;
	ev text := CASE TG_OP WHEN 'INSERT' THEN 'ticket.created' ELSE 'ticket.updated' END;
BEGIN
	-- only user-visible edits count as ticket.updated (not SLA flags, deletes,
	-- first responses); a customer's comment that changes the sentiment does
	IF TG_OP = 'UPDATE' AND (NEW.deleted_at IS NOT NULL OR
	   (NEW.subject, NEW.description, NEW.status, NEW.priority, NEW.category, NEW.tags, NEW.assignee_id,
	    NEW.sentiment)
	   IS NOT DISTINCT FROM
	   (OLD.subject, OLD.description, OLD.status, OLD.priority, OLD.category, OLD.tags, OLD.assignee_id,
	    OLD.sentiment)) THEN
		RETURN NEW;
	END IF;
	FOR r IN SELECT * FROM ticket.automations au WHERE au.tenant_id = NEW.tenant_id
	         AND au.event = ev AND au.active ORDER BY au.created_at, au.id LOOP
		IF (SELECT bool_and(ticket.automation_cond(NEW, c)) FROM jsonb_array_elements(r.conditions) c)
		   IS NOT FALSE THEN
			FOR a IN SELECT * FROM jsonb_array_elements(r.actions) LOOP
				CASE a ->> 'type'
				WHEN 'set_priority' THEN NEW.priority := a ->> 'value';
				WHEN 'set_category' THEN NEW.category := a ->> 'value';
				WHEN 'assign' THEN NEW.assignee_id := (a ->> 'value')::uuid;
				WHEN 'set_status' THEN
					IF ticket.status_move_ok(NEW.status, a ->> 'value') THEN
						NEW.status := a ->> 'value';
						IF NEW.status = 'solved' THEN
							NEW.solved_at := date_trunc('milliseconds', now());
						END IF;
					END IF;
				WHEN 'add_tag' THEN
					IF NOT (a ->> 'value' = ANY (NEW.tags)) AND cardinality(NEW.tags) < 20 THEN
						NEW.tags := NEW.tags || (a ->> 'value');
					END IF;
				WHEN 'notify_webhook' THEN
					INSERT INTO ticket.outbox (tenant_id, type, data)
					VALUES (NEW.tenant_id, 'automation.webhook',
					        json_build_object('automation_id', r.id, 'ticket_id', NEW.id,
					                          'event', ev, 'url', a ->> 'value'));
				ELSE NULL;
				END CASE;
			END LOOP;
		END IF;
	END LOOP;
	RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER automations_apply BEFORE INSERT OR UPDATE ON ticket.tickets
	FOR EACH ROW EXECUTE FUNCTION ticket.automations_apply();
