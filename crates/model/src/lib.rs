//! The dependency-surface model (SPEC §3): what one kernel image exposes, in normalised form,
//! and its C text. Extraction (from BTF or DWARF) produces it; the store, diffs and reports
//! consume it.

pub mod ctext;
pub mod model;
pub mod trace;

pub use model::*;
pub use trace::{FuncTrace, Reasons, TraceReason, Traceability};
