-- auto_triage is an action of ticket.created rules only (docs/architecture.md,
-- "Auto-triage"): it classifies a ticket as it arrives, and its PATCH with
-- If-Match: 1 could never apply to a ticket that has been updated. A
-- ticket.updated rule that names it is refused (422) instead of kept and
-- ignored. NOT VALID: a rule stored before this check stays as it was
-- (the action does nothing there) until it is next changed.
ALTER TABLE ticket.automations ADD CONSTRAINT automations_auto_triage_on_create
	CHECK (event = 'ticket.created' OR NOT actions @> '[{"type": "auto_triage"}]') NOT VALID;
