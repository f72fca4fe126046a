//! Kernel inputs for depsurf: everything a user may have that describes a built kernel,
//! recognised by content and turned into a [`KernelImage`].
//!
//! * Debian `.deb` and Ubuntu `.ddeb` packages (ar + data.tar with xz, zstd, gzip or bzip2),
//!   streamed, keeping only the kernel's members;
//! * ELF `vmlinux` (32/64-bit, either byte order) with DWARF and/or `.BTF`; kernel modules;
//! * boot images: x86 bzImage, arm64 Image / Image.gz / EFI zboot, ARM zImage, s390x;
//! * raw BTF (`/sys/kernel/btf/vmlinux`, pahole's detached BTF, BTFHub `.btf.tar.xz`);
//! * `System.map` and `config` files, and directories holding any of these.

pub mod archive;
pub mod atomic;
pub mod boot;
pub mod bytes;
pub mod config;
pub mod decompress;
pub mod elf;
pub mod error;
pub mod identity;
pub mod image;
pub mod input;
pub mod inspect;
pub mod kallsyms;
pub mod memory;
pub mod sniff;
pub mod symbols;
pub mod sysmap;

pub use bytes::Bytes;
pub use error::{Error, Problem, Result};
pub use image::KernelImage;
pub use input::{OpenOptions, open, open_bytes, open_one};
pub use inspect::Inspection;
pub use memory::KernelMemory;
pub use symbols::{Sym, SymbolTable};
