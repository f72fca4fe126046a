//! Normalised types, functions, LSM hooks and kfuncs from BTF.

use std::collections::HashMap;

use depsurf_btf::{Btf, Kind as BK, Type};

use crate::model::{Composite, Enum, Member, Param, Proto, Surface, TypeRef};

/// Deeper chains of pointers and qualifiers than this only occur in malformed BTF.
const MAX_DEPTH: usize = 64;

/// Converts BTF types to normalised [`TypeRef`]s, remembering each conversion.
pub struct Normaliser<'b> {
    btf: &'b Btf<'b>,
    cache: HashMap<u32, TypeRef>,
}

impl<'b> Normaliser<'b> {
    pub fn new(btf: &'b Btf<'b>) -> Self {
        Normaliser {
            btf,
            cache: HashMap::new(),
        }
    }

    fn named(t: &Type<'_>) -> String {
        match t.name() {
            "" => "(anon)".to_string(),
            n => n.to_string(),
        }
    }

    /// The normalised reference to type `id`.
    pub fn type_ref(&mut self, id: u32) -> TypeRef {
        self.type_ref_at(id, 0)
    }

    fn type_ref_at(&mut self, id: u32, depth: usize) -> TypeRef {
        if let Some(t) = self.cache.get(&id) {
            return t.clone();
        }
        let Some(t) = self.btf.type_by_id(id) else {
            return TypeRef::Void;
        };
        if depth > MAX_DEPTH {
            return TypeRef::Void;
        }
        let boxed = |s: &mut Self, target: u32| Box::new(s.type_ref_at(target, depth + 1));
        let r = match t.kind() {
            BK::Void => TypeRef::Void,
            BK::Int => TypeRef::Int(Self::named(&t)),
            BK::Float => TypeRef::Float(Self::named(&t)),
            BK::Struct => TypeRef::Struct(Self::named(&t)),
            BK::Union => TypeRef::Union(Self::named(&t)),
            BK::Enum | BK::Enum64 => TypeRef::Enum {
                name: Self::named(&t),
                size: t.size().unwrap_or(4),
            },
            BK::Typedef => TypeRef::Typedef(Self::named(&t)),
            BK::Fwd => TypeRef::Fwd {
                name: Self::named(&t),
                union: t.fwd_is_union(),
            },
            BK::Ptr => TypeRef::Ptr(boxed(self, t.size_or_type())),
            BK::Const => TypeRef::Const(boxed(self, t.size_or_type())),
            BK::Volatile => TypeRef::Volatile(boxed(self, t.size_or_type())),
            BK::Restrict => TypeRef::Restrict(boxed(self, t.size_or_type())),
            // Type tags (`__user`, `__rcu`) are annotations DWARF does not carry.
            BK::TypeTag => self.type_ref_at(t.size_or_type(), depth + 1),
            BK::Array => {
                // One dimension for all the elements, as older pahole writes multi-dimensional
                // arrays and as DWARF types are normalised: the pahole version then makes no
                // difference.
                let a = t.array();
                match self.type_ref_at(a.elem_type, depth + 1) {
                    TypeRef::Array { nelems, elem } => TypeRef::Array {
                        nelems: a.nelems.saturating_mul(nelems),
                        elem,
                    },
                    elem => TypeRef::Array {
                        nelems: a.nelems,
                        elem: Box::new(elem),
                    },
                }
            }
            BK::FuncProto => TypeRef::FuncProto(Box::new(self.proto_at(&t, depth + 1))),
            BK::Func | BK::Var | BK::DeclTag => self.type_ref_at(t.size_or_type(), depth + 1),
            BK::Datasec => TypeRef::Void,
        };
        self.cache.insert(id, r.clone());
        r
    }

    fn proto_at(&mut self, proto: &Type<'_>, depth: usize) -> Proto {
        let params = proto
            .params()
            .map(|p| Param {
                name: p.name.to_string(),
                ty: self.type_ref_at(p.type_id, depth + 1),
            })
            .collect();
        Proto {
            params,
            ret: self.type_ref_at(proto.size_or_type(), depth + 1),
        }
    }

    /// The prototype of a FUNC (or of a FUNC_PROTO).
    pub fn func_proto(&mut self, func: &Type<'_>) -> Option<Proto> {
        let proto = match func.kind() {
            BK::FuncProto => *func,
            BK::Func => self.btf.type_by_id(func.size_or_type())?,
            _ => return None,
        };
        (proto.kind() == BK::FuncProto).then(|| self.proto_at(&proto, 0))
    }

    /// The member type, seen through type tags, if it is an anonymous struct or union.
    fn anonymous_composite(&self, id: u32) -> Option<Type<'b>> {
        let mut t = self.btf.type_by_id(id)?;
        for _ in 0..MAX_DEPTH {
            match t.kind() {
                BK::TypeTag => t = self.btf.type_by_id(t.size_or_type())?,
                BK::Struct | BK::Union if t.name().is_empty() => return Some(t),
                _ => return None,
            }
        }
        None
    }

    /// A struct or union with anonymous struct/union members flattened into it and other
    /// anonymous members named `(anon)`, `(anon-1)`, ...
    pub fn composite(&mut self, t: &Type<'_>) -> Composite {
        let mut members = Vec::with_capacity(t.vlen());
        let mut anon = 0usize;
        self.flatten(t, 0, &mut members, &mut anon, 0);
        Composite {
            size: t.size().unwrap_or(0),
            members,
        }
    }

    fn flatten(
        &mut self,
        t: &Type<'_>,
        base: u32,
        out: &mut Vec<Member>,
        anon: &mut usize,
        depth: usize,
    ) {
        for m in t.members() {
            let offset = base.saturating_add(m.bit_offset);
            if m.name.is_empty()
                && depth < MAX_DEPTH
                && let Some(inner) = self.anonymous_composite(m.type_id)
            {
                self.flatten(&inner, offset, out, anon, depth + 1);
                continue;
            }
            let name = if m.name.is_empty() {
                let n = match *anon {
                    0 => "(anon)".to_string(),
                    k => format!("(anon-{k})"),
                };
                *anon += 1;
                n
            } else {
                m.name.to_string()
            };
            out.push(Member {
                name,
                bit_offset: offset,
                bitfield: m.bitfield_size,
                ty: self.type_ref(m.type_id),
            });
        }
    }
}

/// An enum's values as signed numbers of the enum's size.
pub fn enum_values(t: &Type<'_>) -> Vec<(String, i64)> {
    let bits = t.size().unwrap_or(4).clamp(1, 8) * 8;
    t.enum_values()
        .map(|v| {
            let shift = 64 - bits;
            let signed = ((v.bits << shift) as i64) >> shift;
            (v.name.to_string(), signed)
        })
        .collect()
}

/// Fills `s` with the structs, unions, enums and functions of `btf` (first definition of a
/// name wins), and the kfuncs tagged `bpf_kfunc`.
pub fn extract_types(btf: &Btf<'_>, s: &mut Surface) {
    let mut n = Normaliser::new(btf);
    let mut anon_enum: Option<Enum> = None;
    for t in btf.types() {
        match t.kind() {
            BK::Struct | BK::Union if !t.name().is_empty() => {
                let map = if t.kind() == BK::Struct {
                    &mut s.structs
                } else {
                    &mut s.unions
                };
                if !map.contains_key(t.name()) {
                    let c = n.composite(&t);
                    map.insert(t.name().to_string(), c);
                }
            }
            // pahole writes a declared-only enum as an enum without values: a declaration,
            // not a definition (DWARF marks it DW_AT_declaration).
            BK::Enum | BK::Enum64 if t.vlen() == 0 => {}
            BK::Enum | BK::Enum64 => {
                let values = enum_values(&t);
                let size = t.size().unwrap_or(4);
                if t.name().is_empty() {
                    let e = anon_enum.get_or_insert_with(|| Enum {
                        size,
                        values: Vec::new(),
                    });
                    e.size = e.size.max(size);
                    e.values.extend(values);
                } else if !s.enums.contains_key(t.name()) {
                    s.enums.insert(t.name().to_string(), Enum { size, values });
                }
            }
            // Kernel variables BTF describes (pahole writes the per-CPU ones): what typed
            // `__ksym` externs need.
            BK::Var if !t.name().is_empty() && !s.vars.contains_key(t.name()) => {
                s.vars
                    .insert(t.name().to_string(), n.type_ref(t.size_or_type()));
            }
            // Base types, for the research layout's types_int/ (which lists floating-point
            // types among them).
            BK::Int | BK::Float if !t.name().is_empty() => {
                if let Some(size) = t.size() {
                    s.ints.entry(t.name().to_string()).or_insert(size);
                }
            }
            BK::Func if !t.name().is_empty() && !s.funcs.contains_key(t.name()) => {
                if let Some(p) = n.func_proto(&t) {
                    s.funcs.insert(t.name().to_string(), p);
                }
            }
            _ => {}
        }
    }
    if let Some(e) = anon_enum {
        s.enums.insert(
            "(anon)".to_string(),
            Enum::merged_anonymous(e.size, e.values),
        );
    }
    for t in btf.types() {
        if t.kind() == BK::DeclTag
            && t.name() == "bpf_kfunc"
            && t.decl_tag_component() == -1
            && let Some(f) = btf.type_by_id(t.size_or_type())
            && f.kind() == BK::Func
            && let Some(p) = s.funcs.get(f.name())
        {
            s.kfuncs.insert(f.name().to_string(), p.clone());
        }
    }
}

/// How many different definitions each named struct, union, enum and function has in
/// `btf`: BTF keeps every distinct definition of a name, where the surface keeps the first.
/// Keys are (`"struct"|"union"|"enum"|"func"`, name).
pub fn definitions_per_name(btf: &Btf<'_>) -> HashMap<(&'static str, String), usize> {
    let mut n = Normaliser::new(btf);
    let mut seen: HashMap<(&'static str, String), Vec<String>> = HashMap::new();
    for t in btf.types() {
        if t.name().is_empty() {
            continue;
        }
        let (kind, def) = match t.kind() {
            BK::Struct => ("struct", format!("{:?}", n.composite(&t))),
            BK::Union => ("union", format!("{:?}", n.composite(&t))),
            BK::Enum | BK::Enum64 => ("enum", format!("{:?}", enum_values(&t))),
            BK::Func => match n.func_proto(&t) {
                Some(p) => ("func", format!("{p:?}")),
                None => continue,
            },
            _ => continue,
        };
        let defs = seen.entry((kind, t.name().to_string())).or_default();
        if !defs.contains(&def) {
            defs.push(def);
        }
    }
    seen.into_iter().map(|(k, v)| (k, v.len())).collect()
}

/// The function a `__BTF_ID__func__<name>__<n>` symbol lists, if it is one.
pub fn btf_id_func(symbol: &str) -> Option<&str> {
    let rest = symbol.strip_prefix("__BTF_ID__func__")?;
    let (name, n) = rest.rsplit_once("__")?;
    (!name.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use depsurf_btf::{Endian, builder::Builder};

    #[test]
    fn flattens_anonymous_members_and_merges_anonymous_enums() {
        let mut b = Builder::new(Endian::Little);
        let int = b.int("int", 4, 32, 1); // 1
        let inner = b.composite(BK::Struct, "", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]); // 2
        let un = b.composite(BK::Union, "", 8, &[("c", int, 0, 0), ("", inner, 0, 0)]); // 3
        b.composite(
            BK::Struct,
            "outer",
            16,
            &[
                ("x", int, 0, 0),
                ("", un, 64, 0),
                ("", int, 32, 4),
                ("", int, 36, 4),
            ],
        );
        b.enumeration("", 4, false, &[("A", 0), ("NEG", 0xffff_ffff)]);
        b.enumeration("", 1, false, &[("B", 0xff)]);
        b.enumeration("named", 4, true, &[("N", -2)]);
        let blob = b.finish();
        let btf = Btf::parse(&blob).unwrap();
        let mut s = Surface::default();
        extract_types(&btf, &mut s);
        let outer = &s.structs["outer"];
        let names: Vec<(&str, u32)> = outer
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.bit_offset))
            .collect();
        assert_eq!(
            names,
            [
                ("x", 0),
                ("c", 64),
                ("a", 64),
                ("b", 96),
                ("(anon)", 32),
                ("(anon-1)", 36)
            ]
        );
        assert_eq!(
            s.enums["(anon)"].values,
            [
                ("A".to_string(), 0),
                ("B".to_string(), -1),
                ("NEG".to_string(), -1)
            ]
        );
        assert_eq!(s.enums["named"].values, [("N".to_string(), -2)]);
    }

    #[test]
    fn btf_id_symbols() {
        assert_eq!(
            btf_id_func("__BTF_ID__func__bpf_task_acquire__612"),
            Some("bpf_task_acquire")
        );
        assert_eq!(btf_id_func("__BTF_ID__func__a__b__7"), Some("a__b"));
        assert_eq!(btf_id_func("__BTF_ID__struct__task_struct__1"), None);
        assert_eq!(btf_id_func("__BTF_ID__func__x__"), None);
    }
}
