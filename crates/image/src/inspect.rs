//! What `depsurf inspect` reports about an image: identity, sources, sizes, counts.
//! Cheap by construction: no DWARF is parsed, only unit headers are walked.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::boot::BootSummary;
use crate::elf::{ElfImage, ElfKind, Section};
use crate::error::Problem;
use crate::identity::Identity;
use crate::image::{KernelImage, ModuleInfo};

/// The JSON schema version of [`Inspection`].
pub const INSPECT_SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub schema: u32,
    pub name: String,
    pub identity: Identity,
    pub inputs: Vec<String>,
    pub module: Option<ModuleInfo>,
    pub elf: Option<ElfSummary>,
    pub boot: Option<BootSourced>,
    pub dwarf: Option<DwarfSummary>,
    pub btf: Option<BtfSummary>,
    pub symtab: Option<SymtabSummary>,
    pub system_map: Option<MapSummary>,
    pub config: Option<ConfigSummary>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ElfSummary {
    pub origin: String,
    pub size: u64,
    pub class: u8,
    pub endian: &'static str,
    pub machine: String,
    pub kind: ElfKind,
    pub sections: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct BootSourced {
    pub origin: String,
    #[serde(flatten)]
    pub summary: BootSummary,
}

#[derive(Clone, Debug, Serialize)]
pub struct DwarfSummary {
    /// DWARF versions of the compile units, lowest to highest.
    pub versions: Vec<u16>,
    /// Number of units in `.debug_info` (absent when the section is compressed).
    pub units: Option<u64>,
    pub debug_info_size: u64,
    /// Size of all `.debug_*` sections.
    pub debug_total_size: u64,
    pub compressed: bool,
    /// Relocation sections for debug info that an executable keeps from `--emit-relocs`.
    pub debug_relocations: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct BtfSummary {
    pub origin: String,
    pub location: String,
    pub size: u64,
    pub endian: &'static str,
    pub split: bool,
    /// Split BTF given without its base: its types cannot be read.
    pub needs_base: bool,
    /// Types this blob defines (not counting a base).
    pub types: Option<u64>,
    pub strings_size: Option<u64>,
    pub kinds: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SymtabSummary {
    pub symbols: u64,
    pub functions: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MapSummary {
    pub origin: String,
    pub symbols: u64,
    pub functions: u64,
    pub placeholder: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConfigSummary {
    pub origin: String,
    pub set: u64,
    pub unset: u64,
    pub title: Option<String>,
    /// `CONFIG_DEBUG_INFO_BTF`'s value.
    pub debug_info_btf: Option<String>,
}

/// Walks `.debug_info` unit headers: versions and count.
fn dwarf_summary(elf: &ElfImage) -> Option<DwarfSummary> {
    let info: &Section = elf.section(".debug_info")?;
    let debug_total_size = elf
        .sections
        .iter()
        .filter(|s| s.name.starts_with(".debug_") || s.name.starts_with(".zdebug_"))
        .map(|s| s.size)
        .sum();
    let debug_relocations = elf
        .sections
        .iter()
        .any(|s| s.name.starts_with(".rela.debug_") || s.name.starts_with(".rel.debug_"));
    let compressed = info.is_compressed();
    let mut versions = Vec::new();
    let mut units = None;
    if let Some(data) = elf.section_bytes(info) {
        if compressed {
            if let Some(v) = compressed_first_version(&data, elf.is_64, elf.big_endian) {
                versions.push(v);
            }
        } else {
            let (v, n) = walk_units(&data, elf.big_endian);
            versions = v;
            units = Some(n);
        }
    }
    Some(DwarfSummary {
        versions,
        units,
        debug_info_size: info.size,
        debug_total_size,
        compressed,
        debug_relocations,
    })
}

fn rd(data: &[u8], off: usize, n: usize, big: bool) -> Option<u64> {
    let b = data.get(off..off + n)?;
    let mut v = 0u64;
    if big {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

fn walk_units(data: &[u8], big: bool) -> (Vec<u16>, u64) {
    let mut versions = Vec::new();
    let mut units = 0u64;
    let mut off = 0usize;
    while off < data.len() {
        let Some(len32) = rd(data, off, 4, big) else {
            break;
        };
        let (len, hdr) = if len32 == 0xffff_ffff {
            match rd(data, off + 4, 8, big) {
                Some(l) => (l, 12),
                None => break,
            }
        } else {
            (len32, 4)
        };
        let Some(version) = rd(data, off + hdr, 2, big) else {
            break;
        };
        let version = version as u16;
        if !versions.contains(&version) {
            versions.push(version);
        }
        units += 1;
        match usize::try_from(len)
            .ok()
            .and_then(|l| off.checked_add(hdr)?.checked_add(l))
        {
            Some(next) if next > off => off = next,
            _ => break,
        }
    }
    versions.sort_unstable();
    (versions, units)
}

/// The version of the first unit of a `SHF_COMPRESSED` `.debug_info` (zlib or zstd).
fn compressed_first_version(data: &[u8], is_64: bool, big: bool) -> Option<u16> {
    use std::io::Read;
    let ch_type = rd(data, 0, 4, big)?;
    let hdr = if is_64 { 24 } else { 12 };
    let body = data.get(hdr..)?;
    let mut head = [0u8; 16];
    match ch_type {
        1 => flate2::read::ZlibDecoder::new(body)
            .read_exact(&mut head)
            .ok()?,
        2 => zstd::stream::read::Decoder::new(body)
            .ok()?
            .read_exact(&mut head)
            .ok()?,
        _ => return None,
    }
    let (v, _) = walk_units(&head, big);
    v.first().copied()
}

impl Inspection {
    pub fn of(img: &KernelImage) -> Result<Inspection, Problem> {
        let elf = img.best_elf();
        let elf_summary = img.elf.as_ref().map(|e| ElfSummary {
            origin: e.origin.clone(),
            size: e.value.bytes.len() as u64,
            class: if e.value.is_64 { 64 } else { 32 },
            endian: if e.value.big_endian {
                "big-endian"
            } else {
                "little-endian"
            },
            machine: e.value.machine_name(),
            kind: e.value.kind,
            sections: e.value.sections.len(),
        });
        let symtab = match elf {
            Some((_, e)) if e.section(".symtab").is_some() => {
                let mut symbols = 0u64;
                let mut functions = 0u64;
                e.for_each_symbol(|s| {
                    symbols += 1;
                    functions += u64::from(s.is_func);
                })?;
                Some(SymtabSummary { symbols, functions })
            }
            _ => None,
        };
        let btf = match &img.btf {
            Some(b) if b.base.is_none() && img.is_module() => Some(BtfSummary {
                origin: b.origin.clone(),
                location: b.location.clone(),
                size: b.bytes.len() as u64,
                endian: depsurf_btf::Btf::peek_header(&b.bytes)
                    .map(|(e, _)| e.as_str())
                    .unwrap_or("unknown"),
                split: true,
                needs_base: true,
                types: None,
                strings_size: None,
                kinds: BTreeMap::new(),
            }),
            Some(b) => Some(b.with(|btf| {
                let counts = btf.kind_counts();
                BtfSummary {
                    origin: b.origin.clone(),
                    location: b.location.clone(),
                    size: b.bytes.len() as u64,
                    endian: btf.endian().as_str(),
                    split: btf.is_split(),
                    needs_base: false,
                    types: Some(btf.local_len() as u64),
                    strings_size: Some(btf.strings_len() as u64),
                    kinds: counts
                        .iter()
                        .map(|(k, n)| (k.as_str().to_string(), n))
                        .collect(),
                }
            })?),
            None => None,
        };
        Ok(Inspection {
            schema: INSPECT_SCHEMA,
            name: img.name(),
            identity: img.identity.clone(),
            inputs: img.inputs.clone(),
            module: img.module.clone(),
            elf: elf_summary,
            boot: img.boot.as_ref().map(|b| BootSourced {
                origin: b.origin.clone(),
                summary: b.value.summary(),
            }),
            dwarf: elf.and_then(|(_, e)| dwarf_summary(e)),
            btf,
            symtab,
            system_map: img.system_map.as_ref().map(|m| MapSummary {
                origin: m.origin.clone(),
                symbols: m.value.symbols.len() as u64,
                functions: m.value.functions() as u64,
                placeholder: m.value.placeholder,
            }),
            config: img.config.as_ref().map(|c| ConfigSummary {
                origin: c.origin.clone(),
                set: c.value.set.len() as u64,
                unset: c.value.unset.len() as u64,
                title: c.value.title.clone(),
                debug_info_btf: c.value.get("DEBUG_INFO_BTF").map(str::to_string),
            }),
            notes: img.notes.clone(),
        })
    }
}
