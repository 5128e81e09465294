// `#[pg_test]`s: the SQL surface, run inside PostgreSQL by `cargo pgrx test`.

use pgrx::prelude::*;

fn one_i64(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql).expect("query failed").expect("NULL result")
}

/// Every C function is declared in sql/*.sql exactly as its Rust side records
/// (`pg_function!`'s `sql[...]`: argument types, result, OUT columns, strictness, each
/// overload), and every recorded function is declared (src/signatures.rs).
#[pg_test]
fn sql_declarations_match_rust() {
    let m = crate::signatures::mismatches();
    assert!(m.is_empty(), "{} mismatches:\n{}", m.len(), m.join("\n"));
}

#[pg_test]
fn version_is_the_crate_version() {
    let v = Spi::get_one::<String>("SELECT topk_pg_version()").unwrap().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

#[pg_test]
fn hll_counts_small_sets_exactly() {
    assert_eq!(one_i64("SELECT hll_count(hll_agg(g)) FROM generate_series(1, 1000) g"), 1000);
    assert_eq!(one_i64("SELECT hll_count(hll_agg(g::text)) FROM generate_series(1, 500) g, generate_series(1,3)"), 500);
}

#[pg_test]
fn hll_no_rows_gives_null_and_nulls_are_ignored() {
    assert_eq!(Spi::get_one::<i64>("SELECT hll_count(hll_agg(g)) FROM generate_series(1, 0) g").unwrap(), None);
    assert_eq!(one_i64("SELECT hll_count(hll_agg(NULLIF(g, 3))) FROM generate_series(1, 5) g"), 4);
}

#[pg_test]
fn hll_int4_and_int8_are_the_same_item() {
    assert_eq!(
        one_i64("SELECT hll_count(hll_merge(hll_agg(g::int4), hll_agg(g::int8))) FROM generate_series(1, 100) g"),
        100
    );
}

/// Text and binary round trips give back the very bytes, for every sketch type, sparse
/// and dense.
#[pg_test]
fn round_trips_are_byte_for_byte() {
    for (t, send, agg) in [
        ("topk_hll", "topk_hll_send", "hll_agg(g)"),
        ("topk_hll", "topk_hll_send", "hll_agg(g % 10)"),
        ("cms", "cms_send", "cms_agg(g % 1000)"),
        ("spacesaving", "topk_send", "topk_agg(g % 5000, 1000)::spacesaving"),
        ("spacesaving", "topk_send", "topk_agg((g % 50)::text)::spacesaving"),
        ("heavy_hitters", "heavy_hitters_send", "heavy_hitters_agg(g % 5000)::heavy_hitters"),
    ] {
        let sql = format!(
            "SELECT {send}(s) = {send}(s::text::{t}) AND s::text = s::text::{t}::text
             FROM (SELECT {agg} AS s FROM generate_series(1, 100000) g) x"
        );
        assert_eq!(Spi::get_one::<bool>(&sql).unwrap(), Some(true), "{agg}");
    }
}

#[pg_test(error = "hll precision 3 is out of range")]
fn hll_bad_precision_errors() {
    Spi::run("SELECT hll_agg(g, 3) FROM generate_series(1, 10) g").unwrap();
}

#[pg_test]
fn cms_estimates_never_under_count() {
    assert_eq!(
        one_i64(
            "WITH s AS (SELECT cms_agg(g % 100) AS c FROM generate_series(1, 10000) g)
             SELECT count(*) FROM s, generate_series(0, 99) v WHERE cms_estimate(c, v) < 100"
        ),
        0
    );
    assert_eq!(one_i64("SELECT cms_total(cms_agg(g, 3::bigint)) FROM generate_series(1, 10) g"), 30);
}

#[pg_test(error = "weight -2 is negative")]
fn cms_negative_weight_errors() {
    Spi::run("SELECT cms_agg(g, -2::bigint) FROM generate_series(1, 10) g").unwrap();
}

#[pg_test]
fn topk_items_come_back_typed() {
    let top = Spi::get_one::<i64>(
        "SELECT item FROM topk_items((SELECT topk_agg((CASE WHEN g % 3 = 0 THEN 7 ELSE g END)::bigint)
                                     FROM generate_series(1, 1000) g), 1)",
    );
    assert_eq!(top.unwrap(), Some(7));
    let t = Spi::get_one::<String>("SELECT item FROM topk_items((SELECT topk_agg('x'::text)), 1)").unwrap();
    assert_eq!(t.as_deref(), Some("x"));
}

#[pg_test(error = "topk capacity must be the same for every row, not taken from a column")]
fn topk_integer_column_is_not_taken_for_a_capacity() {
    Spi::run("SELECT topk_agg(g, g) FROM generate_series(1, 10) g").unwrap();
}

/// The batch path's exact counts (`topk._tally`, `topk._tally_parts`, `topk._tally_arrays`)
/// against GROUP BY: the same items, counts and events, in the same order (count
/// descending, ties by item in the collation of the call).
fn tally_matches_group_by(item_sql: &str, item_type: &str, order: &str) {
    let sql = format!(
        "WITH e AS (SELECT g, {item_sql} AS item, (g % 4)::bigint AS w FROM generate_series(1, 5000) g),
         t AS (SELECT a.* FROM (SELECT topk._tally(item, w) AS t FROM e) s,
                               LATERAL topk._tally_arrays(s.t, NULL::{item_type} {order}) a),
         parts AS (SELECT a.* FROM (SELECT g % 3 AS part, topk._tally(item, w) AS t FROM e GROUP BY 1) s,
                                   LATERAL topk._tally_arrays(s.t, NULL::{item_type}) a),
         merged AS (SELECT a.* FROM (SELECT topk._tally_parts(items, counts, events) AS t FROM parts) s,
                                    LATERAL topk._tally_arrays(s.t, NULL::{item_type} {order}) a),
         x AS (SELECT array_agg(item ORDER BY c DESC, item {order}) AS items, array_agg(c ORDER BY c DESC, item {order}) AS counts,
                      array_agg(n ORDER BY c DESC, item {order}) AS events
               FROM (SELECT item, sum(w)::bigint AS c, count(*) AS n FROM e GROUP BY item) g)
         SELECT t.items = x.items AND t.counts = x.counts AND t.events = x.events
                AND m.items = x.items AND m.counts = x.counts AND m.events = x.events
         FROM t, merged m, x"
    );
    assert_eq!(Spi::get_one::<bool>(&sql).unwrap(), Some(true), "{item_type} {order}");
}

#[pg_test]
fn tally_is_group_by() {
    tally_matches_group_by("(g * 7919 % 50)::int", "int", "");
    tally_matches_group_by("(g * 7919 % 50)::bigint - 25", "bigint", "");
    tally_matches_group_by("(ARRAY['a', 'B', 'b', '_', 'é', 'E', ''])[g % 7 + 1] || (g % 3)::text", "text", "");
    tally_matches_group_by("(ARRAY['a', 'B', 'b', '_', 'é', 'E', ''])[g % 7 + 1] || (g % 3)::text", "text", "COLLATE \"C\"");
    tally_matches_group_by("(ARRAY['a', 'B', 'b', '_', 'é', 'E', ''])[g % 7 + 1] || (g % 3)::text", "text", "COLLATE \"und-x-icu\"");
    tally_matches_group_by("((g % 11)::text || 'x')::varchar", "varchar", "");
    tally_matches_group_by("md5((g % 40)::text)::uuid", "uuid", "");
}

#[pg_test]
fn tally_of_nothing_is_null_and_parts_without_events_count_them() {
    assert_eq!(Spi::get_one::<bool>("SELECT topk._tally(g, 1) IS NULL FROM generate_series(1, 0) g").unwrap(), Some(true));
    let r = Spi::get_one::<String>(
        "SELECT format('%s %s %s', a.items, a.counts, a.events)
         FROM topk._tally_arrays((SELECT topk._tally_parts(i, c, NULL) FROM (VALUES (ARRAY['x', 'y'], ARRAY[2, 5]::bigint[]),
                                                                          (ARRAY['y'], ARRAY[1]::bigint[])) v(i, c)),
                                 NULL::text) a",
    );
    assert_eq!(r.unwrap().as_deref(), Some("{y,x} {6,2} {6,2}"));
}

#[pg_test(error = "items, counts and events must have the same length")]
fn tally_parts_of_unequal_arrays_is_an_error() {
    Spi::run("SELECT topk._tally_parts(ARRAY[1, 2], ARRAY[1]::bigint[], NULL)").unwrap();
}
