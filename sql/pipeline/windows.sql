---------------------------------------------------------------------------------------
-- Windows
---------------------------------------------------------------------------------------

-- The granularities, finest first, and what each one's rollup sums.
CREATE VIEW topk.granularities (granularity, level, rolls_up) AS
VALUES ('hour', 1, NULL), ('day', 2, 'hour'), ('week', 3, 'day'), ('month', 4, 'day'), ('year', 5, 'month');
GRANT SELECT ON topk.granularities TO PUBLIC;

-- A zone's UTC offset at t.
CREATE FUNCTION topk._offset(t timestamptz, time_zone text) RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (t AT TIME ZONE time_zone) - (t AT TIME ZONE 'UTC');

-- c, if it is a moment at or before t on the zone's wall clock in window `local` (the
-- window's start on the wall clock); else NULL.
CREATE FUNCTION topk._start_if(granularity text, c timestamptz, t timestamptz, local timestamp, time_zone text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN c <= t AND date_trunc(granularity, c AT TIME ZONE time_zone) = local THEN c END;

-- The start of the hour that contains t: the wall clock's hour in the offset of t, or,
-- where the offset changed within it (Australia/Lord_Howe moves by 30 minutes), the
-- moment of the change. Hours are at most 60 minutes long, and where offsets differ by
-- whole hours they are the UTC hours (date_bin).
CREATE FUNCTION topk._hour_start(t timestamptz, time_zone text) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT CASE WHEN topk._offset(c, time_zone) = topk._offset(t, time_zone) THEN c
                        ELSE (SELECT min(x) FROM generate_series(date_bin('15 minutes', t, timestamptz '2000-01-01 00:00+00')
                                                                 - interval '45 minutes',
                                                                 t, interval '15 minutes') x
                              WHERE x > c AND topk._offset(x, time_zone) = topk._offset(t, time_zone)) END
            FROM (SELECT t - ((t AT TIME ZONE time_zone) - date_trunc('hour', t AT TIME ZONE time_zone)) AS c) h);

-- The start of the window of a granularity that contains t, aligned on the zone's wall
-- clock (weeks start on Monday). Days and longer: the first moment whose wall-clock day
-- (week, …) is t's, also where midnight comes twice (Atlantic/Azores in October: the
-- first one) or not at all (Atlantic/Azores in March: the day starts at 01:00).
CREATE FUNCTION topk.window_start(granularity text, t timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN granularity = 'hour' THEN topk._hour_start(t, time_zone)
           ELSE (SELECT coalesce(least(topk._start_if(granularity, date_trunc(granularity, t, time_zone), t, local, time_zone),
                                       topk._start_if(granularity, c, t, local, time_zone),
                                       topk._start_if(granularity, (local - topk._offset(c - interval '3 hours', time_zone))
                                                                   AT TIME ZONE 'UTC', t, local, time_zone)),
                                 date_trunc(granularity, t, time_zone))
                 FROM (SELECT local, (local - topk._offset(t, time_zone)) AT TIME ZONE 'UTC' AS c
                       FROM (SELECT date_trunc(granularity, t AT TIME ZONE time_zone) AS local) l) w)
           END;

-- The end of the window that starts at start: the start of the next window, so that
-- every window ends where the next begins. An hour is 30 to 60 minutes long, a day 22.5
-- to 25.5 hours: a moment that far on is in the next window.
CREATE FUNCTION topk.window_end(granularity text, start timestamptz, time_zone text DEFAULT 'UTC')
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    RETURN topk.window_start(granularity, start + CASE granularity
        WHEN 'hour' THEN interval '1 hour'
        WHEN 'day' THEN interval '26 hours'
        WHEN 'week' THEN interval '192 hours'
        WHEN 'month' THEN interval '768 hours'
        WHEN 'year' THEN interval '8808 hours'
    END, time_zone);

-- The windows of a granularity that contain some moments (their starts, each once): one
-- topk.window_start per window, not per moment (a day, week, month or year is known by
-- its wall-clock date; hours are not, where clocks go back).
CREATE FUNCTION topk._windows_of(granularity text, moments timestamptz[], time_zone text) RETURNS timestamptz[]
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT array_agg(DISTINCT topk.window_start(granularity, t, time_zone) ORDER BY topk.window_start(granularity, t, time_zone))
            FROM (SELECT min(m) AS t FROM unnest(moments) m
                  GROUP BY CASE WHEN granularity = 'hour' THEN m
                                ELSE date_trunc(granularity, m AT TIME ZONE time_zone) AT TIME ZONE 'UTC' END) p);

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
-- (the bucket's start as timestamptz, computed once per group from `key`); `hour_end`, the
-- end of an hour from its start. date_bin is plain arithmetic; it aligns hours in the
-- time zone when every UTC offset the zone has had or will have (1970-2050) is the same
-- number of minutes past the hour (true of UTC and most zones, including +05:30: then
-- `uniform`, every hour is 60 minutes long); other zones use topk._hour_start.
CREATE FUNCTION topk._hour_sql(p topk.pipelines, alias text, OUT key text, OUT hour text, OUT hour_end text,
                               OUT uniform boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    offsets_agree boolean;
BEGIN
    SELECT count(DISTINCT (extract(epoch FROM (t AT TIME ZONE p.time_zone) - (t AT TIME ZONE 'UTC'))::bigint
                           % 3600 + 3600) % 3600) = 1
    INTO offsets_agree
    FROM generate_series(timestamptz '1970-01-01 00:00+00', '2050-01-01 00:00+00', interval '1 month') t;
    -- (the end of the hour that starts at %s: an hour later, where hours are UTC hours)
    uniform := offsets_agree;
    hour_end := CASE WHEN offsets_agree THEN '(%s + interval ''1 hour'')'
                     ELSE format('topk.window_end(''hour'', %%s, %L)', p.time_zone) END;
    IF p.time_type = 'timestamp' THEN
        key := format('date_bin(''1 hour'', %s.%I, timestamp ''2000-01-01'')', alias, p.time_column);
        hour := format('(%%s AT TIME ZONE %L)', p.time_zone);
    ELSIF p.time_type = 'date' THEN
        key := format('%s.%I', alias, p.time_column);
        hour := format('(%%s::timestamp AT TIME ZONE %L)', p.time_zone);
    ELSE
        IF offsets_agree THEN
            key := format('date_bin(''1 hour'', %s.%I, %L::timestamptz)', alias, p.time_column,
                          timestamp '2000-01-01' AT TIME ZONE p.time_zone);
        ELSE
            key := format('topk._hour_start(%s.%I, %L)', alias, p.time_column, p.time_zone);
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

-- SQL for "the row's moment is in [lo, hi)" (lo, hi: SQL expressions of any moments; a
-- timestamp is a moment in the pipeline's zone, a date its midnight there), with a range
-- on the time column itself that an index on it serves.
CREATE FUNCTION topk._within_sql(p topk.pipelines, alias text, lo text, hi text) RETURNS text
LANGUAGE sql STABLE RETURN CASE p.time_type
    WHEN 'timestamptz' THEN format('%1$s.%2$I >= %3$s AND %1$s.%2$I < %4$s', alias, p.time_column, lo, hi)
    WHEN 'timestamp' THEN format('%1$s.%2$I >= (%3$s AT TIME ZONE %5$L) - interval ''2 hours'' AND %1$s.%2$I < (%4$s AT TIME ZONE %5$L) + interval ''2 hours'''
                                 ' AND (%1$s.%2$I AT TIME ZONE %5$L) >= %3$s AND (%1$s.%2$I AT TIME ZONE %5$L) < %4$s',
                                 alias, p.time_column, lo, hi, p.time_zone)
    ELSE format('%1$s.%2$I >= (%3$s AT TIME ZONE %5$L)::date - 1 AND %1$s.%2$I <= (%4$s AT TIME ZONE %5$L)::date'
                ' AND (%1$s.%2$I::timestamp AT TIME ZONE %5$L) >= %3$s AND (%1$s.%2$I::timestamp AT TIME ZONE %5$L) < %4$s',
                alias, p.time_column, lo, hi, p.time_zone)
END;
