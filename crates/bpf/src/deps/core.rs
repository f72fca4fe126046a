//! CO-RE relocations (`.BTF.ext`): what each names in the object's own types (fields with
//! their access paths, types, enum values), and field reads chained through pointers.

use depsurf_btf::ext::{BtfExt, CoreReloKind};
use depsurf_btf::{Btf, Kind as BK, Type};
use depsurf_surface::extract::btf::Normaliser;

use super::{Deps, Hop, Origin, Target, skip_mods, strip_flavour, unflavour};
use crate::elf::Elf;
use crate::insn::Insn;
use crate::{BpfError, CoreRelo};

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

pub(super) fn core_relos(
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
        let target = if chain.len() == 1 {
            relos[i].target.clone()
        } else {
            let mut hops = Vec::new();
            for &c in &chain {
                if let Target::Field { hops: h, .. } = &relos[c].target {
                    hops.extend(h.iter().cloned());
                }
            }
            Target::Field { hops }
        };
        // Every relocation of the chain is a use: libbpf poisons exactly the instruction of
        // a relocation that fails, which may be any hop's.
        for &c in &chain {
            let r = &relos[c];
            deps.add_relo(
                target.clone(),
                r.kind,
                Origin {
                    section: r.section.clone(),
                    program: program_at(r.sec_index, u64::from(r.insn)),
                    insn: Some(r.insn),
                    relo: Some(r.kind.as_str()),
                },
            );
        }
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
    let Some(at_j) = Insn::at(code, j, be) else {
        return false;
    };
    // The last instruction before `before` (and after `i`) that writes `reg`.
    let last_def = |reg: u8, before: usize| -> Option<usize> {
        (i..before).rev().find(|&k| {
            Insn::at(code, k, be).is_some_and(|x| match x.code & 7 {
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
        let Some(x) = Insn::at(code, k, be) else {
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
            .and_then(|d| Insn::at(code, d, be))
            .is_some_and(|d| {
                d.code & 7 == 1 && d.src == 10 && last_def(other, k).is_some_and(|at| at > i)
            });
    }
    false
}
