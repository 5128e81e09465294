//! The pipeline's change marks: `topk._capture()`, an AFTER … FOR EACH STATEMENT trigger
//! on the source table and on each of its partitions (sql/pipeline/capture.sql).
//!
//! It records only *which hours changed*, never the rows: from the statement's transition
//! table(s) it takes the time column of each row, turns it into an hour number (hours
//! since 1970-01-01 00:00 of the column's own clock: UTC for timestamptz, the wall clock
//! for timestamp and date) and appends one row per run of consecutive hours,
//! `(first_hour, last_hour, marked_at)`, to the pipeline's `changes` table. TRUNCATE, or
//! a table whose time column cannot be found, marks everything (NULL, NULL); rows without
//! a usable time (NULL, ±infinity) add (NULL, -1), so that the run counts them as
//! rejected. The runs of the pipeline re-read the marked hours from the source.
//!
//! It must never make the application's statement fail: it raises no error of its own
//! (a missing `changes` table, a wrong argument or an unexpected column type all mark
//! nothing or everything), and it writes its row with a plain heap insert (no SQL, no
//! permission check, the table has no index), a few microseconds per statement.
//!
//! The same function is also an AFTER … FOR EACH ROW trigger on each table that holds
//! rows, enabled for replica sessions only (the logical replication apply worker fires
//! row triggers, never statement triggers): it marks the hours of each row, once per hour
//! and subtransaction.
//!
//! Trigger arguments: the pipeline's schema (which holds `changes`), the time column's name.
//!
//! On a Citus distributed source the triggers are on its shards, on the workers, where
//! the coordinator's `changes` table does not exist: there the marks go into the shard of
//! the pipeline's `shard_changes` (a distributed table co-located with the source) that
//! is co-located with the shard written, so a mark and the rows it stands for commit in
//! the same transaction of the same node and move together; the coordinator's runs take
//! the marks of every shard.

use crate::pg_function;
use pgrx::pg_sys;
use std::ffi::CStr;

const HOUR_USECS: i64 = 3_600_000_000;

/// The hours a statement touched, as sorted runs `(first, last)`; `None`: everything.
struct Marks {
    hours: Vec<i64>,
    everything: bool,
    /// rows without a usable time (NULL, ±infinity): the pipeline counts them as rejected
    undated: bool,
}

impl Marks {
    fn runs(mut self) -> Option<Vec<(i64, i64)>> {
        if self.everything {
            return None;
        }
        self.hours.sort_unstable();
        self.hours.dedup();
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for h in self.hours {
            match runs.last_mut() {
                Some(r) if r.1 + 1 == h => r.1 = h,
                _ => runs.push((h, h)),
            }
        }
        Some(runs)
    }
}

/// The hour numbers of a time datum of type `typid` (none for ±infinity).
fn hours_of(typid: pg_sys::Oid, d: pg_sys::Datum) -> Option<(i64, i64)> {
    if typid == pg_sys::TIMESTAMPTZOID || typid == pg_sys::TIMESTAMPOID {
        let us = d.value() as i64;
        if us == i64::MIN || us == i64::MAX {
            return None;
        }
        // PostgreSQL counts from 2000-01-01; hours count from 1970-01-01.
        let h = us.div_euclid(HOUR_USECS) + 262_968;
        Some((h, h))
    } else {
        // date: days since 2000-01-01 (the column type was checked by create_pipeline)
        let days = d.value() as i32;
        if days == i32::MIN || days == i32::MAX {
            return None;
        }
        let h = (days as i64 + 10_957) * 24;
        Some((h, h + 23))
    }
}

/// The index and type of the time column `column` of a table; `None` (mark everything)
/// when it is missing or of another type.
unsafe fn time_attr(rel: pg_sys::Relation, column: &CStr) -> Option<(usize, pg_sys::Oid)> {
    let desc = (*rel).rd_att;
    let natts = (*desc).natts as usize;
    let attrs = (*desc).attrs.as_slice(natts);
    let i = attrs
        .iter()
        .position(|a| !a.attisdropped && CStr::from_ptr(a.attname.data.as_ptr()) == column)?;
    let typid = attrs[i].atttypid;
    (typid == pg_sys::TIMESTAMPTZOID || typid == pg_sys::TIMESTAMPOID || typid == pg_sys::DATEOID).then_some((i, typid))
}

/// Adds the hours of the time column (index `i`, type `typid`) of the row in `slot`.
unsafe fn mark_row(slot: *mut pg_sys::TupleTableSlot, i: usize, typid: pg_sys::Oid, marks: &mut Marks) {
    pg_sys::slot_getsomeattrs_int(slot, (i + 1) as i32);
    if *(*slot).tts_isnull.add(i) {
        marks.undated = true;
        return;
    }
    match hours_of(typid, *(*slot).tts_values.add(i)) {
        None => marks.undated = true,
        Some((first, end)) => marks.hours.extend(first..=end),
    }
}

/// Reads the time column of every row of a transition table into `marks`.
unsafe fn scan(store: *mut pg_sys::Tuplestorestate, rel: pg_sys::Relation, column: &CStr, marks: &mut Marks) {
    if store.is_null() || marks.everything {
        return;
    }
    let desc = (*rel).rd_att;
    let Some((i, typid)) = time_attr(rel, column) else {
        marks.everything = true;
        return;
    };
    let slot = pg_sys::MakeSingleTupleTableSlot(desc, &pg_sys::TTSOpsMinimalTuple);
    let reader = pg_sys::tuplestore_alloc_read_pointer(store, pg_sys::EXEC_FLAG_REWIND as i32);
    pg_sys::tuplestore_select_read_pointer(store, reader);
    pg_sys::tuplestore_rescan(store);
    let mut last = i64::MIN;
    while pg_sys::tuplestore_gettupleslot(store, true, false, slot) {
        pg_sys::slot_getsomeattrs_int(slot, (i + 1) as i32);
        if *(*slot).tts_isnull.add(i) {
            marks.undated = true;
            continue;
        }
        let hours = hours_of(typid, *(*slot).tts_values.add(i));
        if hours.is_none() {
            marks.undated = true;
        }
        if let Some((first, end)) = hours {
            if first == last && end == first {
                continue;
            }
            last = first;
            for h in first..=end {
                marks.hours.push(h);
            }
        }
    }
    pg_sys::ExecDropSingleTupleTableSlot(slot);
}

/// Appends the marks to the table `changes` of schema `schema`: a row per run, (NULL,
/// NULL) for everything, (NULL, -1) for rows without a usable time.
/// On a Citus worker (a trigger on a shard of the source), the shard of the same
/// schema's `shard_changes` co-located with it ([`local_shard`]; its fourth column, the
/// distribution key, stays NULL).
unsafe fn write(schema: &CStr, table: pg_sys::Oid, runs: Option<Vec<(i64, i64)>>, undated: bool) {
    let nsp = pg_sys::get_namespace_oid(schema.as_ptr(), true);
    if nsp == pg_sys::InvalidOid {
        return;
    }
    let mut changes = pg_sys::get_relname_relid(c"changes".as_ptr(), nsp);
    let mut natts = 3;
    if changes == pg_sys::InvalidOid {
        changes = local_shard(nsp, table);
        natts = 4;
    }
    if changes == pg_sys::InvalidOid {
        return;
    }
    let rel = pg_sys::try_table_open(changes, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    if rel.is_null() {
        return;
    }
    let desc = (*rel).rd_att;
    let ok = (*desc).natts == natts && {
        let a = (*desc).attrs.as_slice(3);
        a[0].atttypid == pg_sys::INT8OID && a[1].atttypid == pg_sys::INT8OID && a[2].atttypid == pg_sys::TIMESTAMPTZOID
    };
    if ok && (*(*rel).rd_rel).relkind == pg_sys::RELKIND_RELATION as std::ffi::c_char {
        let now = pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp());
        let mut rows: Vec<(Option<i64>, Option<i64>)> = match runs {
            None => vec![(None, None)],
            Some(r) => r.into_iter().map(|(a, b)| (Some(a), Some(b))).collect(),
        };
        if undated {
            rows.push((None, Some(-1)));
        }
        for (first, last) in rows.drain(..) {
            let mut values = [
                pg_sys::Datum::from(first.unwrap_or(0)),
                pg_sys::Datum::from(last.unwrap_or(0)),
                now,
                pg_sys::Datum::from(0usize),
            ];
            let mut nulls = [first.is_none(), last.is_none(), false, true];
            let tuple = pg_sys::heap_form_tuple(desc, values.as_mut_ptr(), nulls.as_mut_ptr());
            pg_sys::simple_heap_insert(rel, tuple);
            pg_sys::heap_freetuple(tuple);
        }
    }
    pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
}

/// The shard of `<schema>.shard_changes` that takes the marks of a statement on `table`
/// (a shard of the source, on a Citus node), or InvalidOid: the one co-located with that
/// shard (the same hash range in Citus' catalog pg_dist_shard), which is wherever the
/// source's shard is, also after a shard move (the old placement, dropped later, keeps
/// its name until then: no other shard of this node would do); for a table that is no
/// shard (a TRUNCATE of the source's table on a worker), a placement of this node
/// (pg_dist_placement). Kept for the session per table (a moved shard is a new table),
/// checked by name before each use. Lookups by name see the shards Citus hides from
/// pg_class.
unsafe fn local_shard(nsp: pg_sys::Oid, table: pg_sys::Oid) -> pg_sys::Oid {
    let slot = u32::from(table) as usize % 8;
    let cached = LOCAL_SHARD.with(|c| c.get()[slot]);
    if cached.0 == table && cached.1 != pg_sys::InvalidOid && pg_sys::get_rel_namespace(cached.1) == nsp {
        let name = pg_sys::get_rel_name(cached.1);
        if !name.is_null() && CStr::from_ptr(name).to_bytes().starts_with(b"shard_changes_") {
            return cached.1;
        }
    }
    let shell = pg_sys::get_relname_relid(c"shard_changes".as_ptr(), nsp);
    if shell == pg_sys::InvalidOid
        || pg_sys::get_relname_relid(c"pg_dist_shard".as_ptr(), pg_sys::PG_CATALOG_NAMESPACE.into()) == pg_sys::InvalidOid
    {
        return pg_sys::InvalidOid;
    }
    // the table's shard id: the digits after the last '_' of its name (Citus' shard names)
    let name = pg_sys::get_rel_name(table);
    let id = if name.is_null() {
        None
    } else {
        let name = CStr::from_ptr(name).to_bytes();
        let digits = &name[name.iter().rposition(|&b| b == b'_').map_or(name.len(), |p| p + 1)..];
        std::str::from_utf8(digits).ok().and_then(|d| d.parse::<i64>().ok())
    };
    let query = format!(
        "(SELECT c.shardid FROM pg_catalog.pg_dist_shard c JOIN pg_catalog.pg_dist_shard s \
            ON s.shardid = {id} AND s.shardminvalue = c.shardminvalue WHERE c.logicalrelid = {shell}::oid) \
         UNION ALL \
         (SELECT p.shardid FROM pg_catalog.pg_dist_placement p JOIN pg_catalog.pg_dist_shard c USING (shardid) \
          WHERE c.logicalrelid = {shell}::oid AND p.groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group) \
          ORDER BY 1)",
        id = id.unwrap_or(-1),
        shell = u32::from(shell)
    );
    let ids: Vec<i64> = pgrx::Spi::connect(|client| {
        let mut ids = Vec::new();
        for row in client.select(query.as_str(), None, &[])? {
            if let Some(id) = row.get::<i64>(1)? {
                ids.push(id);
            }
        }
        Ok::<_, pgrx::spi::Error>(ids)
    })
    .unwrap_or_default();
    for id in ids {
        let name = std::ffi::CString::new(format!("shard_changes_{id}")).unwrap_or_default();
        let rel = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        if rel != pg_sys::InvalidOid {
            LOCAL_SHARD.with(|c| {
                let mut all = c.get();
                all[slot] = (table, rel);
                c.set(all)
            });
            return rel;
        }
    }
    pg_sys::InvalidOid
}

thread_local! {
    /// (table, the shard of shard_changes for its marks) found by [`local_shard`], by the
    /// table's oid mod 8
    static LOCAL_SHARD: std::cell::Cell<[(pg_sys::Oid, pg_sys::Oid); 8]> =
        const { std::cell::Cell::new([(pg_sys::InvalidOid, pg_sys::InvalidOid); 8]) };
}

/// The hours the row triggers of this (sub)transaction marked already, per trigger: a
/// replicated transaction of many rows in one hour writes one mark. A mark written in a
/// subtransaction that rolls back is gone, so the memory is per subtransaction.
struct Marked {
    lxid: u32,
    subxid: u32,
    hours: std::collections::HashSet<(pg_sys::Oid, i64)>,
}

thread_local! {
    // Not a RefCell: an allocation that fails while it is borrowed would leave it borrowed
    // for the rest of the session (src/alloc.rs); the backend has one thread, and no
    // reference to it outlives the one statement below.
    static MARKED: std::cell::UnsafeCell<Marked> =
        std::cell::UnsafeCell::new(Marked { lxid: 0, subxid: 0, hours: Default::default() });
}

/// The marks of one row (AFTER … FOR EACH ROW, enabled for replica sessions only: the
/// logical replication apply worker fires no statement triggers), less the hours this
/// trigger marked already in this subtransaction.
unsafe fn row(td: *mut pg_sys::TriggerData, column: &CStr) -> Marks {
    let mut marks = Marks { hours: Vec::new(), everything: false, undated: false };
    match time_attr((*td).tg_relation, column) {
        None => marks.everything = true,
        Some((i, typid)) => {
            let op = (*td).tg_event & pg_sys::TRIGGER_EVENT_OPMASK;
            if !(*td).tg_trigslot.is_null() {
                mark_row((*td).tg_trigslot, i, typid, &mut marks);
            }
            if op == pg_sys::TRIGGER_EVENT_UPDATE && !(*td).tg_newslot.is_null() {
                mark_row((*td).tg_newslot, i, typid, &mut marks);
            }
        }
    }
    let tgoid = (*(*td).tg_trigger).tgoid;
    let (lxid, subxid) = ((*pg_sys::MyProc).lxid, pg_sys::GetCurrentSubTransactionId());
    MARKED.with(|m| {
        // SAFETY: see MARKED
        let m = unsafe { &mut *m.get() };
        if m.lxid != lxid || m.subxid != subxid || m.hours.len() > 100_000 {
            m.lxid = lxid;
            m.subxid = subxid;
            m.hours.clear();
        }
        if marks.everything && !m.hours.insert((tgoid, i64::MAX)) {
            marks.everything = false;
        }
        marks.hours.retain(|&h| m.hours.insert((tgoid, h)));
        if marks.undated && !m.hours.insert((tgoid, i64::MIN)) {
            marks.undated = false;
        }
    });
    marks
}

pg_function!(fn topk_capture(fcinfo) sql["() -> trigger"] {
    let context = (*fcinfo).context;
    if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_TriggerData {
        crate::fmgr::raise(topk_core::SketchError::invalid("topk._capture() is a trigger function"));
    }
    // The pipeline's own retention deletes old rows of the source: not a change of the
    // windows, which keep counting them (sql/pipeline/retention.sql sets this).
    let retention = pg_sys::GetConfigOption(c"topk.retention".as_ptr(), true, false);
    if !retention.is_null() && CStr::from_ptr(retention).to_bytes() == b"on" {
        return pg_sys::Datum::from(0usize);
    }
    let td = context as *mut pg_sys::TriggerData;
    let trigger = (*td).tg_trigger;
    if (*trigger).tgnargs != 2 {
        return pg_sys::Datum::from(0usize);
    }
    let args = std::slice::from_raw_parts((*trigger).tgargs, 2);
    let schema = CStr::from_ptr(args[0]);
    let column = CStr::from_ptr(args[1]);
    let mut marks = Marks { hours: Vec::new(), everything: false, undated: false };
    let op = (*td).tg_event & pg_sys::TRIGGER_EVENT_OPMASK;
    if (*td).tg_event & pg_sys::TRIGGER_EVENT_ROW != 0 {
        marks = row(td, column);
    } else if op == pg_sys::TRIGGER_EVENT_TRUNCATE {
        marks.everything = true;
    } else {
        scan((*td).tg_oldtable, (*td).tg_relation, column, &mut marks);
        scan((*td).tg_newtable, (*td).tg_relation, column, &mut marks);
    }
    if marks.everything || marks.undated || !marks.hours.is_empty() {
        let undated = marks.undated && !marks.everything;
        write(schema, (*(*td).tg_relation).rd_id, marks.runs(), undated);
    }
    pg_sys::Datum::from(0usize)
});

pg_function!(
/// `topk._attaches_partition(pg_ddl_command)`: whether a command an event trigger sees
/// (the `command` of `pg_event_trigger_ddl_commands()`) is an ALTER TABLE that attached
/// a partition. topk._ddl_watch gives the tables that joined a source's partition tree
/// their capture triggers after such a command or a CREATE TABLE only: any other ALTER
/// TABLE of a member (pg_restore's ADD CONSTRAINT and ENABLE ALWAYS TRIGGER, while the
/// capture triggers it restores next do not exist yet) changes no partition tree.
/// A `pg_ddl_command` exists only inside an event trigger (the type has no input
/// function): the argument points at the command PostgreSQL collected.
fn topk_attaches_partition(fcinfo) sql["strict (pg_ddl_command) -> boolean"] {
    let Some(d) = crate::fmgr::arg(fcinfo, 0) else {
        (*fcinfo).isnull = true;
        return pg_sys::Datum::from(0usize);
    };
    let cmd = d.cast_mut_ptr::<pg_sys::CollectedCommand>();
    let mut attaches = false;
    if !cmd.is_null() && (*cmd).type_ == pg_sys::CollectedCommandType::SCT_AlterTable {
        let subcmds = (*cmd).d.alterTable.subcmds;
        let n = if subcmds.is_null() { 0 } else { (*subcmds).length as usize };
        for i in 0..n {
            let sub = (*(*subcmds).elements.add(i)).ptr_value as *const pg_sys::CollectedATSubcmd;
            let tree = if sub.is_null() { std::ptr::null_mut() } else { (*sub).parsetree };
            if !tree.is_null()
                && (*tree).type_ == pg_sys::NodeTag::T_AlterTableCmd
                && (*(tree as *const pg_sys::AlterTableCmd)).subtype == pg_sys::AlterTableType::AT_AttachPartition
            {
                attaches = true;
            }
        }
    }
    pg_sys::Datum::from(attaches)
});
