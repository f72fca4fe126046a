//! A small, strict reader for eBPF object files (ELF64 relocatable, `EM_BPF`, either byte
//! order): sections, the symbol table and `SHT_REL` relocations, every offset checked.

use crate::BpfError;

pub const EM_BPF: u16 = 247;
const SHT_SYMTAB: u32 = 2;
const SHT_REL: u32 = 9;
pub const SHF_EXECINSTR: u64 = 4;
const SHN_UNDEF: u16 = 0;
const MAX_SECTIONS: usize = 1 << 16;

#[derive(Clone, Debug)]
pub struct Section<'a> {
    pub index: usize,
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub info: u32,
    pub link: u32,
    pub data: &'a [u8],
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    /// STT_* (low 4 bits of st_info).
    pub kind: u8,
    /// STB_* (high 4 bits of st_info).
    pub bind: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_NOTYPE: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;

impl Symbol {
    pub fn is_undefined(&self) -> bool {
        self.shndx == SHN_UNDEF
    }
    pub fn is_weak(&self) -> bool {
        self.bind == STB_WEAK
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Rel {
    pub offset: u64,
    pub sym: u32,
    pub r_type: u32,
}

pub struct Elf<'a> {
    pub big_endian: bool,
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol>,
}

pub(crate) struct R<'a> {
    pub b: &'a [u8],
    pub be: bool,
}

impl R<'_> {
    pub fn u16(&self, o: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(o..o.checked_add(2)?)?.try_into().ok()?;
        Some(if self.be {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }
    pub fn u32(&self, o: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if self.be {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }
    pub fn u64(&self, o: usize) -> Option<u64> {
        let s: [u8; 8] = self.b.get(o..o.checked_add(8)?)?.try_into().ok()?;
        Some(if self.be {
            u64::from_be_bytes(s)
        } else {
            u64::from_le_bytes(s)
        })
    }
}

fn cstr(b: &[u8], off: usize) -> Option<String> {
    let s = b.get(off..)?;
    let end = memchr::memchr(0, s)?;
    Some(String::from_utf8_lossy(&s[..end]).into_owned())
}

fn bad(what: impl Into<String>) -> BpfError {
    BpfError::Malformed(what.into())
}

/// The size of the ELF file starting at `bytes` (to the end of its section header table or
/// of its last section, whichever is later), when it is an eBPF object.
pub fn object_len(bytes: &[u8]) -> Option<usize> {
    let (be, shoff, shnum) = header(bytes).ok()?;
    let r = R { b: bytes, be };
    let mut end = shoff.checked_add(shnum.checked_mul(64)?)?;
    for i in 0..shnum {
        let sh = shoff + i * 64;
        let ty = r.u32(sh + 4)?;
        if ty == 8 {
            continue; // SHT_NOBITS
        }
        let off = usize::try_from(r.u64(sh + 24)?).ok()?;
        let size = usize::try_from(r.u64(sh + 32)?).ok()?;
        end = end.max(off.checked_add(size)?);
    }
    (end <= bytes.len()).then_some(end)
}

/// Checks the ELF header: (big endian, section header offset, count).
fn header(b: &[u8]) -> Result<(bool, usize, usize), BpfError> {
    if b.len() < 64 || &b[..4] != b"\x7fELF" {
        return Err(BpfError::NotElf);
    }
    if b[4] != 2 {
        return Err(bad("not a 64-bit ELF file (eBPF objects are ELF64)"));
    }
    let be = match b[5] {
        1 => false,
        2 => true,
        d => return Err(bad(format!("unknown ELF data encoding {d}"))),
    };
    let r = R { b, be };
    let machine = r.u16(18).unwrap_or(0);
    if machine != EM_BPF {
        return Err(BpfError::NotBpf(machine));
    }
    let shoff = r.u64(40).unwrap_or(0);
    let shentsize = r.u16(58).unwrap_or(0);
    let shnum = usize::from(r.u16(60).unwrap_or(0));
    if shentsize != 64 {
        return Err(bad(format!("section header size {shentsize}, not 64")));
    }
    let shoff = usize::try_from(shoff).map_err(|_| bad("section header offset too large"))?;
    let end = shoff
        .checked_add(shnum * 64)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| {
            bad(format!(
                "section headers [{shoff}, +{}) lie outside the {} bytes of the file",
                shnum * 64,
                b.len()
            ))
        })?;
    let _ = end;
    Ok((be, shoff, shnum))
}

impl<'a> Elf<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Elf<'a>, BpfError> {
        let (be, shoff, shnum) = header(b)?;
        if shnum > MAX_SECTIONS {
            return Err(bad(format!("{shnum} sections")));
        }
        let r = R { b, be };
        let shstrndx = usize::from(r.u16(62).unwrap_or(0));
        let mut raw = Vec::with_capacity(shnum);
        for i in 0..shnum {
            let h = shoff + i * 64;
            let get32 = |o| r.u32(h + o).ok_or_else(|| bad("truncated section header"));
            let get64 = |o| r.u64(h + o).ok_or_else(|| bad("truncated section header"));
            let (name, ty, flags) = (get32(0)?, get32(4)?, get64(8)?);
            let (off, size) = (get64(24)?, get64(32)?);
            let (link, info) = (get32(40)?, get32(44)?);
            let data: &[u8] = if ty == 8 || ty == 0 {
                &[]
            } else {
                let start = usize::try_from(off).map_err(|_| bad("section offset too large"))?;
                let end = usize::try_from(size)
                    .ok()
                    .and_then(|s| start.checked_add(s))
                    .filter(|&e| e <= b.len())
                    .ok_or_else(|| {
                        bad(format!(
                            "section {i} [{off}, +{size}) lies outside the {} bytes of the file",
                            b.len()
                        ))
                    })?;
                &b[start..end]
            };
            raw.push((name, ty, flags, link, info, data));
        }
        let strtab = raw.get(shstrndx).map(|s| s.5).unwrap_or(&[]);
        let sections: Vec<Section<'a>> = raw
            .iter()
            .enumerate()
            .map(
                |(index, &(name, sh_type, flags, link, info, data))| Section {
                    index,
                    name: cstr(strtab, name as usize).unwrap_or_default(),
                    sh_type,
                    flags,
                    info,
                    link,
                    data,
                },
            )
            .collect();
        let mut symbols = Vec::new();
        if let Some(st) = sections.iter().find(|s| s.sh_type == SHT_SYMTAB) {
            let names = sections
                .get(st.link as usize)
                .map(|s| s.data)
                .unwrap_or(&[]);
            let sr = R { b: st.data, be };
            for i in 0..st.data.len() / 24 {
                let o = i * 24;
                let info = st.data[o + 4];
                symbols.push(Symbol {
                    name: cstr(names, sr.u32(o).unwrap_or(0) as usize).unwrap_or_default(),
                    kind: info & 0xf,
                    bind: info >> 4,
                    shndx: sr.u16(o + 6).unwrap_or(0),
                    value: sr.u64(o + 8).unwrap_or(0),
                    size: sr.u64(o + 16).unwrap_or(0),
                });
            }
        }
        Ok(Elf {
            big_endian: be,
            sections,
            symbols,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The `SHT_REL` relocations that apply to section `index`.
    pub fn rels_for(&self, index: usize) -> Vec<Rel> {
        let mut out = Vec::new();
        for s in &self.sections {
            if s.sh_type != SHT_REL || s.info as usize != index {
                continue;
            }
            let r = R {
                b: s.data,
                be: self.big_endian,
            };
            for i in 0..s.data.len() / 16 {
                let (Some(offset), Some(info)) = (r.u64(i * 16), r.u64(i * 16 + 8)) else {
                    break;
                };
                out.push(Rel {
                    offset,
                    sym: (info >> 32) as u32,
                    r_type: info as u32,
                });
            }
        }
        out
    }
}
