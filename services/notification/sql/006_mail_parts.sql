-- The files of a taken message (docs/architecture.md, "Mail in"): written
-- with the message in the poll's transaction (inbox.c, after mail_taken),
-- uploaded to hd-ticket as the sender when the message is applied (each
-- under an Idempotency-Key of the message's row and the part's number, so
-- a restart repeats no upload), and deleted once the message is applied,
-- ignored or failed. n counts from 1 in the message's MIME order.
CREATE TABLE notification.inbound_parts (
	tenant_id    uuid    NOT NULL,
	mail_id      uuid    NOT NULL,
	n            integer NOT NULL CHECK (n BETWEEN 1 AND 100),
	filename     text    NOT NULL,
	content_type text    NOT NULL,
	data         bytea   NOT NULL,
	PRIMARY KEY (tenant_id, mail_id, n),
	FOREIGN KEY (tenant_id, mail_id) REFERENCES notification.inbound_mails ON DELETE CASCADE
);
ALTER TABLE notification.inbound_parts ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification.inbound_parts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification.inbound_parts
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON notification.inbound_parts TO hd_app;
