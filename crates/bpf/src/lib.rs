//! eBPF objects as a kernel sees them: which programs they hold and what each one needs from
//! the kernel (SPEC §7). Reads `*.bpf.o` files and the objects libbpf skeletons embed in
//! loader binaries; finds attach points from section names, CO-RE relocations from
//! `.BTF.ext` (with field access paths named through the object's own BTF), kfuncs, `__ksym`
//! variables and `__kconfig` options from the extern sections, helpers from the calls in
//! the instructions, and map and program types. Nothing here knows about kernel images;
//! `depsurf-check` resolves these dependencies against a dataset.

pub mod code;
pub mod deps;
pub mod elf;
pub mod embedded;
pub mod flow;
pub mod insn;
pub mod sections;

pub use code::{Code, Loc};
pub use deps::{Dependency, FEATURES, Feature, Hop, Origin, Target};
pub use sections::{Attach, SectionDef};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("an ELF file for machine {0}, not eBPF (EM_BPF = 247)")]
    NotBpf(u16),
    #[error("malformed eBPF object: {0}")]
    Malformed(String),
    #[error("its .BTF: {0}")]
    Btf(String),
    #[error("its .BTF.ext: {0}")]
    BtfExt(String),
}

/// One program: its function name, section, and what the section says about it.
#[derive(Clone, Debug, Serialize)]
pub struct Program {
    pub name: String,
    pub section: String,
    /// `enum bpf_prog_type` name without `BPF_PROG_TYPE_`; `None` for a section libbpf does
    /// not know (set at run time by the loader).
    pub prog_type: Option<&'static str>,
    #[serde(skip)]
    pub attach: Attach,
    /// Its first instruction (an index in the section) and how many it has.
    pub start: usize,
    pub insns: usize,
    /// Its first instruction in [`BpfObject::code`].
    #[serde(skip)]
    pub entry: Loc,
    /// libbpf loads it unless told otherwise (its section does not start with `?`).
    pub autoload: bool,
    /// The struct its context argument points to, as the object's BTF declares it (the
    /// tracepoint record a classic tracepoint program reads, `pt_regs` for a kprobe), with
    /// flavour suffixes removed from its name.
    #[serde(skip)]
    pub ctx: Option<(String, depsurf_surface::model::Composite)>,
}

/// What kind of extern symbol an object declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternKind {
    /// A kernel function called from BPF (`__ksym` function).
    Kfunc,
    /// A kernel variable (`__ksym`).
    Ksym,
    /// A kernel configuration value (`__kconfig CONFIG_X`).
    Kconfig,
    /// A value libbpf answers itself (`LINUX_KERNEL_VERSION`, `LINUX_HAS_BPF_COOKIE`...).
    Libbpf,
}

/// An extern symbol of the object. libbpf resolves every one when it loads any program of
/// the object: a missing one that is not weak fails them all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extern {
    pub name: String,
    pub kind: ExternKind,
    pub weak: bool,
}

/// An eBPF object and its dependencies.
#[derive(Clone, Debug, Serialize)]
pub struct BpfObject {
    /// The file, or `holder@offset` for an object embedded in another file.
    pub name: String,
    pub programs: Vec<Program>,
    pub maps: Vec<String>,
    pub externs: Vec<Extern>,
    pub license: Option<String>,
    /// Whether the object carries BTF (without it there are no CO-RE relocations).
    pub has_btf: bool,
    pub deps: Vec<Dependency>,
    /// Every CO-RE relocation on its own, numbered as libbpf numbers them (the index in
    /// its section's `.BTF.ext` block), before accesses are chained and merged into `deps`.
    pub core_relos: Vec<CoreRelo>,
    /// The executable sections, for flow analysis.
    #[serde(skip)]
    pub code: Code,
}

/// One CO-RE relocation.
#[derive(Clone, Debug, Serialize)]
pub struct CoreRelo {
    pub section: String,
    pub index: usize,
    pub insn: u32,
    pub kind: &'static str,
    pub target: Target,
    pub guard: bool,
}

impl Program {
    /// The section's first component without the autoload marker: `kprobe`, `fexit`,
    /// `tp_btf`, ...
    pub fn section_kind(&self) -> &str {
        let s = self.section.strip_prefix('?').unwrap_or(&self.section);
        s.split('/').next().unwrap_or("")
    }
}

impl BpfObject {
    /// Reads an eBPF object file.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<BpfObject, BpfError> {
        deps::read(name, bytes)
    }
}
