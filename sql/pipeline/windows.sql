---------------------------------------------------------------------------------------
-- Windows
---------------------------------------------------------------------------------------

-- The granularities, finest first, and what each one's rollup sums.
CREATE VIEW topk.granularities (granularity, level, rolls_up) AS
VALUES ('hour', 1, NULL), ('day', 2, 'hour'), ('week', 3, 'day'), ('month', 4, 'day'), ('year', 5, 'month');
GRANT SELECT ON topk.granularities TO PUBLIC;

-- The start of the window of a granularity that contains t, aligned in the time zone
-- (weeks start on Monday).
CREATE FUNCTION topk.window_start(granularity text, t timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN date_trunc(granularity, t, time_zone);

-- The end of the window that starts at start: the start of the next window, computed
-- the same way, so that every window ends where the next begins, also where clocks jump
-- at midnight (Atlantic/Azores: that day starts at 01:00) or by 30 minutes
-- (Australia/Lord_Howe: hours of 30 and 90 minutes). A day is 22.5 to 25.5 hours long,
-- so 26 hours after its start is in the next day; likewise for the other granularities.
CREATE FUNCTION topk.window_end(granularity text, start timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE granularity
        WHEN 'hour' THEN CASE WHEN date_trunc('hour', start + interval '1 hour', time_zone) > start
                              THEN date_trunc('hour', start + interval '1 hour', time_zone)
                              ELSE date_trunc('hour', start + interval '2 hours', time_zone) END
        WHEN 'day' THEN date_trunc('day', start + interval '26 hours', time_zone)
        WHEN 'week' THEN date_trunc('week', start + interval '192 hours', time_zone)
        WHEN 'month' THEN date_trunc('month', start + interval '768 hours', time_zone)
        WHEN 'year' THEN date_trunc('year', start + interval '8808 hours', time_zone)
    END;

---------------------------------------------------------------------------------------
-- Internal helpers
---------------------------------------------------------------------------------------

-- A pipeline's row (visible only to its owner's roles and superusers).
CREATE FUNCTION topk._pipeline(pipeline_name text) RETURNS topk.pipelines
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p topk.pipelines;
BEGIN
    SELECT * INTO p FROM topk.pipelines WHERE pipelines.name = pipeline_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'topk: there is no pipeline named %', quote_literal(pipeline_name)
            USING ERRCODE = 'undefined_object',
                  HINT = 'topk.pipelines lists the pipelines you own; topk.create_pipeline() creates one.';
    END IF;
    RETURN p;
END $$;

-- The pipeline clock: now(), unless the pipeline's clock setting is set.
CREATE FUNCTION topk._clock(p topk.pipelines) RETURNS timestamptz
    LANGUAGE sql STABLE RETURN coalesce(p.clock, now());

-- Serialises the tasks of one pipeline (transaction scope). A run that finds another
-- one in progress says so and waits for it.
CREATE FUNCTION topk._lock(pipeline_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('topk_pg'), hashtext(pipeline_name)) THEN
        RAISE NOTICE 'topk: pipeline % is busy (another run is in progress); waiting for it',
            quote_literal(pipeline_name);
        PERFORM pg_advisory_xact_lock(hashtext('topk_pg'), hashtext(pipeline_name));
    END IF;
END $$;

-- SQL for the hour bucket of the events of a statement, in two parts so that the
-- per-row work is cheap: `key` (an expression on the event row, grouped by) and `hour`
-- (the bucket's start as timestamptz, computed once per group from `key`). date_bin is
-- plain arithmetic; it aligns hours in the time zone when every UTC offset the zone has
-- had or will have (1970-2050) is the same number of minutes past the hour (true of
-- UTC and most zones, including +05:30); other zones use date_trunc in the zone.
CREATE FUNCTION topk._hour_sql(p topk.pipelines, alias text, OUT key text, OUT hour text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    offsets_agree boolean;
BEGIN
    IF p.time_type = 'timestamp' THEN
        key := format('date_bin(''1 hour'', %s.%I, timestamp ''2000-01-01'')', alias, p.time_column);
        hour := format('(%%s AT TIME ZONE %L)', p.time_zone);
    ELSIF p.time_type = 'date' THEN
        key := format('%s.%I', alias, p.time_column);
        hour := format('(%%s::timestamp AT TIME ZONE %L)', p.time_zone);
    ELSE
        SELECT count(DISTINCT (extract(epoch FROM (t AT TIME ZONE p.time_zone) - (t AT TIME ZONE 'UTC'))::bigint
                               % 3600 + 3600) % 3600) = 1
        INTO offsets_agree
        FROM generate_series(timestamptz '1970-01-01 00:00+00', '2050-01-01 00:00+00', interval '1 month') t;
        IF offsets_agree THEN
            key := format('date_bin(''1 hour'', %s.%I, %L::timestamptz)', alias, p.time_column,
                          timestamp '2000-01-01' AT TIME ZONE p.time_zone);
        ELSE
            key := format('date_trunc(''hour'', %s.%I, %L)', alias, p.time_column, p.time_zone);
        END IF;
        hour := '%s';
    END IF;
END $$;

-- SQL for a moment as a value of the time column's type (for deletes by time).
CREATE FUNCTION topk._time_literal(p topk.pipelines, t timestamptz) RETURNS text
LANGUAGE sql STABLE RETURN CASE p.time_type
    WHEN 'timestamptz' THEN format('%L::timestamptz', t)
    WHEN 'timestamp' THEN format('%L::timestamp', t AT TIME ZONE p.time_zone)
    ELSE format('%L::date', (t AT TIME ZONE p.time_zone)::date)
END;

-- The largest weight of one event (10^12: ten billion in cents), so that no window's
-- sum can overflow bigint. Refunds (negative weights) are rejected too: the batch sums
-- and the speed sketches count what happened, not the net (book refunds as events of
-- their own pipeline).
CREATE FUNCTION topk._max_weight() RETURNS bigint LANGUAGE sql IMMUTABLE RETURN 1000000000000;

-- SQL for the rows of the source a pipeline counts (alias: the source's alias): an item,
-- a finite time and, when weighted, a weight from 0 to topk._max_weight(). The others are
-- rejected: left out of every count, and counted per hour in <name>.rejects (rows
-- without a usable time under -infinity), which topk.pipeline_status sums.
CREATE FUNCTION topk._valid_sql(p topk.pipelines, alias text) RETURNS text
LANGUAGE sql STABLE
RETURN format('%1$s.%2$I IS NOT NULL AND %1$s.%3$I > %4$L AND %1$s.%3$I < %5$L', alias, p.item_column, p.time_column,
              '-infinity', 'infinity')
       || CASE WHEN p.weight_column IS NULL THEN ''
               ELSE format(' AND %1$s.%2$I >= 0 AND %1$s.%2$I <= %3$s', alias, p.weight_column, topk._max_weight()) END;

-- SQL for "the row is at most a day ahead of the pipeline clock": the speed path leaves
-- later rows out until then (the batch reads them when their hour is due).
CREATE FUNCTION topk._horizon_sql(p topk.pipelines, alias text) RETURNS text
LANGUAGE sql STABLE
RETURN format('%s.%I < %s', alias, p.time_column, topk._time_literal(p, topk._clock(p) + interval '1 day'));

-- SQL for "the row's hour is in [lo, hi)" (lo, hi: SQL expressions of hour starts), with a
-- range on the time column itself that an index on it serves.
CREATE FUNCTION topk._range_sql(p topk.pipelines, alias text, lo text, hi text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    bucket record := topk._hour_sql(p, alias);
    hour text := format(bucket.hour, bucket.key);
BEGIN
    IF p.time_type = 'timestamptz' THEN
        RETURN format('%1$s.%2$I >= %3$s AND %1$s.%2$I < %4$s', alias, p.time_column, lo, hi);
    ELSIF p.time_type = 'timestamp' THEN
        RETURN format('%1$s.%2$I >= (%3$s AT TIME ZONE %5$L) - interval ''2 hours'' AND %1$s.%2$I < (%4$s AT TIME ZONE %5$L) + interval ''2 hours'''
                      ' AND %6$s >= %3$s AND %6$s < %4$s', alias, p.time_column, lo, hi, p.time_zone, hour);
    END IF;
    RETURN format('%1$s.%2$I >= (%3$s AT TIME ZONE %5$L)::date - 1 AND %1$s.%2$I <= (%4$s AT TIME ZONE %5$L)::date'
                  ' AND %6$s >= %3$s AND %6$s < %4$s', alias, p.time_column, lo, hi, p.time_zone, hour);
END $$;
