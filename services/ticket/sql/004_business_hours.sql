-- SLA clocks in business hours: a policy may carry
-- {"timezone":"Europe/Paris","days":{"mon":[["09:00","17:00"]],...}} (windows
-- sorted and disjoint, validated by the daemon); due times then count only
-- minutes inside those windows. Without business hours they are wall-clock.
ALTER TABLE ticket.sla_policies ADD CONSTRAINT sla_policies_timezone_check CHECK (
	business_hours IS NULL
	OR ('2000-01-01 00:00:00+00'::timestamptz AT TIME ZONE (business_hours ->> 'timezone')) IS NOT NULL);

-- start + minutes of business time (NULL when no window is found within a year).
CREATE FUNCTION ticket.business_add(start timestamptz, minutes integer, bh jsonb)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
	tz text := bh ->> 'timezone';
	d date := (start AT TIME ZONE tz)::date;
	left_s double precision := minutes * 60.0;
	w jsonb;
	ws timestamptz;
	we timestamptz;
BEGIN
	FOR i IN 0..370 LOOP
		FOR w IN SELECT * FROM jsonb_array_elements(COALESCE(bh -> 'days' ->
			(ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])[extract(dow FROM d)::int + 1],
			'[]'::jsonb)) LOOP
			ws := (d + (w ->> 0)::time) AT TIME ZONE tz;
			we := (d + (w ->> 1)::time) AT TIME ZONE tz;
			IF we > start THEN
				IF ws < start THEN
					ws := start;
				END IF;
				IF extract(epoch FROM we - ws) >= left_s THEN
					RETURN date_trunc('milliseconds', ws + make_interval(secs => left_s));
				END IF;
				left_s := left_s - extract(epoch FROM we - ws);
			END IF;
		END LOOP;
		d := d + 1;
	END LOOP;
	RETURN NULL;
END
$$;

-- The due time of a target of minutes from start under business hours bh (may be NULL).
CREATE FUNCTION ticket.sla_due(start timestamptz, minutes integer, bh jsonb)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN minutes IS NULL THEN NULL
	            WHEN bh IS NULL THEN start + make_interval(mins => minutes)
	            ELSE ticket.business_add(start, minutes, bh) END
$$;
