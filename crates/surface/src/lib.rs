//! The dependency surface of kernel images (SPEC §3): the normalised model, extraction from
//! kernel images, the compact on-disk store, datasets with their manifest and groups, and
//! the research dataset layout (SPEC §8).

pub mod dataset;
pub mod extract;
pub mod helpers;
pub mod manifest;
pub mod research;
pub mod store;

pub use dataset::Dataset;
pub use depsurf_model::{
    Composite, Enum, Facet, FuncTrace, Item, Kind, Member, Param, Proto, Surface, TraceReason,
    Traceability, Tracepoint, TypeRef,
};
pub use depsurf_model::{ctext, model};
pub use extract::{ImageMeta, extract};
pub use helpers::{HelperSet, HelperTable};
