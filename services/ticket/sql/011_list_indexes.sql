-- Lists at scale (issue 18, docs/benchmarks.md "At scale"): the filtered list
-- runs with custom plans (services/ticket/ticket_list.c), and these indexes
-- give status and priority the sort order, so a page of a status, a priority or
-- both is one index range scan that stops at the page, whether the value is in
-- most tickets or in none (before: a walk of the tenant's whole
-- (tenant_id, created_at) index, 0.25-0.89 s at 1,000,000 tickets). Ascending
-- lists read them backwards. assignee_id and requester_id have theirs since
-- 001; tags and search keep their GIN indexes, which the custom plans use when
-- the value is rare.
CREATE INDEX tickets_status_created_idx ON ticket.tickets (tenant_id, status, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_status_updated_idx ON ticket.tickets (tenant_id, status, updated_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_priority_created_idx ON ticket.tickets (tenant_id, priority, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_status_priority_idx
	ON ticket.tickets (tenant_id, status, priority, created_at DESC, id DESC) WHERE deleted_at IS NULL;
