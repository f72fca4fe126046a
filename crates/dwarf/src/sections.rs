//! DWARF sections of an ELF file, ready for gimli: borrowed from the mapped file when they
//! can be, decompressed (`SHF_COMPRESSED`) or relocated (relocatable objects such as `.ko`)
//! into owned buffers when they must be.
//!
//! An executable vmlinux keeps `.rela.debug_*` sections from `--emit-relocs`; they describe
//! what the linker already did, so they are not applied.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use depsurf_image::elf::{ElfImage, ElfKind, Section};

use crate::DwarfError;

/// Most a compressed section may expand to.
const MAX_SECTION: u64 = 4 << 30;

pub struct Sections<'a> {
    data: HashMap<&'static str, Cow<'a, [u8]>>,
    pub big_endian: bool,
}

impl<'a> Sections<'a> {
    pub fn get(&self, name: &str) -> &[u8] {
        self.data.get(name).map(|c| &c[..]).unwrap_or(&[])
    }

    /// Sections given directly (tests and fuzzing).
    pub fn from_parts(parts: Vec<(&'static str, Cow<'a, [u8]>)>, big_endian: bool) -> Self {
        Sections {
            data: parts.into_iter().collect(),
            big_endian,
        }
    }

    pub fn load(elf: &'a ElfImage) -> Result<Sections<'a>, DwarfError> {
        let mut data = HashMap::new();
        for id in ALL_SECTIONS {
            let name = id.name();
            let Some(s) = elf.section(name) else { continue };
            let raw: &'a [u8] = section_slice(elf, s)?;
            let mut bytes: Cow<'a, [u8]> = if s.is_compressed() {
                Cow::Owned(decompress(name, raw, elf.is_64, elf.big_endian)?)
            } else {
                Cow::Borrowed(raw)
            };
            if elf.kind == ElfKind::Relocatable {
                relocate(elf, name, &mut bytes)?;
            }
            data.insert(name, bytes);
        }
        if !data.contains_key(".debug_info") {
            return Err(DwarfError::NoDwarf);
        }
        Ok(Sections {
            data,
            big_endian: elf.big_endian,
        })
    }
}

const ALL_SECTIONS: [gimli::SectionId; 12] = [
    gimli::SectionId::DebugInfo,
    gimli::SectionId::DebugAbbrev,
    gimli::SectionId::DebugStr,
    gimli::SectionId::DebugLineStr,
    gimli::SectionId::DebugLine,
    gimli::SectionId::DebugStrOffsets,
    gimli::SectionId::DebugAddr,
    gimli::SectionId::DebugRanges,
    gimli::SectionId::DebugRngLists,
    gimli::SectionId::DebugLoc,
    gimli::SectionId::DebugLocLists,
    gimli::SectionId::DebugTypes,
];

fn section_slice<'a>(elf: &'a ElfImage, s: &Section) -> Result<&'a [u8], DwarfError> {
    let start = usize::try_from(s.offset).map_err(|_| DwarfError::bad(&s.name, "offset"))?;
    let len = usize::try_from(s.size).map_err(|_| DwarfError::bad(&s.name, "size"))?;
    elf.bytes
        .get(start..start.saturating_add(len))
        .ok_or_else(|| DwarfError::bad(&s.name, "lies outside the file"))
}

fn word(b: &[u8], off: usize, n: usize, big: bool) -> Option<u64> {
    let s = b.get(off..off + n)?;
    let mut v = 0u64;
    if big {
        for &x in s {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in s.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

fn decompress(name: &str, raw: &[u8], is_64: bool, big: bool) -> Result<Vec<u8>, DwarfError> {
    let (ch_type, size, hdr) = if is_64 {
        (word(raw, 0, 4, big), word(raw, 8, 8, big), 24)
    } else {
        (word(raw, 0, 4, big), word(raw, 4, 4, big), 12)
    };
    let (Some(ch_type), Some(size)) = (ch_type, size) else {
        return Err(DwarfError::bad(name, "compression header is truncated"));
    };
    if size > MAX_SECTION {
        return Err(DwarfError::bad(name, "claims to decompress past 4 GiB"));
    }
    let body = raw.get(hdr..).unwrap_or(&[]);
    // The claimed size bounds the output, not the first allocation: a few bytes of input
    // may claim gigabytes.
    let mut out = Vec::with_capacity(size.min(body.len() as u64 * 8).min(64 << 20) as usize);
    let read = match ch_type {
        1 => flate2::read::ZlibDecoder::new(body)
            .take(size)
            .read_to_end(&mut out),
        2 => {
            zstd::stream::read::Decoder::new(body).and_then(|d| d.take(size).read_to_end(&mut out))
        }
        t => {
            return Err(DwarfError::bad(
                name,
                &format!("unknown compression type {t}"),
            ));
        }
    };
    read.map_err(|e| DwarfError::bad(name, &format!("cannot decompress: {e}")))?;
    if out.len() as u64 != size {
        return Err(DwarfError::bad(
            name,
            "decompresses to less than its header says",
        ));
    }
    Ok(out)
}

/// Applies `.rela<name>` / `.rel<name>` of a relocatable object to its DWARF section. Only
/// the absolute relocations DWARF uses are handled (references to other debug sections and
/// to code addresses); others are an error, never silently wrong data.
fn relocate(elf: &ElfImage, name: &str, data: &mut Cow<'_, [u8]>) -> Result<(), DwarfError> {
    let (rel, rela) = (
        elf.section(&format!(".rel{name}")),
        elf.section(&format!(".rela{name}")),
    );
    let Some((sec, with_addend)) = rela.map(|s| (s, true)).or(rel.map(|s| (s, false))) else {
        return Ok(());
    };
    let relocs = section_slice(elf, sec)?;
    let big = elf.big_endian;
    let values = elf
        .symbol_values()
        .map_err(|e| DwarfError::bad(name, &e.to_string()))?;
    let entsize = match (elf.is_64, with_addend) {
        (true, true) => 24,
        (true, false) => 16,
        (false, true) => 12,
        (false, false) => 8,
    };
    let out = data.to_mut();
    for r in relocs.chunks_exact(entsize) {
        let (offset, info, addend) = if elf.is_64 {
            (
                word(r, 0, 8, big).unwrap_or(0),
                word(r, 8, 8, big).unwrap_or(0),
                if with_addend {
                    word(r, 16, 8, big).unwrap_or(0) as i64
                } else {
                    0
                },
            )
        } else {
            (
                word(r, 0, 4, big).unwrap_or(0),
                word(r, 4, 4, big).unwrap_or(0),
                if with_addend {
                    word(r, 8, 4, big).unwrap_or(0) as i32 as i64
                } else {
                    0
                },
            )
        };
        let (sym, rtype) = if elf.is_64 {
            ((info >> 32) as usize, (info & 0xffff_ffff) as u32)
        } else {
            ((info >> 8) as usize, (info & 0xff) as u32)
        };
        let width = match (elf.machine, rtype) {
            (62, 1) | (183, 257) | (22, 22) | (21, 38) => 8, // x86-64, AArch64, s390x, ppc64: 64-bit abs
            (62, 10) | (62, 11) | (183, 258) | (22, 4) | (21, 1) | (40, 2) | (3, 1) => 4,
            (_, 0) => continue, // R_*_NONE
            (m, t) => {
                return Err(DwarfError::bad(
                    name,
                    &format!("relocation type {t} of machine {m} is not supported"),
                ));
            }
        };
        let s = values.get(sym).copied().unwrap_or(0);
        let off = offset as usize;
        let implicit = if with_addend {
            0
        } else {
            word(out, off, width, big).unwrap_or(0) as i64
        };
        let value = (s as i64).wrapping_add(addend).wrapping_add(implicit) as u64;
        let Some(dst) = out.get_mut(off..off + width) else {
            return Err(DwarfError::bad(name, "relocation outside the section"));
        };
        for (i, b) in dst.iter_mut().enumerate() {
            let shift = if big { (width - 1 - i) * 8 } else { i * 8 };
            *b = (value >> shift) as u8;
        }
    }
    Ok(())
}
