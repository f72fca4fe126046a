//! Extern symbols: kfuncs and kernel variables (`__ksym`) and configuration values
//! (`__kconfig`), declared in the BTF's `.ksyms` and `.kconfig` sections (or, without BTF,
//! as undefined symbols), and the instructions that use them.

use std::collections::{BTreeMap, HashSet};

use depsurf_btf::{Btf, Kind as BK};
use depsurf_surface::extract::btf::Normaliser;
use depsurf_surface::model::Proto;

use super::{Deps, Origin, Target, skip_mods, unflavour};
use crate::code::{Code, Loc};
use crate::elf::{Elf, STT_FUNC};
use crate::{Extern, ExternKind};

/// The object's externs, and a dependency for each (at every instruction that uses it, or
/// once for the object when only its data refers to it).
pub(super) fn read(
    elf: &Elf<'_>,
    btf: Option<&Btf<'_>>,
    code: &Code,
    deps: &mut Deps,
) -> Vec<Extern> {
    let mut externs: BTreeMap<String, Target> = BTreeMap::new();
    // `LINUX_KERNEL_VERSION`, `LINUX_HAS_BPF_COOKIE`, ...: libbpf answers these itself.
    let mut libbpf_values: HashSet<String> = HashSet::new();
    if let Some(btf) = btf {
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
                    (".kconfig", _) if !n.starts_with("CONFIG_") => {
                        libbpf_values.insert(n);
                        continue;
                    }
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
    let weak: HashSet<&str> = elf
        .symbols
        .iter()
        .filter(|s| s.is_undefined() && s.is_weak())
        .map(|s| s.name.as_str())
        .collect();
    let mut used = HashSet::new();
    for (sec, s) in code.sections.iter().enumerate() {
        for (&at, r) in &s.relocs {
            if r.section.is_some() {
                continue;
            }
            let Some(t) = externs.get(&r.symbol) else {
                continue;
            };
            used.insert(r.symbol.clone());
            deps.add(
                t.clone(),
                weak.contains(r.symbol.as_str()),
                Origin {
                    section: s.name.clone(),
                    program: code
                        .func_at(Loc { sec, insn: at })
                        .map(|f| f.name.clone())
                        .unwrap_or_default(),
                    insn: Some(at as u32),
                    relo: None,
                },
            );
        }
    }
    // Externs only referenced from data (e.g. .kconfig values read through the map).
    for (n, t) in &externs {
        if !used.contains(n) {
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
    let mut out: Vec<Extern> = externs
        .into_iter()
        .map(|(name, t)| Extern {
            weak: weak.contains(name.as_str()),
            kind: match t {
                Target::Kfunc { .. } => ExternKind::Kfunc,
                Target::Config { .. } => ExternKind::Kconfig,
                _ => ExternKind::Ksym,
            },
            name,
        })
        .collect();
    out.extend(libbpf_values.into_iter().map(|name| Extern {
        weak: weak.contains(name.as_str()),
        kind: ExternKind::Libbpf,
        name,
    }));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
