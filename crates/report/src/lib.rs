//! Rendering: per-dependency reports in the seed's Markdown format and as JSON, index pages.
//! Rendering never reads kernel images: it works from a dataset's surfaces.

pub mod diff;
pub mod history;
pub mod index;
pub mod markdown;
pub mod report;
pub mod study;
pub mod suggest;
pub mod summary;
pub mod term;

pub use markdown::markdown;
pub use report::{Report, ReportError, build};
