// `#[pg_test]`s: the SQL surface, run inside PostgreSQL by `cargo pgrx test`.

use pgrx::prelude::*;

fn one_i64(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql).expect("query failed").expect("NULL result")
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

#[pg_test]
fn hll_text_round_trip() {
    assert_eq!(
        one_i64("SELECT hll_count(hll_agg(g)::text::hll) FROM generate_series(1, 100000) g"),
        one_i64("SELECT hll_count(hll_agg(g)) FROM generate_series(1, 100000) g")
    );
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

#[pg_test(error = "topk capacity must be a constant, the same for every row")]
fn topk_integer_column_is_not_taken_for_a_capacity() {
    Spi::run("SELECT topk_agg(g, g) FROM generate_series(1, 10) g").unwrap();
}
