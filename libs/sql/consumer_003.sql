-- A run of consecutive events applied in one transaction by a consumer
-- without batch_sql (libs/src/consumer.c, "live runs"; hd/consumer.h): the
-- position moves from p_first - 1 to p_last in one write, or SQLSTATE HDC01
-- is raised when p_first is not the next event (applied already, or a gap),
-- as consume() does for one event. The consumer then runs each event's
-- effect, in seq order, in the event's tenant, in the same transaction: the
-- effects commit with the position or not at all.
CREATE OR REPLACE FUNCTION :"schema".consume_run(p_source text, p_first bigint, p_last bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
	INSERT INTO :"schema".consumed AS c (source, last_seq) VALUES (p_source, 0)
		ON CONFLICT (source) DO NOTHING;
	UPDATE :"schema".consumed c SET last_seq = p_last
		WHERE c.source = p_source AND c.last_seq = p_first - 1 AND p_last >= p_first;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'events % to % of % are not the next ones to apply', p_first, p_last,
			p_source USING ERRCODE = 'HDC01';
	END IF;
END
$f$;
