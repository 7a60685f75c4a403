-- Idempotency-Key replies are scoped to the tenant, the caller and the route
-- now, in the one shape every daemon shares (libs/sql/idempotency.sql,
-- applied after this file as hd_idempotency_001). The old table goes: its
-- rows name no caller and no route, so none of them could ever be replayed
-- to the right caller again (a retry after the upgrade creates anew).
DROP TABLE ticket.idempotency_keys;
