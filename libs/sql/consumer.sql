-- The positions of a daemon's event consumers (libs/src/consumer.c,
-- hd/consumer.h): one row per source daemon with the last event "seq" this
-- schema applied. hd_db_migrate_ex applies it for the schema like
-- outbox.sql (:"schema" is the schema quoted as an identifier). Not a tenant
-- table: a source numbers its events across tenants, so the position is the
-- source's, and holds no tenant data.
CREATE TABLE IF NOT EXISTS :"schema".consumed (
	source   text   PRIMARY KEY CHECK (source ~ '^[a-z_]{1,63}$'),
	last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
GRANT SELECT, INSERT, UPDATE ON :"schema".consumed TO hd_app;

-- Moves the source's position from p_seq - 1 to p_seq, or raises SQLSTATE
-- HDC01 when p_seq is not the next event (applied already, or a gap). The
-- consumer runs it first in the transaction of the event's effect: the
-- effect commits with the position or not at all, and the row lock orders
-- replicas consuming the same source (the loser raises, nothing doubled).
CREATE OR REPLACE FUNCTION :"schema".consume(p_source text, p_seq bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
	INSERT INTO :"schema".consumed AS c (source, last_seq) VALUES (p_source, 0)
		ON CONFLICT (source) DO NOTHING;
	UPDATE :"schema".consumed c SET last_seq = p_seq
		WHERE c.source = p_source AND c.last_seq = p_seq - 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'event % of % is not the next one to apply', p_seq, p_source
			USING ERRCODE = 'HDC01';
	END IF;
END
$f$;
