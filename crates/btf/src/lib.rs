//! A strict, zero-copy reader for BTF, the BPF Type Format.
//!
//! * every kind up to ENUM64 (FLOAT, DECL_TAG, TYPE_TAG included);
//! * both byte orders (BTF is written in its target's order: s390x BTF is big-endian);
//! * split BTF (kernel modules) on top of a base;
//! * every offset, length, name and type id checked while parsing, so a malformed blob is an
//!   error that says where it is wrong, never a panic or an out-of-bounds read.
//!
//! [`dump::dump_raw`] prints the same text as `bpftool btf dump file X`, which is how the
//! reader is cross-checked against libbpf on real kernels.
//!
//! Why not the `btf-rs` crate: it copies every type into owned values and builds name maps
//! while parsing, and it has no bpftool-compatible dump to check against; depsurf reads whole
//! kernels many times and wants borrowed views and one validated pass.

mod btf;
pub mod builder;
pub mod dump;
mod error;
pub mod ext;
mod kind;
mod types;

pub use btf::{BTF_MAGIC, Btf, Endian, Header};
pub use error::BtfError;
pub use kind::{Kind, KindCounts};
pub use types::{Array, EnumValue, IntBits, Member, Param, Type, VarSecinfo};

#[cfg(test)]
mod tests;
