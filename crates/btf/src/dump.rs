//! The raw text dump, line for line the format of `bpftool btf dump file X format raw`
//! (bpftool 7.x), so the two can be compared with `diff`.

use std::io::{self, Write};

use crate::btf::Btf;
use crate::kind::Kind;
use crate::types::{IntBits, Type};

fn name_or_anon(name: &str) -> &str {
    if name.is_empty() { "(anon)" } else { name }
}

fn int_encoding(enc: u8) -> &'static str {
    match enc {
        0 => "(none)",
        IntBits::SIGNED => "SIGNED",
        IntBits::CHAR => "CHAR",
        IntBits::BOOL => "BOOL",
        _ => "UNKN",
    }
}

fn linkage(l: u32, var: bool) -> &'static str {
    match (l, var) {
        (0, _) => "static",
        (1, _) => "global",
        (2, _) => "extern",
        _ => "(unknown)",
    }
}

/// Writes one type in bpftool's raw format, ending with a newline.
pub fn dump_type(btf: &Btf<'_>, t: &Type<'_>, out: &mut dyn Write) -> io::Result<()> {
    let kind = t.kind();
    write!(out, "[{}] {} '{}'", t.id(), kind, name_or_anon(t.name()))?;
    match kind {
        Kind::Int => {
            let b = t.int_bits();
            write!(
                out,
                " size={} bits_offset={} nr_bits={} encoding={}",
                t.size_or_type(),
                b.offset,
                b.nr_bits,
                int_encoding(b.encoding)
            )?;
        }
        Kind::Ptr
        | Kind::Const
        | Kind::Volatile
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => {
            write!(out, " type_id={}", t.size_or_type())?;
        }
        Kind::Array => {
            let a = t.array();
            write!(
                out,
                " type_id={} index_type_id={} nr_elems={}",
                a.elem_type, a.index_type, a.nelems
            )?;
        }
        Kind::Struct | Kind::Union => {
            write!(out, " size={} vlen={}", t.size_or_type(), t.vlen())?;
            for m in t.members() {
                write!(
                    out,
                    "\n\t'{}' type_id={} bits_offset={}",
                    name_or_anon(m.name),
                    m.type_id,
                    m.bit_offset
                )?;
                if m.bitfield_size != 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = t.enum_is_signed();
            write!(
                out,
                " encoding={} size={} vlen={}",
                if signed { "SIGNED" } else { "UNSIGNED" },
                t.size_or_type(),
                t.vlen()
            )?;
            for v in t.enum_values() {
                let name = name_or_anon(v.name);
                match (kind, signed) {
                    (Kind::Enum, true) => write!(out, "\n\t'{name}' val={}", v.bits as u32 as i32)?,
                    (Kind::Enum, false) => write!(out, "\n\t'{name}' val={}", v.bits as u32)?,
                    (_, true) => write!(out, "\n\t'{name}' val={}LL", v.bits as i64)?,
                    (_, false) => write!(out, "\n\t'{name}' val={}ULL", v.bits)?,
                }
            }
        }
        Kind::Fwd => {
            write!(
                out,
                " fwd_kind={}",
                if t.fwd_is_union() { "union" } else { "struct" }
            )?;
        }
        Kind::Func => {
            write!(
                out,
                " type_id={} linkage={}",
                t.size_or_type(),
                linkage(t.func_linkage(), false)
            )?;
        }
        Kind::FuncProto => {
            write!(out, " ret_type_id={} vlen={}", t.size_or_type(), t.vlen())?;
            for p in t.params() {
                write!(out, "\n\t'{}' type_id={}", name_or_anon(p.name), p.type_id)?;
            }
        }
        Kind::Var => {
            write!(
                out,
                " type_id={}, linkage={}",
                t.size_or_type(),
                linkage(t.var_linkage(), true)
            )?;
        }
        Kind::Datasec => {
            write!(out, " size={} vlen={}", t.size_or_type(), t.vlen())?;
            for v in t.datasec_vars() {
                write!(
                    out,
                    "\n\ttype_id={} offset={} size={}",
                    v.type_id, v.offset, v.size
                )?;
                if let Some(vt) = btf.type_by_id(v.type_id) {
                    write!(out, " ({} '{}')", vt.kind(), name_or_anon(vt.name()))?;
                }
            }
        }
        Kind::Float => write!(out, " size={}", t.size_or_type())?,
        Kind::DeclTag => write!(
            out,
            " type_id={} component_idx={}",
            t.size_or_type(),
            t.decl_tag_component()
        )?,
        Kind::Void => {}
    }
    out.write_all(b"\n")
}

/// Writes every type this blob defines (not its base's), like `bpftool btf dump file`.
pub fn dump_raw(btf: &Btf<'_>, out: &mut dyn Write) -> io::Result<()> {
    for t in btf.types() {
        dump_type(btf, &t, out)?;
    }
    Ok(())
}
