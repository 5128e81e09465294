//! Errors of the sketch core. The SQL layer maps [`ErrorKind`] to a SQLSTATE and
//! reports `message` with `hint` as the ERROR's HINT.

use std::fmt;

/// What went wrong, in the terms the SQL layer needs to pick an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter (precision, epsilon, capacity, weight, ...) is out of range.
    InvalidParameter,
    /// Two sketches cannot be combined (different kind, parameters or item type).
    Mismatch,
    /// Bytes or text that are not a valid stored sketch.
    Corrupt,
    /// A request that would need more memory than a sketch may take.
    TooLarge,
    /// A counter would pass its maximum.
    Overflow,
}

/// An error with a message for the user and, where one helps, a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl SketchError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SketchError { kind, message: message.into(), hint: None }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    pub fn mismatch(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Mismatch, message)
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }
    pub fn overflow(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Overflow, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SketchError {}

pub type Result<T> = std::result::Result<T, SketchError>;

/// Adds two counters, failing instead of wrapping (inline: it runs for every row).
#[inline(always)]
pub fn checked_add_count(a: u64, b: u64) -> Result<u64> {
    match a.checked_add(b) {
        Some(s) if s <= i64::MAX as u64 => Ok(s),
        _ => Err(count_overflow()),
    }
}

#[cold]
#[inline(never)]
fn count_overflow() -> SketchError {
    SketchError::overflow("sketch counter would exceed the bigint maximum")
        .with_hint("Split the input into smaller sketches or use smaller weights.")
}
