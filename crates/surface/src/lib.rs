//! The dependency surface of kernel images (SPEC §3): the normalised model, extraction from
//! kernel images, the compact on-disk store, datasets with their manifest and groups, and
//! the research dataset layout (SPEC §8).

pub mod ctext;
pub mod dataset;
pub mod extract;
pub mod manifest;
pub mod model;
pub mod research;
pub mod store;

pub use dataset::Dataset;
pub use extract::{ImageMeta, extract};
pub use model::{Composite, Enum, Item, Kind, Member, Param, Proto, Surface, TypeRef};
