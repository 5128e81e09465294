//! The check that ties the hand-written SQL declarations (`sql/*.sql`) to the Rust
//! functions they call: every `pg_function!` records the declarations its body is
//! written for ([`crate::fmgr::SqlSignatures`], exported as `topk_sig_<name>`), and
//! [`mismatches`] compares those records with what pg_proc holds for the extension's
//! C functions, both ways. Run by the `#[pg_test]` `sql_declarations_match_rust`.

use crate::fmgr::SqlSignatures;
use pgrx::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString};

/// Every C function of the extension (but pgrx's test functions, in schema `tests`):
/// its symbol and its declaration in the form of [`SqlSignatures`].
const DECLARED: &str = r#"
SELECT coalesce(jsonb_agg(jsonb_build_array(p.prosrc, p.oid::regprocedure::text,
         CASE WHEN p.proisstrict THEN 'strict ' ELSE '' END
         || '(' || oidvectortypes(p.proargtypes) || ') -> '
         || CASE WHEN p.proretset THEN 'setof ' ELSE '' END
         || format_type(p.prorettype, NULL)
         || coalesce(' (' || (SELECT string_agg(format_type(t, NULL), ', ' ORDER BY o)
                              FROM unnest(p.proallargtypes, p.proargmodes) WITH ORDINALITY u(t, m, o)
                              WHERE m IN ('o', 't', 'b')) || ')', ''))), '[]')::text
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'topk_pg'
WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
  AND p.pronamespace::regnamespace::text <> 'tests'
"#;

const PREFIX: &str = "topk_sig_";

/// A record's `item` stands for every item argument type a transition function is
/// declared on: the polymorphic form and the typed forms of `sql/typed.sql`.
const ITEM_TYPES: [&str; 7] = ["anyelement", "smallint", "integer", "bigint", "text", "uuid", "bytea"];

fn expand(record: &str) -> Vec<String> {
    if record.contains(", item") {
        ITEM_TYPES.iter().map(|t| record.replacen(", item", &format!(", {t}"), 1)).collect()
    } else {
        vec![record.to_string()]
    }
}

/// The records of the library (as `load_external_function` names it, e.g.
/// `$libdir/topk_pg`) for `symbol`, if it has any.
fn record(library: &str, symbol: &str) -> Option<&'static [&'static str]> {
    let lib = CString::new(library).unwrap();
    let name = CString::new(format!("{PREFIX}{symbol}")).unwrap();
    // SAFETY: the symbol, when present, is a `pg_function!`'s static SqlSignatures.
    unsafe {
        let f = pg_sys::load_external_function(lib.as_ptr(), name.as_ptr(), false, std::ptr::null_mut());
        (f as *const SqlSignatures).as_ref().map(|s| s.0)
    }
}

/// The names of the dynamic symbols of an ELF64 little-endian shared library (its
/// `.dynstr`): every exported name, so every `topk_sig_` record.
fn dynamic_names(path: &str) -> Vec<String> {
    let f = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert!(f.starts_with(b"\x7fELF\x02\x01"), "{path}: not an ELF64 little-endian file");
    let u16_at = |o: usize| u16::from_le_bytes(f[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(f[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(f[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let names_at = u64_at(header(shstrndx) + 0x18);
    let cstr = |o: usize| CStr::from_bytes_until_nul(&f[o..]).unwrap().to_bytes();
    let dynstr = (0..shnum)
        .find(|i| cstr(names_at + u32_at(header(*i))) == b".dynstr")
        .unwrap_or_else(|| panic!("{path}: no .dynstr section"));
    let (off, size) = (u64_at(header(dynstr) + 0x18), u64_at(header(dynstr) + 0x20));
    f[off..off + size].split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// Every disagreement between the SQL declarations and the Rust records, one line each
/// (empty when they agree).
pub fn mismatches() -> Vec<String> {
    let json = Spi::get_one::<String>(DECLARED).expect("pg_proc query").expect("a result");
    let rows: Vec<(String, String, String)> = serde_json::from_str(&json).expect("rows");
    let mut declared: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (symbol, function, signature) in &rows {
        declared.entry(symbol).or_default().push((function, signature));
    }
    let mut out = Vec::new();
    if declared.len() < 40 {
        out.push(format!("only {} C functions found in pg_proc", declared.len()));
    }
    for (symbol, decls) in &declared {
        let Some(recorded) = record("$libdir/topk_pg", symbol) else {
            out.push(format!("{symbol}: declared ({}) but records no SQL signature", decls[0].0));
            continue;
        };
        let recorded: BTreeSet<String> = recorded.iter().flat_map(|r| expand(r)).collect();
        for (function, signature) in decls {
            if !recorded.contains(*signature) {
                out.push(format!("{symbol}: {function} is declared as \"{signature}\", which the Rust side does not record (it records {recorded:?})"));
            }
        }
        for r in &recorded {
            if !decls.iter().any(|(_, s)| s == r) {
                out.push(format!("{symbol}: records \"{r}\", which no SQL declaration has"));
            }
        }
    }
    // SAFETY: pkglib_path is PostgreSQL's NUL-terminated library directory.
    let libdir = unsafe { CStr::from_ptr(std::ptr::addr_of!(pg_sys::pkglib_path) as *const std::ffi::c_char) };
    let path = format!("{}/topk_pg.so", libdir.to_string_lossy());
    let records: Vec<String> = dynamic_names(&path).into_iter().filter(|n| n.starts_with(PREFIX)).collect();
    if records.len() < 40 {
        out.push(format!("only {} {PREFIX} symbols found in {path}", records.len()));
    }
    for name in records {
        let symbol = &name[PREFIX.len()..];
        if !declared.contains_key(symbol) {
            out.push(format!("{symbol}: records SQL signatures but no SQL function calls it"));
        }
    }
    out
}
