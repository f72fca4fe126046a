//! What an eBPF object needs from the kernel, with where each need comes from. Each pass
//! reads one part of the object: `programs` (section names), `externs` (`__ksym` and
//! `__kconfig`), `helpers` (helper calls), `maps`, `core` (CO-RE relocations) and `isa`
//! (the instruction set the code uses).

mod core;
mod externs;
mod helpers;
mod isa;
mod maps;
mod programs;

use std::collections::BTreeMap;

use depsurf_btf::ext::{BtfExt, CoreReloKind};
use depsurf_btf::{Btf, Kind as BK, Type};
use depsurf_surface::model::{Proto, TypeRef};
use serde::Serialize;

use crate::code::{Code, Loc};
use crate::elf::Elf;
use crate::{BpfError, BpfObject};

pub use isa::{FEATURES, Feature};

/// Where a dependency comes from: the section, the program (function symbol) and the
/// instruction index within the section, when one instruction carries it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Origin {
    pub section: String,
    pub program: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insn: Option<u32>,
    /// The CO-RE relocation kind at that instruction (`byte_off`, `field_exists`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relo: Option<&'static str>,
}

/// One step of a field access: `owner::field`, with the field's type as the object sees it
/// (flavour suffixes `___x` removed from type names).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Hop {
    pub owner: String,
    pub owner_is_union: bool,
    pub field: String,
    pub local: TypeRef,
}

/// What is needed, in terms a kernel image can answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A kernel function to probe by symbol (kprobe, kretprobe).
    Kprobe {
        func: String,
    },
    /// Functions matching a glob (kprobe.multi).
    KprobeMulti {
        glob: String,
    },
    /// A kernel function with BTF to attach a trampoline to (fentry, fexit, fmod_ret).
    Trampoline {
        func: String,
    },
    Tracepoint {
        system: String,
        event: String,
    },
    Syscall {
        name: String,
    },
    Lsm {
        hook: String,
    },
    /// A BPF iterator target (`bpf_iter_<name>`).
    Iter {
        name: String,
    },
    Kfunc {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        proto: Option<Proto>,
    },
    /// A `__ksym` variable: typed ones (declared with their type) need the kernel's BTF to
    /// describe them, untyped ones (`const void`) only a symbol.
    Ksym {
        name: String,
        typed: bool,
    },
    /// A `__kconfig` extern (`CONFIG_X`, without the prefix).
    Config {
        name: String,
    },
    /// A configuration the program type needs from the kernel (not declared by the object):
    /// the option set (`y`), or, for a list option, holding `item`. Unmet, the program
    /// fails to attach, or (`miss`) attaches and is never called.
    KernelConfig {
        name: String,
        item: Option<String>,
        miss: bool,
    },
    /// A CO-RE field access, hop by hop (a chain of pointer dereferences is one access).
    Field {
        hops: Vec<Hop>,
    },
    /// A CO-RE type relocation (exists, size, id, matches).
    Type {
        name: String,
        btf_kind: String,
    },
    /// A CO-RE enum value relocation.
    EnumValue {
        enum_name: String,
        value: String,
    },
    /// A helper, by `enum bpf_func_id` number.
    Helper {
        id: u32,
    },
    /// A map type, by `enum bpf_map_type` number.
    MapType {
        id: u32,
    },
    /// A program type (`enum bpf_prog_type` name without its prefix).
    ProgType {
        name: String,
    },
    /// An attach type (`enum bpf_attach_type` name without its prefix).
    AttachType {
        name: String,
    },
    /// A struct_ops struct the object implements.
    StructOps {
        name: String,
    },
    /// An instruction-set feature the code uses ([`FEATURES`]).
    Isa {
        feature: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub target: Target,
    /// Guarded: the object checks that it exists (`bpf_core_field_exists`,
    /// `bpf_core_type_exists`, `bpf_core_enum_value_exists`, a weak extern tested with
    /// `bpf_ksym_exists`), so its absence is an answer the program handles, not an error.
    pub guard: bool,
    /// For CO-RE relocations: the relocation kinds used (`byte_off`, `field_exists`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relos: Vec<String>,
    pub origins: Vec<Origin>,
}

impl Dependency {
    /// The dependency's kind, as reports name kinds.
    pub fn kind(&self) -> &'static str {
        match &self.target {
            Target::Kprobe { .. } | Target::KprobeMulti { .. } | Target::Trampoline { .. } => {
                "func"
            }
            Target::Iter { .. } => "func",
            Target::Tracepoint { .. } => "tracepoint",
            Target::Syscall { .. } => "syscall",
            Target::Lsm { .. } => "lsm",
            Target::Kfunc { .. } => "kfunc",
            Target::Ksym { .. } => "ksym",
            Target::Config { .. } | Target::KernelConfig { .. } => "config",
            Target::Field { .. } => "field",
            Target::Type { .. } => "type",
            Target::EnumValue { .. } => "enum value",
            Target::Helper { .. } => "helper",
            Target::MapType { .. } => "map type",
            Target::ProgType { .. } => "prog type",
            Target::AttachType { .. } => "attach type",
            Target::StructOps { .. } => "struct",
            Target::Isa { .. } => "instruction",
        }
    }

    /// How the programs with this attach point attach, from their sections' prefixes
    /// (`kretprobe`, `fexit`, `fentry/fexit` when both); `default` when none says.
    fn mechanism(&self, default: &str) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for o in &self.origins {
            let section = o.section.strip_prefix('?').unwrap_or(&o.section);
            let prefix = section.split('/').next().unwrap_or("");
            let prefix = prefix.strip_suffix(".s").unwrap_or(prefix);
            if !prefix.is_empty() && !kinds.contains(&prefix) {
                kinds.push(prefix);
            }
        }
        if kinds.is_empty() {
            return default.to_string();
        }
        kinds.sort_unstable();
        kinds.join("/")
    }

    /// How the dependency reads in a matrix row (`task_struct::mm → mm_struct::exe_file`).
    pub fn label(&self) -> String {
        match &self.target {
            Target::Kprobe { func } => format!("{} {func}", self.mechanism("kprobe")),
            Target::KprobeMulti { glob } => {
                format!("{} {glob}", self.mechanism("kprobe.multi"))
            }
            Target::Trampoline { func } => format!("{} {func}", self.mechanism("fentry")),
            Target::Tracepoint { system, event } if system.is_empty() => event.clone(),
            Target::Tracepoint { system, event } => format!("{system}/{event}"),
            Target::Syscall { name } => name.clone(),
            Target::Lsm { hook } => hook.clone(),
            Target::Iter { name } => format!("bpf_iter_{name}"),
            Target::Kfunc { name, .. } | Target::Ksym { name, .. } => name.clone(),
            Target::Config { name } => format!("CONFIG_{name}"),
            Target::KernelConfig {
                name, item: None, ..
            } => format!("CONFIG_{name}"),
            Target::KernelConfig {
                name,
                item: Some(i),
                ..
            } => format!("CONFIG_{name} has {i}"),
            Target::Field { hops, .. } => hops
                .iter()
                .map(|h| format!("{}::{}", h.owner, h.field))
                .collect::<Vec<_>>()
                .join(" → "),
            Target::Type { name, btf_kind, .. } => format!("{btf_kind} {name}"),
            Target::EnumValue {
                enum_name, value, ..
            } => format!("{enum_name}::{value}"),
            Target::Helper { id } => format!("helper #{id}"),
            Target::MapType { id } => format!("map type #{id}"),
            Target::ProgType { name } => format!("BPF_PROG_TYPE_{name}"),
            Target::AttachType { name } => format!("BPF_{name}"),
            Target::StructOps { name } => format!("struct {name}"),
            Target::Isa { feature } => feature.clone(),
        }
    }
}

/// Removes a CO-RE flavour suffix: `task_struct___old` → `task_struct`.
pub fn strip_flavour(name: &str) -> &str {
    match name.find("___") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// The same type with every named type's flavour suffix removed.
fn unflavour(t: TypeRef) -> TypeRef {
    let s = |n: String| strip_flavour(&n).to_string();
    match t {
        TypeRef::Struct(n) => TypeRef::Struct(s(n)),
        TypeRef::Union(n) => TypeRef::Union(s(n)),
        TypeRef::Typedef(n) => TypeRef::Typedef(s(n)),
        TypeRef::Enum { name, size } => TypeRef::Enum {
            name: s(name),
            size,
        },
        TypeRef::Fwd { name, union } => TypeRef::Fwd {
            name: s(name),
            union,
        },
        TypeRef::Ptr(b) => TypeRef::Ptr(Box::new(unflavour(*b))),
        TypeRef::Const(b) => TypeRef::Const(Box::new(unflavour(*b))),
        TypeRef::Volatile(b) => TypeRef::Volatile(Box::new(unflavour(*b))),
        TypeRef::Restrict(b) => TypeRef::Restrict(Box::new(unflavour(*b))),
        TypeRef::Array { nelems, elem } => TypeRef::Array {
            nelems,
            elem: Box::new(unflavour(*elem)),
        },
        other => other,
    }
}

/// The type behind typedefs and qualifiers.
fn skip_mods<'b>(btf: &'b Btf<'b>, mut id: u32) -> Option<Type<'b>> {
    for _ in 0..64 {
        let t = btf.type_by_id(id)?;
        match t.kind() {
            BK::Typedef | BK::Const | BK::Volatile | BK::Restrict | BK::TypeTag => {
                id = t.size_or_type()
            }
            _ => return Some(t),
        }
    }
    None
}

/// Collects dependencies, merging origins of equal targets.
#[derive(Default)]
struct Deps {
    map: BTreeMap<Target, Entry>,
}

#[derive(Default)]
struct Entry {
    /// Every use is guarded: a weak extern, or only existence checks.
    all_guarded: Option<bool>,
    relos: Vec<String>,
    origins: Vec<Origin>,
}

impl Deps {
    fn add(&mut self, target: Target, guard: bool, origin: Origin) {
        let e = self.map.entry(target).or_default();
        e.all_guarded = Some(e.all_guarded.unwrap_or(true) && guard);
        if !e.origins.contains(&origin) {
            e.origins.push(origin);
        }
    }

    fn add_relo(&mut self, target: Target, kind: CoreReloKind, origin: Origin) {
        let e = self.map.entry(target).or_default();
        e.all_guarded = Some(e.all_guarded.unwrap_or(true) && kind.is_guard());
        let k = kind.as_str().to_string();
        if !e.relos.contains(&k) {
            e.relos.push(k);
        }
        if !e.origins.contains(&origin) {
            e.origins.push(origin);
        }
    }

    fn finish(self) -> Vec<Dependency> {
        self.map
            .into_iter()
            .map(|(target, mut e)| {
                e.origins.sort();
                Dependency {
                    target,
                    guard: e.all_guarded.unwrap_or(false),
                    relos: e.relos,
                    origins: e.origins,
                }
            })
            .collect()
    }
}

/// Each program's context struct, from its BTF function's first parameter.
fn context_types(btf: &Btf<'_>, programs: &mut [crate::Program]) {
    let mut norm = depsurf_surface::extract::btf::Normaliser::new(btf);
    for t in btf.types() {
        if t.kind() != BK::Func {
            continue;
        }
        let Some(p) = programs.iter_mut().find(|p| p.name == t.name()) else {
            continue;
        };
        let Some(proto) = btf.type_by_id(t.size_or_type()) else {
            continue;
        };
        let Some(first) = proto.params().next() else {
            continue;
        };
        let pointee = skip_mods(btf, first.type_id)
            .filter(|x| x.kind() == BK::Ptr)
            .and_then(|x| skip_mods(btf, x.size_or_type()))
            .filter(|x| matches!(x.kind(), BK::Struct | BK::Union) && !x.name().is_empty());
        if let Some(s) = pointee {
            p.ctx = Some((strip_flavour(s.name()).to_string(), norm.composite(&s)));
        }
    }
}

pub(crate) fn read(name: &str, bytes: &[u8]) -> Result<BpfObject, BpfError> {
    let elf = Elf::parse(bytes)?;
    let btf = match elf.section(".BTF") {
        Some(s) => Some(Btf::parse(s.data).map_err(|e| BpfError::Btf(e.to_string()))?),
        None => None,
    };
    let ext = match (elf.section(".BTF.ext"), &btf) {
        (Some(s), Some(_)) => {
            Some(BtfExt::parse(s.data).map_err(|e| BpfError::BtfExt(e.to_string()))?)
        }
        _ => None,
    };
    let code = Code::from_elf(&elf);
    let mut deps = Deps::default();
    let mut programs = programs::read(&code, &mut deps);
    if let Some(btf) = &btf {
        context_types(btf, &mut programs);
    }
    let externs = externs::read(&elf, btf.as_ref(), &code, &mut deps);
    helpers::read(&code, &mut deps);
    isa::read(&code, &programs, &mut deps);
    let maps = maps::read(&elf, btf.as_ref(), &mut deps);
    let program_at = |elf_sec: usize, insn: u64| -> String {
        code.sections
            .iter()
            .position(|s| s.elf_index == elf_sec)
            .and_then(|sec| {
                code.func_at(Loc {
                    sec,
                    insn: insn as usize,
                })
            })
            .map(|f| f.name.clone())
            .unwrap_or_default()
    };
    let relos = match (&btf, &ext) {
        (Some(btf), Some(ext)) => core::core_relos(btf, ext, &elf, &program_at, &mut deps)?,
        _ => Vec::new(),
    };

    // What needs the kernel's own BTF (/sys/kernel/btf/vmlinux): CO-RE relocations, kfuncs
    // and typed ksyms, and the program types that attach by BTF id.
    let btf_program = programs
        .iter()
        .find(|p| matches!(p.prog_type, Some("TRACING" | "LSM" | "STRUCT_OPS" | "EXT")));
    let btf_extern = deps
        .map
        .iter()
        .find(|(t, _)| matches!(t, Target::Kfunc { .. }))
        .and_then(|(_, e)| e.origins.first().cloned());
    let needs_btf = relos
        .first()
        .map(|r| Origin {
            section: r.section.clone(),
            program: program_at(
                elf.sections
                    .iter()
                    .find(|s| s.name == r.section)
                    .map_or(usize::MAX, |s| s.index),
                u64::from(r.insn),
            ),
            insn: Some(r.insn),
            relo: Some(r.kind),
        })
        .or_else(|| {
            btf_program.map(|p| Origin {
                section: p.section.clone(),
                program: p.name.clone(),
                insn: None,
                relo: None,
            })
        })
        .or(btf_extern);
    if let Some(origin) = needs_btf {
        deps.add(
            Target::KernelConfig {
                name: "DEBUG_INFO_BTF".into(),
                item: None,
                miss: false,
            },
            false,
            origin,
        );
    }

    let license = elf.section("license").map(|s| {
        let end = memchr::memchr(0, s.data).unwrap_or(s.data.len());
        String::from_utf8_lossy(&s.data[..end]).into_owned()
    });
    Ok(BpfObject {
        name: name.to_string(),
        programs,
        maps,
        externs,
        license,
        has_btf: btf.is_some(),
        deps: deps.finish(),
        core_relos: relos,
        code,
    })
}
