//! What an eBPF object needs from the kernel, with where each need comes from.

use std::collections::BTreeMap;

use depsurf_btf::ext::{BtfExt, CoreReloKind};
use depsurf_btf::{Btf, Kind as BK, Type};
use depsurf_surface::extract::btf::Normaliser;
use depsurf_surface::model::{Proto, TypeRef};
use serde::Serialize;

use crate::elf::{Elf, SHF_EXECINSTR, STT_FUNC};
use crate::sections::{self, Attach};
use crate::{BpfError, BpfObject, CoreRelo, Program};

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
        }
    }

    /// How the dependency reads in a matrix row (`task_struct::mm → mm_struct::exe_file`).
    pub fn label(&self) -> String {
        match &self.target {
            Target::Kprobe { func } => format!("kprobe {func}"),
            Target::KprobeMulti { glob } => format!("kprobe.multi {glob}"),
            Target::Trampoline { func } => format!("fentry {func}"),
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

/// A decoded instruction's fields.
struct Insn {
    code: u8,
    src: u8,
    imm: i32,
}

fn insn(data: &[u8], i: usize, be: bool) -> Option<Insn> {
    let b = data.get(i * 8..i * 8 + 8)?;
    let src = if be { b[1] & 0xf } else { b[1] >> 4 };
    let imm = [b[4], b[5], b[6], b[7]];
    Some(Insn {
        code: b[0],
        src,
        imm: if be {
            i32::from_be_bytes(imm)
        } else {
            i32::from_le_bytes(imm)
        },
    })
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

    // Programs: function symbols in executable sections other than .text.
    let mut programs = Vec::new();
    let mut deps = Deps::default();
    // (section index) → sorted (start insn, end insn, function name)
    let mut funcs_by_sec: BTreeMap<usize, Vec<(u64, u64, String)>> = BTreeMap::new();
    for s in &elf.symbols {
        if s.kind == STT_FUNC && !s.is_undefined() && !s.name.is_empty() {
            funcs_by_sec.entry(usize::from(s.shndx)).or_default().push((
                s.value / 8,
                s.value.saturating_add(s.size).div_ceil(8),
                s.name.clone(),
            ));
        }
    }
    for v in funcs_by_sec.values_mut() {
        v.sort();
    }
    let program_at = |sec: usize, insn: u64| -> String {
        funcs_by_sec
            .get(&sec)
            .and_then(|v| v.iter().find(|(a, b, _)| insn >= *a && insn < *b))
            .map(|(_, _, n)| n.clone())
            .unwrap_or_default()
    };
    for s in &elf.sections {
        if s.flags & SHF_EXECINSTR == 0 || s.data.is_empty() {
            continue;
        }
        let def = if s.name == ".text" {
            None
        } else {
            sections::parse(&s.name)
        };
        for (start, end, fname) in funcs_by_sec.get(&s.index).into_iter().flatten() {
            if s.name == ".text" {
                continue;
            }
            let origin = Origin {
                section: s.name.clone(),
                program: fname.clone(),
                insn: None,
                relo: None,
            };
            if let Some(d) = &def {
                deps.add(
                    Target::ProgType {
                        name: d.prog_type.to_string(),
                    },
                    false,
                    origin.clone(),
                );
                if let Some(a) = d.attach_type {
                    deps.add(
                        Target::AttachType {
                            name: a.to_string(),
                        },
                        false,
                        origin.clone(),
                    );
                }
                // What the program type needs from the kernel's configuration.
                let trampoline = matches!(d.attach, Attach::Trampoline(_))
                    || d.prog_type == "EXT"
                    || (d.prog_type == "LSM" && d.attach_type == Some("LSM_MAC"));
                if trampoline {
                    deps.add(
                        Target::KernelConfig {
                            name: "DYNAMIC_FTRACE_WITH_DIRECT_CALLS".into(),
                            item: None,
                            miss: false,
                        },
                        false,
                        origin.clone(),
                    );
                }
                if d.prog_type == "LSM" {
                    deps.add(
                        Target::KernelConfig {
                            name: "BPF_LSM".into(),
                            item: None,
                            miss: false,
                        },
                        false,
                        origin.clone(),
                    );
                    deps.add(
                        Target::KernelConfig {
                            name: "LSM".into(),
                            item: Some("bpf".into()),
                            miss: true,
                        },
                        false,
                        origin.clone(),
                    );
                }
                let attach = match &d.attach {
                    Attach::Kprobe(f) => Some(Target::Kprobe {
                        func: f.split('+').next().unwrap_or(f).to_string(),
                    }),
                    Attach::KprobeMulti(g) => Some(Target::KprobeMulti { glob: g.clone() }),
                    Attach::Trampoline(f) => Some(Target::Trampoline { func: f.clone() }),
                    Attach::Tracepoint { system, event } => Some(Target::Tracepoint {
                        system: system.clone(),
                        event: event.clone(),
                    }),
                    Attach::Syscall(n) => Some(Target::Syscall { name: n.clone() }),
                    Attach::Lsm(h) => Some(Target::Lsm { hook: h.clone() }),
                    Attach::Iter(n) => Some(Target::Iter { name: n.clone() }),
                    Attach::StructOps(_) | Attach::None => None,
                };
                if let Some(t) = attach {
                    deps.add(t, false, origin.clone());
                }
                // An iterator's context is `struct bpf_iter__<target>`.
                if let Attach::Iter(n) = &d.attach {
                    deps.add(
                        Target::Type {
                            name: format!("bpf_iter__{n}"),
                            btf_kind: "struct".into(),
                        },
                        false,
                        origin.clone(),
                    );
                }
            }
            programs.push(Program {
                name: fname.clone(),
                section: s.name.clone(),
                prog_type: def.as_ref().map(|d| d.prog_type),
                attach: def
                    .as_ref()
                    .map(|d| d.attach.clone())
                    .unwrap_or(Attach::None),
                start: *start as usize,
                insns: (end - start) as usize,
            });
        }
    }

    // Relocations in code: calls and loads of extern symbols (kfuncs, ksyms, kconfig).
    let mut reloc_insns: BTreeMap<(usize, u64), u32> = BTreeMap::new();
    for s in &elf.sections {
        if s.flags & SHF_EXECINSTR == 0 {
            continue;
        }
        for r in elf.rels_for(s.index) {
            reloc_insns.insert((s.index, r.offset / 8), r.sym);
        }
    }

    // Extern declarations, from the BTF's .ksyms and .kconfig sections.
    let mut externs: BTreeMap<String, Target> = BTreeMap::new();
    if let Some(btf) = &btf {
        let mut norm = Normaliser::new(btf);
        for t in btf.types() {
            if t.kind() != BK::Datasec {
                continue;
            }
            let sec = t.name();
            if sec != ".ksyms" && sec != ".kconfig" {
                continue;
            }
            for v in t.datasec_vars() {
                let Some(vt) = btf.type_by_id(v.type_id) else {
                    continue;
                };
                let n = vt.name().to_string();
                let target = match (sec, vt.kind()) {
                    // LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, ...: libbpf answers these.
                    (".kconfig", _) if !n.starts_with("CONFIG_") => continue,
                    (".kconfig", _) => Target::Config {
                        name: n["CONFIG_".len()..].to_string(),
                    },
                    (_, BK::Func) => Target::Kfunc {
                        name: n.clone(),
                        proto: norm.func_proto(&vt).map(|p| Proto {
                            params: p
                                .params
                                .into_iter()
                                .map(|mut q| {
                                    q.ty = unflavour(q.ty);
                                    q
                                })
                                .collect(),
                            ret: unflavour(p.ret),
                        }),
                    },
                    _ => Target::Ksym {
                        name: n.clone(),
                        typed: skip_mods(btf, vt.size_or_type())
                            .is_some_and(|x| x.kind() != BK::Void),
                    },
                };
                externs.insert(n, target);
            }
        }
    }
    // Extern functions declared without BTF still show up as undefined symbols.
    for s in &elf.symbols {
        if s.is_undefined()
            && !s.name.is_empty()
            && !s.name.starts_with("LINUX_")
            && !externs.contains_key(&s.name)
        {
            externs.insert(
                s.name.clone(),
                if s.kind == STT_FUNC {
                    Target::Kfunc {
                        name: s.name.clone(),
                        proto: None,
                    }
                } else {
                    Target::Ksym {
                        name: s.name.clone(),
                        typed: false,
                    }
                },
            );
        }
    }
    let weak: std::collections::HashSet<&str> = elf
        .symbols
        .iter()
        .filter(|s| s.is_undefined() && s.is_weak())
        .map(|s| s.name.as_str())
        .collect();
    let mut used_externs = std::collections::HashSet::new();
    for (&(sec, at), &sym) in &reloc_insns {
        let Some(sym) = elf.symbols.get(sym as usize) else {
            continue;
        };
        if !sym.is_undefined() {
            continue;
        }
        let Some(t) = externs.get(&sym.name) else {
            continue;
        };
        used_externs.insert(sym.name.clone());
        let section = &elf.sections[sec];
        deps.add(
            t.clone(),
            weak.contains(sym.name.as_str()),
            Origin {
                section: section.name.clone(),
                program: program_at(sec, at),
                insn: Some(at as u32),
                relo: None,
            },
        );
    }
    // Externs only referenced from data (e.g. .kconfig values read through the map).
    for (n, t) in &externs {
        if !used_externs.contains(n) {
            deps.add(
                t.clone(),
                weak.contains(n.as_str()),
                Origin {
                    section: ".extern".into(),
                    program: String::new(),
                    insn: None,
                    relo: None,
                },
            );
        }
    }

    // Helper calls: `call imm` with src_reg 0 and no relocation.
    for s in &elf.sections {
        if s.flags & SHF_EXECINSTR == 0 {
            continue;
        }
        for i in 0..s.data.len() / 8 {
            let Some(ins) = insn(s.data, i, elf.big_endian) else {
                break;
            };
            if ins.code == 0x85 && ins.src == 0 && !reloc_insns.contains_key(&(s.index, i as u64)) {
                if ins.imm <= 0 {
                    continue;
                }
                deps.add(
                    Target::Helper { id: ins.imm as u32 },
                    false,
                    Origin {
                        section: s.name.clone(),
                        program: program_at(s.index, i as u64),
                        insn: Some(i as u32),
                        relo: None,
                    },
                );
            }
        }
    }

    // Maps: BTF-defined (`.maps`) and legacy (`maps`).
    let mut maps = Vec::new();
    if let Some(btf) = &btf {
        for t in btf.types() {
            if t.kind() != BK::Datasec
                || !matches!(t.name(), ".maps" | ".struct_ops" | ".struct_ops.link")
            {
                continue;
            }
            let struct_ops = t.name().starts_with(".struct_ops");
            // The callbacks a struct_ops map sets: relocations to programs in its data.
            let callbacks: Vec<u64> = match (struct_ops, elf.section(t.name())) {
                (true, Some(sec)) => elf.rels_for(sec.index).iter().map(|r| r.offset).collect(),
                _ => Vec::new(),
            };
            for v in t.datasec_vars() {
                let Some(var) = btf.type_by_id(v.type_id) else {
                    continue;
                };
                let map_name = var.name().to_string();
                let Some(def) = skip_mods(btf, var.size_or_type()) else {
                    continue;
                };
                let origin = Origin {
                    section: t.name().to_string(),
                    program: map_name.clone(),
                    insn: None,
                    relo: None,
                };
                if struct_ops {
                    let owner = strip_flavour(def.name()).to_string();
                    let mut norm = Normaliser::new(btf);
                    let data = elf.section(t.name()).map(|s| s.data).unwrap_or(&[]);
                    let members: Vec<_> = def.members().collect();
                    for (k, m) in members.iter().enumerate() {
                        let at = u64::from(v.offset) + u64::from(m.bit_offset / 8);
                        let end = members
                            .get(k + 1)
                            .map_or(u64::from(v.offset) + u64::from(v.size), |n| {
                                u64::from(v.offset) + u64::from(n.bit_offset / 8)
                            });
                        // Callbacks (relocated to programs) and data the object sets: libbpf
                        // copies both into the kernel's struct by member name.
                        let set = data
                            .get(at as usize..(end as usize).min(data.len()))
                            .is_some_and(|b| b.iter().any(|&x| x != 0));
                        if m.name.is_empty() || !(callbacks.contains(&at) || set) {
                            continue;
                        }
                        deps.add(
                            Target::Field {
                                hops: vec![Hop {
                                    owner: owner.clone(),
                                    owner_is_union: false,
                                    field: m.name.to_string(),
                                    local: unflavour(norm.type_ref(m.type_id)),
                                }],
                            },
                            false,
                            origin.clone(),
                        );
                    }
                    deps.add(Target::StructOps { name: owner }, false, origin);
                    maps.push(map_name);
                    continue;
                }
                if !matches!(def.kind(), BK::Struct) {
                    continue;
                }
                let ty = def
                    .members()
                    .find(|m| m.name == "type")
                    .and_then(|m| btf.type_by_id(m.type_id))
                    .filter(|p| p.kind() == BK::Ptr)
                    .and_then(|p| btf.type_by_id(p.size_or_type()))
                    .filter(|a| a.kind() == BK::Array)
                    .map(|a| a.array().nelems);
                if let Some(id) = ty {
                    deps.add(Target::MapType { id }, false, origin);
                }
                maps.push(map_name);
            }
        }
    }
    if let Some(ms) = elf.section("maps") {
        for s in &elf.symbols {
            if usize::from(s.shndx) == ms.index && !s.name.is_empty() {
                let r = crate::elf::R {
                    b: ms.data,
                    be: elf.big_endian,
                };
                if let Some(id) = r.u32(s.value as usize) {
                    deps.add(
                        Target::MapType { id },
                        false,
                        Origin {
                            section: "maps".into(),
                            program: s.name.clone(),
                            insn: None,
                            relo: None,
                        },
                    );
                    maps.push(s.name.clone());
                }
            }
        }
    }

    // CO-RE relocations.
    let mut relos = Vec::new();
    if let (Some(btf), Some(ext)) = (&btf, &ext) {
        relos = core_relos(btf, ext, &elf, &program_at, &mut deps)?;
    }

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
        license,
        has_btf: btf.is_some(),
        deps: deps.finish(),
        core_relos: relos,
        code: elf
            .sections
            .iter()
            .filter(|s| s.flags & SHF_EXECINSTR != 0)
            .map(|s| (s.name.clone(), s.data.to_vec()))
            .collect(),
        big_endian: elf.big_endian,
    })
}

/// One CO-RE relocation read through the local BTF.
struct Relo {
    section: String,
    index: usize,
    sec_index: usize,
    insn: u32,
    kind: CoreReloKind,
    target: Target,
    /// For field accesses: the struct a pointer-typed last field points to.
    points_to: Option<String>,
    /// For field accesses: the root struct.
    root: Option<String>,
}

fn core_relos(
    btf: &Btf<'_>,
    ext: &BtfExt,
    elf: &Elf<'_>,
    program_at: &dyn Fn(usize, u64) -> String,
    deps: &mut Deps,
) -> Result<Vec<CoreRelo>, BpfError> {
    let mut norm = Normaliser::new(btf);
    let mut relos = Vec::new();
    for block in &ext.core_relos {
        let sec_name = btf.str_at(block.sec_name_off).unwrap_or("").to_string();
        let sec_index = elf
            .sections
            .iter()
            .find(|s| s.name == sec_name)
            .map(|s| s.index)
            .unwrap_or(usize::MAX);
        for (index, r) in block.records.iter().enumerate() {
            let access = btf.str_at(r.access_str_off).ok_or_else(|| {
                BpfError::BtfExt(format!("bad access string offset {}", r.access_str_off))
            })?;
            let spec: Vec<u32> = access
                .split(':')
                .map(|x| x.parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| BpfError::BtfExt(format!("bad access string {access:?}")))?;
            let Some(root) = skip_mods(btf, r.type_id) else {
                return Err(BpfError::BtfExt(format!(
                    "relocation at insn {} refers to type {} that the object's BTF lacks",
                    r.insn_off / 8,
                    r.type_id
                )));
            };
            let (target, points_to, root_name) = if r.kind.is_field() {
                let (hops, points_to) = field_hops(btf, &mut norm, &root, &spec);
                (
                    Target::Field { hops },
                    points_to,
                    Some(strip_flavour(root.name()).to_string()),
                )
            } else if r.kind.is_enumval() {
                let value = root
                    .enum_values()
                    .nth(spec.first().copied().unwrap_or(0) as usize)
                    .map(|v| strip_flavour(v.name).to_string())
                    .unwrap_or_default();
                (
                    Target::EnumValue {
                        enum_name: strip_flavour(root.name()).to_string(),
                        value,
                    },
                    None,
                    None,
                )
            } else {
                // Type relocations name the type as written (a typedef stays a typedef).
                let t = btf.type_by_id(r.type_id).unwrap_or(root);
                (
                    Target::Type {
                        name: strip_flavour(t.name()).to_string(),
                        btf_kind: t.kind().as_str().to_lowercase(),
                    },
                    None,
                    None,
                )
            };
            relos.push(Relo {
                section: sec_name.clone(),
                index,
                sec_index,
                insn: r.insn_off / 8,
                kind: r.kind,
                target,
                points_to,
                root: root_name,
            });
        }
    }
    // Chain pointer dereferences: `BPF_CORE_READ(t, mm, exe_file)` is two relocations, the
    // second rooted at the struct the first one's field points to.
    let mut used = vec![false; relos.len()];
    for i in 0..relos.len() {
        if used[i] {
            continue;
        }
        let mut chain = vec![i];
        let mut cur = i;
        loop {
            let next = (cur + 1..relos.len().min(cur + 8)).find(|&j| {
                !used[j]
                    && relos[j].section == relos[cur].section
                    && relos[j].kind == relos[cur].kind
                    && relos[j].insn > relos[cur].insn
                    && relos[cur].points_to.is_some()
                    && relos[j].root == relos[cur].points_to
                    && elf.sections.get(relos[j].sec_index).is_some_and(|s| {
                        derives(s.data, elf.big_endian, relos[cur].insn, relos[j].insn)
                    })
            });
            match next {
                Some(j) => {
                    chain.push(j);
                    cur = j;
                }
                None => break,
            }
        }
        for &c in &chain {
            used[c] = true;
        }
        let first = &relos[i];
        let target = if chain.len() == 1 {
            first.target.clone()
        } else {
            let mut hops = Vec::new();
            for &c in &chain {
                if let Target::Field { hops: h, .. } = &relos[c].target {
                    hops.extend(h.iter().cloned());
                }
            }
            Target::Field { hops }
        };
        deps.add_relo(
            target,
            first.kind,
            Origin {
                section: first.section.clone(),
                program: program_at(first.sec_index, u64::from(first.insn)),
                insn: Some(first.insn),
                relo: Some(first.kind.as_str()),
            },
        );
    }
    Ok(relos
        .into_iter()
        .map(|r| CoreRelo {
            section: r.section,
            index: r.index,
            insn: r.insn,
            kind: r.kind.as_str(),
            guard: r.kind.is_guard(),
            target: r.target,
        })
        .collect())
}

/// The hops of a field access string (`0:3:1`) from `root`, and the struct the last field
/// points to (for chaining).
fn field_hops(
    btf: &Btf<'_>,
    norm: &mut Normaliser<'_>,
    root: &Type<'_>,
    spec: &[u32],
) -> (Vec<Hop>, Option<String>) {
    let mut hops = Vec::new();
    let mut cur = *root;
    // The named struct that owns the next field (anonymous members are flattened).
    let mut owner = (
        strip_flavour(root.name()).to_string(),
        root.kind() == BK::Union,
    );
    let mut last_type = None;
    for &idx in spec.iter().skip(1) {
        match cur.kind() {
            BK::Struct | BK::Union => {
                let Some(m) = cur.members().nth(idx as usize) else {
                    break;
                };
                let Some(next) = skip_mods(btf, m.type_id) else {
                    break;
                };
                if !m.name.is_empty() {
                    hops.push(Hop {
                        owner: owner.0.clone(),
                        owner_is_union: owner.1,
                        field: m.name.to_string(),
                        local: unflavour(norm.type_ref(m.type_id)),
                    });
                    last_type = Some(m.type_id);
                }
                if matches!(next.kind(), BK::Struct | BK::Union) && !next.name().is_empty() {
                    owner = (
                        strip_flavour(next.name()).to_string(),
                        next.kind() == BK::Union,
                    );
                } else if !m.name.is_empty() && matches!(next.kind(), BK::Struct | BK::Union) {
                    // A named member of an anonymous struct type.
                    owner = (format!("{}.{}", owner.0, m.name), next.kind() == BK::Union);
                }
                cur = next;
            }
            BK::Array => {
                let Some(next) = skip_mods(btf, cur.array().elem_type) else {
                    break;
                };
                if matches!(next.kind(), BK::Struct | BK::Union) && !next.name().is_empty() {
                    owner = (
                        strip_flavour(next.name()).to_string(),
                        next.kind() == BK::Union,
                    );
                }
                cur = next;
            }
            _ => break,
        }
    }
    let points_to = last_type
        .and_then(|id| skip_mods(btf, id))
        .filter(|t| t.kind() == BK::Ptr)
        .and_then(|p| skip_mods(btf, p.size_or_type()))
        .filter(|t| matches!(t.kind(), BK::Struct | BK::Union))
        .map(|t| strip_flavour(t.name()).to_string());
    (hops, points_to)
}

/// Whether the access relocated at instruction `j` reads through the pointer that the access
/// at `i` read: the compiler may reuse an offset for another base, so the types alone do not
/// say. Two shapes: a direct load whose base register the load at `i` wrote; or an offset
/// (`rX = off`) added to a pointer read back from the stack, where `bpf_probe_read_kernel()`
/// left the result of the read at `i`.
fn derives(code: &[u8], be: bool, i: u32, j: u32) -> bool {
    let (i, j) = (i as usize, j as usize);
    let Some(at_j) = insn_regs(code, j, be) else {
        return false;
    };
    // The last instruction before `before` (and after `i`) that writes `reg`.
    let last_def = |reg: u8, before: usize| -> Option<usize> {
        (i..before).rev().find(|&k| {
            insn_regs(code, k, be).is_some_and(|x| match x.code & 7 {
                0 | 1 | 4 | 7 => x.dst == reg,
                5 | 6 if x.code & 0xf0 == 0x80 => reg <= 5,
                _ => false,
            })
        })
    };
    if at_j.code & 7 == 1 {
        return last_def(at_j.src, j) == Some(i);
    }
    let offset_reg = at_j.dst;
    for k in j + 1..j + 9 {
        let Some(x) = insn_regs(code, k, be) else {
            break;
        };
        if x.code != 0x0f {
            continue;
        }
        let other = if x.dst == offset_reg {
            x.src
        } else if x.src == offset_reg {
            x.dst
        } else {
            continue;
        };
        return last_def(other, k)
            .and_then(|d| insn_regs(code, d, be))
            .is_some_and(|d| {
                d.code & 7 == 1 && d.src == 10 && last_def(other, k).is_some_and(|at| at > i)
            });
    }
    false
}

/// An instruction's opcode and registers.
struct Regs {
    code: u8,
    dst: u8,
    src: u8,
}

fn insn_regs(code: &[u8], k: usize, be: bool) -> Option<Regs> {
    let b = code.get(k * 8..k * 8 + 8)?;
    let (dst, src) = if be {
        (b[1] >> 4, b[1] & 0xf)
    } else {
        (b[1] & 0xf, b[1] >> 4)
    };
    Some(Regs {
        code: b[0],
        dst,
        src,
    })
}
