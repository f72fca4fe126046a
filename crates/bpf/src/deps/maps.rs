//! Maps: BTF-defined (`.maps`, `.struct_ops`) and legacy (`maps`) ones, with their types.
//! libbpf creates every map of an object when it loads any of its programs. A struct_ops
//! map also needs its struct and every member the object sets.

use depsurf_btf::{Btf, Kind as BK};
use depsurf_surface::extract::btf::Normaliser;

use super::{Deps, Hop, Origin, Target, skip_mods, strip_flavour, unflavour};
use crate::elf::Elf;

/// The object's map names, and a dependency on each map's type.
pub(super) fn read(elf: &Elf<'_>, btf: Option<&Btf<'_>>, deps: &mut Deps) -> Vec<String> {
    let mut maps = Vec::new();
    if let Some(btf) = btf {
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

    maps
}
