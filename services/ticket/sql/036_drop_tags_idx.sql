-- tickets_tenant_tags_idx (035) serves the tag filter now. A transaction of
-- its own: the drop waits for the running statements on tickets and takes its
-- exclusive lock for a moment, without holding 035's build lock meanwhile.
DROP INDEX IF EXISTS ticket.tickets_tags_idx;
