//! topk_core: the sketches of topk_pg as plain Rust, with no PostgreSQL types.
//!
//! Each sketch has a stable, versioned binary format (`to_bytes`/`from_bytes`), a
//! text form (`to_text`/`from_text`, base64 of the binary form behind a type prefix)
//! and a merge. Decoders never panic: any byte string gives a sketch or an error.

pub mod codec;
pub mod error;
pub mod hash;
pub mod heavy_hitters;
pub mod hll;
pub mod cms;
pub mod spacesaving;
pub mod tally;

pub use error::{ErrorKind, Result, SketchError};

/// Version of the extension and core, as reported by `topk_pg_version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
