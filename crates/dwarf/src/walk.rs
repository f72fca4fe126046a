//! The one pass over every compile unit: subprograms, inline and call sites, and where the
//! named types are defined. Units are independent, so they are read in parallel; each
//! entry is read with only the attributes this needs decoded (the rest are skipped).

use std::collections::HashMap;

use gimli::{AttributeValue, EndianSlice, RunTimeEndian, constants as dw};

use crate::DwarfError;

pub type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// A subprogram DIE.
#[derive(Clone, Debug)]
pub struct Sub<'a> {
    /// Offset in `.debug_info`.
    pub off: usize,
    pub cu: u32,
    pub name: Option<&'a str>,
    pub external: bool,
    pub declaration: bool,
    pub inline: Option<u64>,
    pub decl_file: Option<u64>,
    pub decl_line: u64,
    pub addr: Option<u64>,
    /// `DW_AT_abstract_origin` or `DW_AT_specification`.
    pub origin: Option<usize>,
}

/// An inlined call or a call site: `callee` is a DIE offset (resolved to a function later),
/// `caller` the DIE offset that names the enclosing function.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    pub callee: usize,
    pub caller: Option<usize>,
    pub inlined: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeKind {
    Struct,
    Union,
    Enum,
}

/// A type definition (not a declaration) somewhere in the unit.
#[derive(Clone, Copy, Debug)]
pub struct TypeDef<'a> {
    pub kind: TypeKind,
    pub name: Option<&'a str>,
    pub off: usize,
}

/// What one compile unit holds.
#[derive(Debug, Default)]
pub struct UnitOut<'a> {
    pub index: u32,
    /// The unit's offset in `.debug_info`.
    pub offset: usize,
    /// The unit's source file, relative to the kernel tree.
    pub name: String,
    pub rust: bool,
    /// An assembler unit (`DW_LANG_Mips_Assembler`): the assembler writes `DW_AT_external`
    /// false for a weak symbol, so whether its functions are global is the symbols' to say.
    pub assembly: bool,
    /// Declaration file index → path relative to the kernel tree (for indices used).
    pub files: HashMap<u64, String>,
    pub subs: Vec<Sub<'a>>,
    pub sites: Vec<Site>,
    pub types: Vec<TypeDef<'a>>,
}

const DW_LANG_RUST: u16 = 0x1c;
const DW_LANG_MIPS_ASSEMBLER: u16 = 0x8001;

pub fn str_of<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    v: AttributeValue<R<'a>>,
) -> Option<&'a str> {
    let s = dwarf.attr_string(unit, v).ok()?;
    std::str::from_utf8(s.slice()).ok()
}

fn global(unit: &gimli::Unit<R<'_>>, v: &AttributeValue<R<'_>>) -> Option<usize> {
    match *v {
        AttributeValue::UnitRef(o) => {
            let base = unit.header.debug_info_offset()?.0;
            Some(base + o.0)
        }
        AttributeValue::DebugInfoRef(o) => Some(o.0),
        _ => None,
    }
}

/// A path as the kernel tree names it: the build and source directories of the build
/// machine removed (`/build/.../linux-6.1.170/debian/build/build_amd64_none_amd64/`).
pub fn tree_path(path: &str, comp_dir: &str) -> String {
    let joined = if path.starts_with('/') || comp_dir.is_empty() {
        path.to_string()
    } else {
        format!("{comp_dir}/{path}")
    };
    // Collapse `.` and `..`.
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let norm = format!("/{}", parts.join("/"));
    let build = {
        let mut parts: Vec<&str> = Vec::new();
        for c in comp_dir.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        format!("/{}", parts.join("/"))
    };
    let source = match build.find("/debian/build/") {
        Some(i) => build[..i].to_string(),
        None => build.clone(),
    };
    for root in [&build, &source] {
        if root.len() > 1
            && let Some(rest) = norm.strip_prefix(root.as_str())
            && let Some(rest) = rest.strip_prefix('/')
        {
            // Debian builds featuresets from a copy of the tree (debian/build/source_rt).
            if let Some(sub) = rest.strip_prefix("debian/build/")
                && let Some((_, inner)) = sub.split_once('/')
            {
                return inner.to_string();
            }
            return rest.to_string();
        }
    }
    norm
}

fn file_path(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    index: u64,
    comp_dir: &str,
) -> Option<String> {
    let lp = unit.line_program.as_ref()?;
    let header = lp.header();
    let f = header.file(index)?;
    let name = str_of(dwarf, unit, f.path_name())?;
    let dir = f
        .directory(header)
        .and_then(|d| str_of(dwarf, unit, d))
        .unwrap_or("");
    let path = if name.starts_with('/') || dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    };
    Some(tree_path(&path, comp_dir))
}

/// Reads one compile unit.
pub fn scan_unit<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: gimli::UnitHeader<R<'a>>,
    index: u32,
) -> Result<UnitOut<'a>, DwarfError> {
    let unit_off = header.debug_info_offset().map(|o| o.0).unwrap_or(0);
    let ctx = |e: gimli::Error| DwarfError::Unit {
        offset: unit_off,
        what: e.to_string(),
    };
    let unit = dwarf.unit(header).map_err(ctx)?;
    let comp_dir = unit
        .comp_dir
        .and_then(|d| std::str::from_utf8(d.slice()).ok())
        .unwrap_or("")
        .to_string();
    let mut out = UnitOut {
        index,
        offset: unit_off,
        name: unit
            .name
            .and_then(|n| std::str::from_utf8(n.slice()).ok())
            .map(|n| tree_path(n, &comp_dir))
            .unwrap_or_default(),
        ..UnitOut::default()
    };
    let mut entries = unit.entries_raw(None).map_err(ctx)?;
    // The enclosing function of each open depth: (depth, DIE naming the function).
    let mut scopes: Vec<(isize, usize)> = Vec::new();
    let base = unit_off;
    let mut first = true;
    while !entries.is_empty() {
        let depth = entries.next_depth();
        let off = base + entries.next_offset().0;
        let Some(abbrev) = entries.read_abbreviation().map_err(ctx)? else {
            continue;
        };
        while scopes.last().is_some_and(|&(d, _)| d >= depth) {
            scopes.pop();
        }
        let tag = abbrev.tag();
        let specs = abbrev.attributes();
        if first {
            first = false;
            for spec in specs {
                let a = entries.read_attribute(*spec).map_err(ctx)?;
                if a.name() == dw::DW_AT_language
                    && let AttributeValue::Language(l) = a.value()
                {
                    out.rust = l.0 == DW_LANG_RUST;
                    out.assembly = l.0 == DW_LANG_MIPS_ASSEMBLER;
                }
            }
            if out.rust {
                return Ok(out);
            }
            continue;
        }
        match tag {
            dw::DW_TAG_subprogram => {
                let mut s = Sub {
                    off,
                    cu: index,
                    name: None,
                    external: false,
                    declaration: false,
                    inline: None,
                    decl_file: None,
                    decl_line: 0,
                    addr: None,
                    origin: None,
                };
                let mut ranges = None;
                for spec in specs {
                    match spec.name() {
                        dw::DW_AT_name
                        | dw::DW_AT_external
                        | dw::DW_AT_declaration
                        | dw::DW_AT_inline
                        | dw::DW_AT_decl_file
                        | dw::DW_AT_decl_line
                        | dw::DW_AT_low_pc
                        | dw::DW_AT_ranges
                        | dw::DW_AT_abstract_origin
                        | dw::DW_AT_specification => {
                            let a = entries.read_attribute_inline(*spec).map_err(ctx)?;
                            let v = a.value();
                            match a.name() {
                                dw::DW_AT_name => s.name = str_of(dwarf, &unit, v),
                                dw::DW_AT_external => {
                                    s.external = matches!(v, AttributeValue::Flag(true))
                                }
                                dw::DW_AT_declaration => {
                                    s.declaration = matches!(v, AttributeValue::Flag(true))
                                }
                                dw::DW_AT_inline => {
                                    s.inline = match v {
                                        AttributeValue::Inline(i) => Some(u64::from(i.0)),
                                        other => other.udata_value(),
                                    }
                                }
                                dw::DW_AT_decl_file => {
                                    s.decl_file = match v {
                                        AttributeValue::FileIndex(f) => Some(f),
                                        other => other.udata_value(),
                                    }
                                }
                                dw::DW_AT_decl_line => s.decl_line = v.udata_value().unwrap_or(0),
                                dw::DW_AT_low_pc => {
                                    s.addr = dwarf.attr_address(&unit, v).ok().flatten()
                                }
                                dw::DW_AT_ranges => ranges = Some(v),
                                _ => s.origin = global(&unit, &v),
                            }
                        }
                        _ => entries
                            .skip_attributes(std::slice::from_ref(spec))
                            .map_err(ctx)?,
                    }
                }
                if s.addr.is_none()
                    && let Some(v) = ranges
                    && let Ok(Some(off)) = dwarf.attr_ranges_offset(&unit, v)
                    && let Ok(mut it) = dwarf.ranges(&unit, off)
                    && let Ok(Some(r)) = it.next()
                {
                    s.addr = Some(r.begin);
                }
                if let Some(f) = s.decl_file
                    && !out.files.contains_key(&f)
                    && let Some(p) = file_path(dwarf, &unit, f, &comp_dir)
                {
                    out.files.insert(f, p);
                }
                if abbrev.has_children() {
                    scopes.push((depth, off));
                }
                out.subs.push(s);
            }
            dw::DW_TAG_inlined_subroutine | dw::DW_TAG_call_site | dw::DW_TAG_GNU_call_site => {
                let mut callee = None;
                for spec in specs {
                    match spec.name() {
                        dw::DW_AT_abstract_origin | dw::DW_AT_call_origin => {
                            let a = entries.read_attribute_inline(*spec).map_err(ctx)?;
                            callee = global(&unit, &a.value());
                        }
                        _ => entries
                            .skip_attributes(std::slice::from_ref(spec))
                            .map_err(ctx)?,
                    }
                }
                let inlined = tag == dw::DW_TAG_inlined_subroutine;
                if let Some(c) = callee {
                    out.sites.push(Site {
                        callee: c,
                        caller: scopes.last().map(|&(_, f)| f),
                        inlined,
                    });
                    if inlined && abbrev.has_children() {
                        // Calls inside an inlined body are calls by the inlined function.
                        scopes.push((depth, c));
                    }
                } else if inlined
                    && abbrev.has_children()
                    && let Some(&(_, f)) = scopes.last()
                {
                    scopes.push((depth, f));
                }
            }
            dw::DW_TAG_structure_type
            | dw::DW_TAG_union_type
            | dw::DW_TAG_enumeration_type
            | dw::DW_TAG_class_type => {
                let mut name = None;
                let mut decl = false;
                for spec in specs {
                    match spec.name() {
                        dw::DW_AT_name | dw::DW_AT_declaration => {
                            let a = entries.read_attribute_inline(*spec).map_err(ctx)?;
                            match a.name() {
                                dw::DW_AT_name => name = str_of(dwarf, &unit, a.value()),
                                _ => decl = matches!(a.value(), AttributeValue::Flag(true)),
                            }
                        }
                        _ => entries
                            .skip_attributes(std::slice::from_ref(spec))
                            .map_err(ctx)?,
                    }
                }
                if !decl {
                    let kind = match tag {
                        dw::DW_TAG_union_type => TypeKind::Union,
                        dw::DW_TAG_enumeration_type => TypeKind::Enum,
                        _ => TypeKind::Struct,
                    };
                    // Named types, and anonymous enums (merged into one).
                    if name.is_some() || kind == TypeKind::Enum {
                        out.types.push(TypeDef { kind, name, off });
                    }
                }
            }
            _ => entries.skip_attributes(specs).map_err(ctx)?,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::tree_path;

    #[test]
    fn paths_relative_to_the_tree() {
        let build = "/build/reproducible-path/linux-6.1.170/debian/build/build_amd64_none_amd64";
        assert_eq!(
            tree_path(
                "/build/reproducible-path/linux-6.1.170/arch/x86/kernel/head_64.S",
                build
            ),
            "arch/x86/kernel/head_64.S"
        );
        assert_eq!(
            tree_path(
                "/build/reproducible-path/linux-6.1.170/arch/x86/kernel/../../x86/xen/xen-head.S",
                build
            ),
            "arch/x86/xen/xen-head.S"
        );
        assert_eq!(
            tree_path("./include/generated/autoconf.h", build),
            "include/generated/autoconf.h"
        );
        assert_eq!(
            tree_path("kernel/fork.c", "/usr/src/linux"),
            "kernel/fork.c"
        );
        assert_eq!(
            tree_path("/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h", build),
            "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h"
        );
    }
}
