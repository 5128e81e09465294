//! topk_pg: top-K, heavy-hitter and distinct-count sketches for PostgreSQL.
//!
//! The sketches themselves are the pgrx-free `topk_core` crate; this crate is the thin
//! SQL layer: datum conversion, aggregate state handling and error reporting. Every
//! SQL object is declared in the files under `sql/`, in the order listed below.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

pub mod alloc;
pub mod cache;
pub mod capture;
pub mod cms;
pub mod counting;
pub mod fmgr;
pub mod heavy_hitters;
pub mod hll;
pub mod item;
pub mod lists;
pub mod spacesaving;
pub mod state;
pub mod tally;
pub mod tasks;
#[cfg(any(test, feature = "pg_test"))]
pub mod signatures;

extension_sql_file!("../sql/topk_pg.sql", name = "topk_pg", bootstrap);
extension_sql_file!("../sql/hll.sql", name = "hll", requires = ["topk_pg"]);
extension_sql_file!("../sql/cms.sql", name = "cms", requires = ["hll"]);
extension_sql_file!("../sql/spacesaving.sql", name = "spacesaving", requires = ["cms"]);
extension_sql_file!("../sql/heavy_hitters.sql", name = "heavy_hitters", requires = ["spacesaving"]);
// The build aggregates declared on concrete item types (Citus pushes only those down).
extension_sql_file!("../sql/typed.sql", name = "typed", requires = ["heavy_hitters"]);
// The pipeline (schema topk), one file per concern.
extension_sql_file!("../sql/pipeline/catalog.sql", name = "pipeline_catalog", requires = ["typed"]);
extension_sql_file!("../sql/pipeline/windows.sql", name = "pipeline_windows", requires = ["pipeline_catalog"]);
extension_sql_file!("../sql/pipeline/capture.sql", name = "pipeline_capture", requires = ["pipeline_windows"]);
extension_sql_file!("../sql/pipeline/lists.sql", name = "pipeline_lists", requires = ["pipeline_capture"]);
extension_sql_file!("../sql/pipeline/objects.sql", name = "pipeline_objects", requires = ["pipeline_lists"]);
extension_sql_file!("../sql/pipeline/speed.sql", name = "pipeline_speed", requires = ["pipeline_objects"]);
extension_sql_file!("../sql/pipeline/batch.sql", name = "pipeline_batch", requires = ["pipeline_speed"]);
extension_sql_file!("../sql/pipeline/retention.sql", name = "pipeline_retention", requires = ["pipeline_batch"]);
extension_sql_file!("../sql/pipeline/tasks.sql", name = "pipeline_tasks", requires = ["pipeline_retention"]);
extension_sql_file!("../sql/pipeline/schedule.sql", name = "pipeline_schedule", requires = ["pipeline_tasks"]);
extension_sql_file!("../sql/pipeline/monitoring.sql", name = "pipeline_monitoring", requires = ["pipeline_schedule"]);
extension_sql_file!("../sql/pipeline/queries.sql", name = "pipeline_queries", requires = ["pipeline_monitoring"], finalize);

pg_function!(fn topk_pg_version(fcinfo) sql["strict () -> text"] {
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
