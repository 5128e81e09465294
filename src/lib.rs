//! topk_pg: top-K, heavy-hitter and distinct-count sketches for PostgreSQL.
//!
//! The sketches themselves are the pgrx-free `topk_core` crate; this crate is the thin
//! SQL layer: datum conversion, aggregate state handling and error reporting. Every
//! SQL object is declared in the files under `sql/`, in the order listed below.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

pub mod cms;
pub mod counting;
pub mod fmgr;
pub mod heavy_hitters;
pub mod hll;
pub mod item;
pub mod spacesaving;
pub mod state;

extension_sql_file!("../sql/topk_pg.sql", name = "topk_pg", bootstrap);
extension_sql_file!("../sql/hll.sql", name = "hll", requires = ["topk_pg"]);
extension_sql_file!("../sql/cms.sql", name = "cms", requires = ["hll"]);
extension_sql_file!("../sql/spacesaving.sql", name = "spacesaving", requires = ["cms"]);
extension_sql_file!("../sql/heavy_hitters.sql", name = "heavy_hitters", requires = ["spacesaving"]);
extension_sql_file!("../sql/pipeline.sql", name = "pipeline", finalize);

pg_function!(fn topk_pg_version(fcinfo) {
    let _ = fcinfo;
    let t = pg_sys::cstring_to_text_with_len(topk_core::VERSION.as_ptr() as *const std::ffi::c_char, topk_core::VERSION.len() as i32);
    pg_sys::Datum::from(t)
});

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    include!("tests.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
