//! Function status and types from DWARF (SPEC §3), at pahole's speed.
//!
//! One pass reads every compile unit in parallel, decoding only the attributes that matter
//! (subprograms, inline and call sites, where named types are defined). Function status is
//! classified from that and the symbol table. Types are then converted only for the first
//! definition of each name, so a struct defined in a thousand units is read once.
//! DWARF 4 and 5, GNU and standard call sites, 32/64-bit, either byte order.

pub mod sections;
pub mod status;
pub mod types;
pub mod walk;

use std::collections::{BTreeMap, HashMap};

use depsurf_image::elf::ElfImage;
use depsurf_model::{Composite, Enum, FuncStatus, Proto};
use gimli::{EndianSlice, RunTimeEndian};
use rayon::prelude::*;

pub use sections::Sections;
pub use status::SymInfo;

#[derive(Debug, thiserror::Error)]
pub enum DwarfError {
    #[error("no DWARF (.debug_info) in this image")]
    NoDwarf,
    #[error("section {section}: {what}")]
    Section { section: String, what: String },
    #[error("corrupt DWARF in the unit at .debug_info offset {offset:#x}: {what}")]
    Unit { offset: usize, what: String },
    #[error("corrupt DWARF: a reference to .debug_info offset {0:#x} leads nowhere")]
    Reference(usize),
    #[error("corrupt DWARF: {0}")]
    Corrupt(String),
}

impl DwarfError {
    pub(crate) fn bad(section: &str, what: &str) -> DwarfError {
        DwarfError::Section {
            section: section.to_string(),
            what: what.to_string(),
        }
    }
}

/// What to compute.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub status: bool,
    pub types: bool,
    /// Keep callers' names (else only their number).
    pub keep_callers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            status: true,
            types: true,
            keep_callers: true,
        }
    }
}

/// Types as DWARF describes them, first definition of each name.
#[derive(Clone, Debug, Default)]
pub struct Types {
    pub structs: BTreeMap<String, Composite>,
    pub unions: BTreeMap<String, Composite>,
    pub enums: BTreeMap<String, Enum>,
    pub funcs: BTreeMap<String, Proto>,
    /// How many definitions (subprograms with code or an abstract instance) each function
    /// name has; more than one for weak stubs beside the real function, statics in several
    /// files, and header functions.
    pub func_definitions: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub units: usize,
    pub rust_units: usize,
    pub subprograms: usize,
    pub sites: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub func_status: BTreeMap<String, FuncStatus>,
    pub types: Option<Types>,
    pub stats: Stats,
}

/// The `STT_FUNC` symbols of an ELF file, for function status.
pub fn func_symbols(elf: &ElfImage) -> Result<Vec<SymInfo>, DwarfError> {
    let mut out = Vec::new();
    elf.for_each_symbol(|s| {
        if s.is_func && !s.name.is_empty() {
            out.push(SymInfo {
                name: s.name.to_string(),
                addr: s.addr,
                size: s.size,
                section: elf
                    .sections
                    .get(s.shndx as usize)
                    .map(|sec| sec.name.clone())
                    .unwrap_or_default(),
                bind: s.bind_name(),
            });
        }
    })
    .map_err(|e| DwarfError::Corrupt(e.to_string()))?;
    Ok(out)
}

/// Analyses the DWARF of an ELF file.
pub fn analyze(elf: &ElfImage, opts: &Options) -> Result<Analysis, DwarfError> {
    let sections = Sections::load(elf)?;
    let symbols = if opts.status || opts.types {
        func_symbols(elf)?
    } else {
        Vec::new()
    };
    analyze_sections(&sections, &symbols, opts)
}

/// Analyses DWARF sections (the entry point the fuzzer drives).
pub fn analyze_sections(
    sections: &Sections<'_>,
    symbols: &[SymInfo],
    opts: &Options,
) -> Result<Analysis, DwarfError> {
    let endian = if sections.big_endian {
        RunTimeEndian::Big
    } else {
        RunTimeEndian::Little
    };
    let dwarf: gimli::Dwarf<walk::R<'_>> = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
        Ok(EndianSlice::new(sections.get(id.name()), endian))
    })
    .map_err(|e| DwarfError::Corrupt(e.to_string()))?;
    let mut headers = Vec::new();
    let mut iter = dwarf.units();
    loop {
        match iter.next() {
            Ok(Some(h)) => headers.push(h),
            Ok(None) => break,
            Err(e) => return Err(DwarfError::Corrupt(format!("unit headers: {e}"))),
        }
    }
    let unit_offsets: Vec<usize> = headers
        .iter()
        .filter_map(|h| h.debug_info_offset().map(|o| o.0))
        .collect();
    let units: Vec<walk::UnitOut<'_>> = headers
        .into_par_iter()
        .enumerate()
        .map(|(i, h)| walk::scan_unit(&dwarf, h, i as u32))
        .collect::<Result<_, _>>()?;
    let stats = Stats {
        units: units.len(),
        rust_units: units.iter().filter(|u| u.rust).count(),
        subprograms: units.iter().map(|u| u.subs.len()).sum(),
        sites: units.iter().map(|u| u.sites.len()).sum(),
    };
    let func_status = if opts.status {
        status::classify(&units, symbols, opts.keep_callers)
    } else {
        BTreeMap::new()
    };
    let types = if opts.types {
        let sym_addr: HashMap<&str, u64> = symbols
            .iter()
            .filter(|s| s.bind != "LOCAL")
            .map(|s| (s.name.as_str(), s.addr))
            .collect();
        Some(convert_types(&dwarf, &units, &unit_offsets, &sym_addr)?)
    } else {
        None
    };
    Ok(Analysis {
        func_status,
        types,
        stats,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Job {
    Struct,
    Union,
    Enum,
    AnonEnum,
    Func,
}

enum Done {
    Composite(Composite),
    Enum(Enum),
    Func(Proto),
}

/// Converts the first definition of every named struct, union, enum and function, and every
/// anonymous enum, in parallel.
fn convert_types(
    dwarf: &gimli::Dwarf<walk::R<'_>>,
    units: &[walk::UnitOut<'_>],
    unit_offsets: &[usize],
    sym_addr: &HashMap<&str, u64>,
) -> Result<Types, DwarfError> {
    let mut first: HashMap<(u8, &str), usize> = HashMap::new();
    let mut jobs: Vec<(usize, Job, String)> = Vec::new();
    for u in units {
        for t in &u.types {
            let (job, tag) = match (t.kind, t.name) {
                (walk::TypeKind::Struct, Some(_)) => (Job::Struct, 0u8),
                (walk::TypeKind::Union, Some(_)) => (Job::Union, 1),
                (walk::TypeKind::Enum, Some(_)) => (Job::Enum, 2),
                (walk::TypeKind::Enum, None) => {
                    jobs.push((t.off, Job::AnonEnum, String::new()));
                    continue;
                }
                _ => continue,
            };
            let name = t.name.unwrap_or("");
            if let std::collections::hash_map::Entry::Vacant(v) = first.entry((tag, name)) {
                v.insert(t.off);
                jobs.push((t.off, job, name.to_string()));
            }
        }
    }
    // Functions: the prototype read from the DIE holding the function's name (the abstract
    // instance, or the declaration a definition refers to). When a name has several
    // definitions, the one at the address of the global symbol of that name is the function
    // the image has (a weak stub loses to the real one); else the first.
    let subs: HashMap<usize, &walk::Sub<'_>> = units
        .iter()
        .flat_map(|u| u.subs.iter().map(|s| (s.off, s)))
        .collect();
    let mut funcs: Vec<(&str, usize)> = Vec::new();
    let mut at_symbol: HashMap<&str, usize> = HashMap::new();
    let mut definitions: HashMap<&str, std::collections::HashSet<usize>> = HashMap::new();
    for u in units {
        for s in &u.subs {
            if s.declaration {
                continue;
            }
            let mut c: &walk::Sub<'_> = s;
            for _ in 0..8 {
                match c.origin.and_then(|o| subs.get(&o)) {
                    Some(next) => c = next,
                    None => break,
                }
            }
            let Some(name) = c.name else { continue };
            if name.starts_with("__compiletime_assert_") {
                continue;
            }
            definitions.entry(name).or_default().insert(c.off);
            if s.addr.is_some() && sym_addr.get(name) == s.addr.as_ref() {
                at_symbol.entry(name).or_insert(c.off);
            }
            if let std::collections::hash_map::Entry::Vacant(v) = first.entry((3, name)) {
                v.insert(c.off);
                funcs.push((name, c.off));
            }
        }
    }
    for (name, off) in funcs {
        let off = at_symbol.get(name).copied().unwrap_or(off);
        jobs.push((off, Job::Func, name.to_string()));
    }
    // Nearby DIEs together: each chunk keeps its units and type references cached.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| jobs[i].0);
    let chunk = (order.len() / (rayon::current_num_threads() * 8)).max(256);
    let done: Vec<Vec<(usize, Done)>> = order
        .par_chunks(chunk)
        .map(|idxs| {
            let mut conv = types::Converter::new(dwarf, unit_offsets);
            let mut out = Vec::with_capacity(idxs.len());
            for &i in idxs {
                let (off, job, _) = &jobs[i];
                let d = match job {
                    Job::Struct | Job::Union => Done::Composite(conv.composite(*off)?),
                    Job::Enum | Job::AnonEnum => Done::Enum(conv.enumeration(*off)?),
                    Job::Func => Done::Func(conv.proto_at(*off, 0)?),
                };
                out.push((i, d));
            }
            Ok(out)
        })
        .collect::<Result<_, DwarfError>>()?;
    let mut results: Vec<Option<Done>> = (0..jobs.len()).map(|_| None).collect();
    for (i, d) in done.into_iter().flatten() {
        results[i] = Some(d);
    }
    let mut t = Types {
        func_definitions: definitions
            .into_iter()
            .map(|(n, d)| (n.to_string(), d.len() as u32))
            .collect(),
        ..Types::default()
    };
    let mut anon: Option<Enum> = None;
    // Jobs are in unit order, so "first" means the first unit's definition.
    for ((_, job, name), d) in jobs.into_iter().zip(results) {
        match (job, d) {
            (Job::Struct, Some(Done::Composite(c))) => {
                t.structs.insert(name, c);
            }
            (Job::Union, Some(Done::Composite(c))) => {
                t.unions.insert(name, c);
            }
            (Job::Enum, Some(Done::Enum(e))) => {
                t.enums.insert(name, e);
            }
            (Job::AnonEnum, Some(Done::Enum(e))) => {
                let a = anon.get_or_insert_with(|| Enum {
                    size: e.size,
                    values: Vec::new(),
                });
                a.size = a.size.max(e.size);
                a.values.extend(e.values);
            }
            (Job::Func, Some(Done::Func(p))) => {
                t.funcs.insert(name, p);
            }
            _ => {}
        }
    }
    if let Some(a) = anon {
        t.enums
            .insert("(anon)".into(), Enum::merged_anonymous(a.size, a.values));
    }
    Ok(t)
}
