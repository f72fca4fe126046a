//! A kernel image: everything depsurf found about one built kernel, from however many inputs.

use depsurf_btf::{Btf, BtfError};

use crate::boot::{BootImage, Inner};
use crate::bytes::Bytes;
use crate::config::Config;
use crate::elf::{ElfImage, ElfKind};
use crate::error::Problem;
use crate::identity::Identity;
use crate::sysmap::SystemMap;

/// A value and the input it came from (`pkg.deb: usr/lib/debug/boot/vmlinux-...`).
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub origin: String,
    pub value: T,
}

/// Where an image's BTF was found.
#[derive(Clone, Debug)]
pub struct BtfBlob {
    pub origin: String,
    /// `section .BTF`, `raw BTF`, `flat kernel binary at offset 0x...`
    pub location: String,
    pub bytes: Bytes,
    /// Split BTF must be read on top of this base.
    pub base: Option<Bytes>,
}

impl BtfBlob {
    /// Parses the blob (on its base when split) and runs `f` on it.
    pub fn with<T>(&self, f: impl FnOnce(&Btf<'_>) -> T) -> Result<T, Problem> {
        match &self.base {
            None => match Btf::parse(&self.bytes) {
                Ok(btf) => Ok(f(&btf)),
                Err(
                    e @ (BtfError::Strings("does not start with the empty string")
                    | BtfError::BadTypeId { .. }
                    | BtfError::BadName { .. }),
                ) => Err(Problem::Invalid(format!(
                    "invalid BTF: {e}; if this is split BTF (a module's), give its base with \
                     --base <vmlinux or its BTF>"
                ))),
                Err(e) => Err(e.into()),
            },
            Some(base) => {
                let base = Btf::parse(base).map_err(|e| {
                    Problem::Invalid(format!("the base BTF given with --base is invalid: {e}"))
                })?;
                Ok(f(&Btf::parse_split(&self.bytes, &base)?))
            }
        }
    }
}

/// A kernel module (`.ko`), which carries split BTF.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ModuleInfo {
    pub name: Option<String>,
    pub vermagic: Option<String>,
}

/// A package an image was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    pub arch: String,
}

/// One kernel, assembled from its inputs.
#[derive(Clone, Debug, Default)]
pub struct KernelImage {
    pub identity: Identity,
    /// Every input that contributed, in the order read.
    pub inputs: Vec<String>,
    /// The packages those inputs came from, by their control files.
    pub packages: Vec<PackageRef>,
    /// The ELF `vmlinux` (debug image, or the ELF a distribution ships as its kernel).
    pub elf: Option<Sourced<ElfImage>>,
    /// The boot image (`vmlinuz`) and the kernel inside it.
    pub boot: Option<Sourced<BootImage>>,
    pub btf: Option<BtfBlob>,
    pub system_map: Option<Sourced<SystemMap>>,
    pub config: Option<Sourced<Config>>,
    /// Set when the input is a kernel module rather than a kernel.
    pub module: Option<ModuleInfo>,
    /// Things worth telling the user: disagreements between names and the image,
    /// placeholders, files that were skipped.
    pub notes: Vec<String>,
}

impl KernelImage {
    /// A name for messages: the release, else the first input.
    pub fn name(&self) -> String {
        if let Some(m) = &self.module
            && let Some(n) = &m.name
        {
            return format!("module {n}");
        }
        self.identity
            .release
            .clone()
            .or_else(|| self.inputs.first().cloned())
            .unwrap_or_else(|| "(unnamed input)".into())
    }

    /// The ELF with the most information: the debug `vmlinux`, else the one inside the boot
    /// image.
    pub fn best_elf(&self) -> Option<(&str, &ElfImage)> {
        if let Some(e) = &self.elf {
            return Some((&e.origin, &e.value));
        }
        match &self.boot {
            Some(b) => match &b.value.inner {
                Inner::Elf(e) => Some((&b.origin, e)),
                Inner::Raw(_) => None,
            },
            None => None,
        }
    }

    /// Whether a DWARF-carrying ELF is present.
    pub fn has_dwarf(&self) -> bool {
        self.best_elf()
            .is_some_and(|(_, e)| e.section(".debug_info").is_some())
    }

    pub fn is_module(&self) -> bool {
        self.module.is_some()
            || self.elf.as_ref().is_some_and(|e| {
                e.value.kind == ElfKind::Relocatable && e.value.section(".modinfo").is_some()
            })
    }
}
