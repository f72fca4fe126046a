//! The kernel's memory as the image lays it out: bytes at virtual addresses, pointers read
//! with the image's size and byte order and with its relative relocations applied, and the
//! symbols that name them.
//!
//! Some kernels do not hold their data pointers in place: arm64 links with
//! `--no-apply-dynamic-relocs`, so a pointer slot holds 0 and its value is the addend of an
//! `R_AARCH64_RELATIVE` entry in `.rela.dyn` (which the kernel applies to itself at boot).
//! Reading a pointer consults those entries first, for every architecture.

use crate::boot::Inner;
use crate::elf::{ElfImage, ElfKind, Section};
use crate::error::Problem;
use crate::image::KernelImage;
use crate::symbols::SymbolTable;

/// Slots filled by relocations: (address, value), sorted by address.
type Relocs = Vec<(u64, u64)>;

/// A loaded range of the image.
#[derive(Clone, Copy, Debug)]
struct Region<'a> {
    addr: u64,
    bytes: &'a [u8],
}

/// The kernel's memory and symbols, borrowed from a [`KernelImage`].
#[derive(Debug)]
pub struct KernelMemory<'a> {
    /// Size of a pointer: 4 or 8.
    pub ptr_size: u8,
    pub big_endian: bool,
    regions: Vec<Region<'a>>,
    /// (address, value) of relative relocations, sorted by address.
    relocs: Vec<(u64, u64)>,
    pub symbols: SymbolTable,
    /// The input the memory came from (`pkg.deb: usr/lib/debug/boot/vmlinux-...`), and how
    /// it was laid out.
    pub memory_from: String,
    /// The input the symbols came from.
    pub symbols_from: String,
    /// Which listing: `.symtab`, `System.map` or `kallsyms`.
    pub symbols_kind: &'static str,
    /// Where `.text` starts, for an ELF image (kallsyms may count from it).
    text: Option<u64>,
}

/// Pointer size and byte order of a Debian architecture, for images without ELF headers.
pub fn arch_layout(arch: &str) -> Option<(u8, bool)> {
    Some(match arch {
        "amd64" | "arm64" | "ppc64el" | "riscv64" | "loong64" | "mips64el" => (8, false),
        "s390x" | "ppc64" | "sparc64" => (8, true),
        "i386" | "armhf" | "armel" | "mipsel" | "x32" => (4, false),
        "powerpc" | "m68k" | "hppa" => (4, true),
        _ => return None,
    })
}

/// The relocation types that put an address into a data slot: `R_*_RELATIVE` (the addend)
/// and the absolute word (a dynamic symbol's value plus the addend), per ELF machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RelocTypes {
    relative: u32,
    absolute: u32,
}

fn reloc_types(machine: u16) -> Option<RelocTypes> {
    let (relative, absolute) = match machine {
        62 => (8, 1),        // R_X86_64_RELATIVE, R_X86_64_64
        3 => (8, 1),         // R_386_RELATIVE, R_386_32
        183 => (1027, 257),  // R_AARCH64_RELATIVE, R_AARCH64_ABS64
        40 => (23, 2),       // R_ARM_RELATIVE, R_ARM_ABS32
        22 => (12, 22),      // R_390_RELATIVE, R_390_64
        21 | 20 => (22, 38), // R_PPC64_RELATIVE, R_PPC64_ADDR64
        243 => (3, 2),       // R_RISCV_RELATIVE, R_RISCV_64
        258 => (3, 2),       // R_LARCH_RELATIVE, R_LARCH_64
        _ => return None,
    };
    Some(RelocTypes { relative, absolute })
}

const AARCH64: RelocTypes = RelocTypes {
    relative: 1027,
    absolute: 257,
};
/// Most relocation entries read (a kernel has a few hundred thousand).
const MAX_RELOCS: usize = 16 << 20;

/// The slots `RELA` entries fill: (offset, value), sorted. `dynsym` holds the values of the
/// dynamic symbols absolute entries refer to.
fn parse_rela(
    data: &[u8],
    is_64: bool,
    big_endian: bool,
    types: RelocTypes,
    dynsym: &[u64],
) -> Result<Vec<(u64, u64)>, Problem> {
    let entsize = if is_64 { 24 } else { 12 };
    if data.len() / entsize > MAX_RELOCS {
        return Err(Problem::Invalid(format!(
            "{} relocation entries: more than a kernel has",
            data.len() / entsize
        )));
    }
    let word = |b: &[u8]| -> u64 {
        match (b.len(), big_endian) {
            (8, false) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            (8, true) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            (4, false) => u64::from(u32::from_le_bytes(b.try_into().expect("4 bytes"))),
            (4, true) => u64::from(u32::from_be_bytes(b.try_into().expect("4 bytes"))),
            _ => 0,
        }
    };
    let mut out = Vec::with_capacity(data.len() / entsize);
    for e in data.chunks_exact(entsize) {
        let w = entsize / 3;
        let (offset, info, addend) = (word(&e[..w]), word(&e[w..2 * w]), word(&e[2 * w..]));
        let (ty, sym) = if is_64 {
            ((info & 0xffff_ffff) as u32, info >> 32)
        } else {
            ((info & 0xff) as u32, info >> 8)
        };
        let mask = if is_64 { u64::MAX } else { 0xffff_ffff };
        if ty == types.relative {
            out.push((offset, addend & mask));
        } else if ty == types.absolute
            && let Some(&v) = usize::try_from(sym).ok().and_then(|i| dynsym.get(i))
        {
            out.push((offset, v.wrapping_add(addend) & mask));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Symbols from kallsyms, when they include data: built without `CONFIG_KALLSYMS_ALL`,
/// kallsyms holds functions only, and nothing of the kernel's data can be found by name.
fn kallsyms_table(
    found: crate::kallsyms::Kallsyms,
    origin: &str,
    img: &KernelImage,
) -> Result<SymbolTable, Problem> {
    // Data symbols (`d`, `b`, `r` in either case) are there only with CONFIG_KALLSYMS_ALL;
    // without it, a marker such as `_etext` or `__init_begin` may still be typed `D`.
    let data = found
        .types
        .iter()
        .filter(|t| matches!(t.to_ascii_lowercase(), b'd' | b'b' | b'r'))
        .count();
    if data < 16 {
        return Err(Problem::Invalid(format!(
            "the kallsyms of {origin} list functions only (the kernel was built without \
             CONFIG_KALLSYMS_ALL): {}",
            give_system_map(img)
        )));
    }
    Ok(SymbolTable::new(found.symbols))
}

/// What to do when symbols are missing: give the System.map, or the real one when the one
/// given is Debian's placeholder (`/boot/System.map-*` of an image package).
fn give_system_map(img: &KernelImage) -> String {
    match &img.system_map {
        Some(m) if m.value.placeholder => format!(
            "{} is Debian's placeholder System.map; give the real one, from the \
             linux-image-{}-dbg package",
            m.origin,
            img.name()
        ),
        _ => "give its System.map (Debian ships it in the -dbg package)".to_string(),
    }
}

/// The `.rela.dyn` (and `.dynsym`) a flat kernel carries, found by their shape where nothing
/// records their place (s390x: only its decompressor knows; arm64 without symbols): the
/// longest run of 24-byte entries of the relative type (no symbol), the absolute type or
/// `extra` types, and before it the symbol table the absolute entries index, which starts
/// with the null symbol.
fn scan_relocs(b: &[u8], big_endian: bool, types: RelocTypes, extra: &[u32]) -> Relocs {
    let word = |o: usize| {
        let w: [u8; 8] = b[o..o + 8].try_into().expect("8 bytes");
        if big_endian {
            u64::from_be_bytes(w)
        } else {
            u64::from_le_bytes(w)
        }
    };
    let entry_ok = |o: usize| {
        o + 24 <= b.len() && {
            let info = word(o + 8);
            let (ty, sym) = ((info & 0xffff_ffff) as u32, info >> 32);
            // A relative entry points into the kernel: offset and addend are near each other.
            ty == types.relative && sym == 0 && (word(o) ^ word(o + 16)) >> 40 == 0
                || (ty == types.absolute || extra.contains(&ty)) && sym > 0 && sym < 1 << 20
        }
    };
    let (mut best, mut best_len) = (0usize, 0usize);
    let mut o = 0usize;
    while o + 24 <= b.len() {
        if entry_ok(o) {
            let start = o;
            while entry_ok(o) {
                o += 24;
            }
            let n = (o - start) / 24;
            if n > best_len {
                (best, best_len) = (start, n);
            }
        } else {
            o += 8;
        }
    }
    if best_len < 1024 {
        return Vec::new();
    }
    // The dynamic symbols end where the relocations start; walk back to the null one.
    let mut dynsym = Vec::new();
    let mut at = best;
    while at >= 24 && dynsym.len() < 1 << 16 {
        at -= 24;
        if b[at..at + 24].iter().all(|&x| x == 0) {
            dynsym.push(0);
            dynsym.reverse();
            break;
        }
        dynsym.push(word(at + 8));
    }
    if dynsym.first() != Some(&0) {
        dynsym.clear();
    }
    parse_rela(
        &b[best..best + best_len * 24],
        true,
        big_endian,
        types,
        &dynsym,
    )
    .unwrap_or_default()
}

impl<'a> KernelMemory<'a> {
    /// Memory from an ELF `vmlinux`: its allocated sections, and its `.rela.dyn`.
    fn from_elf(elf: &'a ElfImage) -> Result<(Vec<Region<'a>>, Relocs), Problem> {
        let mut regions = Vec::new();
        for s in &elf.sections {
            if s.flags & Section::SHF_ALLOC == 0 || !s.has_data() || s.size == 0 {
                continue;
            }
            if s.is_compressed() {
                continue;
            }
            if let Some(bytes) = usize::try_from(s.offset).ok().and_then(|o| {
                elf.bytes
                    .get(o..o.checked_add(usize::try_from(s.size).ok()?)?)
            }) {
                regions.push(Region {
                    addr: s.addr,
                    bytes,
                });
            }
        }
        let mut relocs = Vec::new();
        if let Some(types) = reloc_types(elf.machine) {
            let mut dynsym = None;
            for s in &elf.sections {
                // SHT_RELA, allocated: the dynamic relocations (`.rela.dyn`), not the
                // `--emit-relocs` copies of the link-time ones.
                if s.sh_type == 4 && s.flags & Section::SHF_ALLOC != 0 {
                    let data = elf.section_bytes(s).ok_or_else(|| {
                        Problem::Elf(format!("section {} lies outside the file", s.name))
                    })?;
                    if dynsym.is_none() {
                        dynsym = Some(elf.dynamic_symbol_values()?);
                    }
                    let syms = dynsym.as_deref().unwrap_or_default();
                    relocs.extend(parse_rela(&data, elf.is_64, elf.big_endian, types, syms)?);
                }
            }
            relocs.sort_unstable();
        }
        Ok((regions, relocs))
    }

    /// The kernel memory of an image: from the debug `vmlinux` when there is one, else from
    /// the kernel inside the boot image; with symbols from the ELF symbol table, else from
    /// `System.map`, else from the `kallsyms` tables inside the kernel.
    pub fn of(img: &'a KernelImage) -> Result<KernelMemory<'a>, Problem> {
        let map = img
            .system_map
            .as_ref()
            .filter(|m| !m.value.placeholder && !m.value.symbols.is_empty());
        let no_symbols = || {
            Problem::Invalid(format!(
                "{} has no symbol table and no kallsyms: {}",
                img.name(),
                give_system_map(img)
            ))
        };
        let elf = img
            .elf
            .as_ref()
            .filter(|e| e.value.kind != ElfKind::Relocatable)
            .map(|e| (e.origin.as_str(), &e.value))
            .or(match &img.boot {
                Some(b) => match &b.value.inner {
                    Inner::Elf(e) => Some((b.origin.as_str(), e)),
                    Inner::Raw(_) => None,
                },
                None => None,
            });
        if let Some((origin, elf)) = elf {
            let (regions, relocs) = Self::from_elf(elf)?;
            let mut mem = KernelMemory {
                ptr_size: if elf.is_64 { 8 } else { 4 },
                big_endian: elf.big_endian,
                regions,
                relocs,
                symbols: SymbolTable::default(),
                memory_from: origin.to_string(),
                symbols_from: origin.to_string(),
                symbols_kind: ".symtab",
                text: elf.section(".text").map(|s| s.addr),
            };
            if elf.section(".symtab").is_some() {
                mem.symbols = SymbolTable::from_elf(elf)?;
            } else if let Some(m) = map {
                mem.symbols = SymbolTable::from_system_map(&m.value);
                (mem.symbols_from, mem.symbols_kind) = (m.origin.clone(), "System.map");
            } else {
                let found = mem
                    .regions
                    .iter()
                    .find_map(|r| mem.kallsyms_in(r.bytes, r.addr))
                    .ok_or_else(no_symbols)?;
                mem.symbols = kallsyms_table(found, origin, img)?;
                mem.symbols_kind = "kallsyms";
            }
            return Ok(mem);
        }
        let Some(boot) = &img.boot else {
            return Err(Problem::Invalid(format!(
                "{} has no kernel image (vmlinux or vmlinuz) to read data from",
                img.name()
            )));
        };
        let Inner::Raw(raw) = &boot.value.inner else {
            unreachable!("ELF boot images are handled above")
        };
        let arch = img.identity.arch.as_deref().unwrap_or("");
        let (ptr_size, big_endian) = arch_layout(arch).ok_or_else(|| {
            Problem::Invalid(format!(
                "{}: the flat kernel inside {} needs a known architecture (found {:?})",
                img.name(),
                boot.origin,
                arch
            ))
        })?;
        let bytes: &'a [u8] = raw;
        // The flat kernel starts at _text; until its address is known, it sits at 0.
        let mut mem = KernelMemory {
            ptr_size,
            big_endian,
            regions: vec![Region { addr: 0, bytes }],
            relocs: Vec::new(),
            symbols: SymbolTable::default(),
            memory_from: boot.origin.clone(),
            symbols_from: boot.origin.clone(),
            symbols_kind: "kallsyms",
            text: None,
        };
        let types = match arch {
            "arm64" => Some((AARCH64, &[][..])),
            // R_390_GLOB_DAT (10) and R_390_JMP_SLOT (11) appear among them too.
            "s390x" => reloc_types(22).map(|t| (t, &[10u32, 11][..])),
            _ => None,
        };
        let base = if let Some(m) = map {
            mem.symbols = SymbolTable::from_system_map(&m.value);
            (mem.symbols_from, mem.symbols_kind) = (m.origin.clone(), "System.map");
            mem.symbols
                .addr("_text")
                .ok_or_else(|| Problem::Invalid(format!("{} has no _text symbol", m.origin)))?
        } else {
            // Relocations first: kallsyms' base address may be one (arm64).
            if let Some((t, extra)) = types {
                mem.relocs = scan_relocs(bytes, big_endian, t, extra);
            }
            let found = mem.kallsyms_in(bytes, 0).ok_or_else(no_symbols)?;
            mem.symbols = kallsyms_table(found, &boot.origin, img)?;
            mem.symbols.addr("_text").ok_or_else(|| {
                Problem::Invalid(format!("the kallsyms of {} have no _text", boot.origin))
            })?
        };
        mem.regions[0].addr = base;
        if let Some((t, extra)) = types {
            mem.relocs = match (arch, mem.rela_range()) {
                ("arm64", Some((start, len))) => {
                    let data = mem.read(start, len).ok_or_else(|| {
                        Problem::Invalid(format!(
                            "the relocations at {start:#x} (+{len:#x}) lie outside the kernel \
                             image"
                        ))
                    })?;
                    parse_rela(data, true, false, AARCH64, &[])?
                }
                _ => scan_relocs(bytes, big_endian, t, extra),
            };
        }
        Ok(mem)
    }

    /// Where the symbols say the `.rela.dyn` entries are: between `__rela_start` and
    /// `__rela_end` (arm64 before Linux 5.x: at `_text + __rela_offset`, `__rela_size` bytes).
    fn rela_range(&self) -> Option<(u64, u64)> {
        let s = &self.symbols;
        match (s.addr("__rela_start"), s.addr("__rela_end")) {
            (Some(a), Some(b)) if b > a => Some((a, b - a)),
            _ => match (
                s.addr("__rela_offset"),
                s.addr("__rela_size"),
                s.addr("_text"),
            ) {
                (Some(off), Some(size), Some(text)) => Some((text.wrapping_add(off), size)),
                _ => None,
            },
        }
    }

    /// The kallsyms tables in `bytes` (loaded at `addr`), read with this memory's pointers
    /// and relocations.
    fn kallsyms_in(&self, bytes: &[u8], addr: u64) -> Option<crate::kallsyms::Kallsyms> {
        let ptr = |a: u64| self.ptr(a);
        let layout = crate::kallsyms::Layout {
            bytes,
            addr,
            ptr_size: self.ptr_size,
            big_endian: self.big_endian,
            ptr: &ptr,
            relocs: &self.relocs,
            text: self.text,
        };
        crate::kallsyms::find(&layout)
    }

    /// `len` bytes at `addr`, when one region holds them all.
    pub fn read(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let i = self
            .regions
            .iter()
            .position(|r| addr >= r.addr && (addr - r.addr) < r.bytes.len() as u64)?;
        let r = self.regions[i];
        let start = usize::try_from(addr - r.addr).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        r.bytes.get(start..end)
    }

    /// An unsigned number of `size` bytes at `addr`, in the image's byte order.
    pub fn uint(&self, addr: u64, size: u8) -> Option<u64> {
        let b = self.read(addr, u64::from(size))?;
        let mut v = 0u64;
        if self.big_endian {
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

    /// The pointer stored at `addr`: the value of a relative relocation there, else the
    /// bytes in place.
    pub fn ptr(&self, addr: u64) -> Option<u64> {
        if let Ok(i) = self.relocs.binary_search_by(|&(a, _)| a.cmp(&addr)) {
            return Some(self.relocs[i].1);
        }
        self.uint(addr, self.ptr_size)
    }

    /// The NUL-terminated string at `addr` (at most `max` bytes; invalid UTF-8 replaced).
    pub fn cstr(&self, addr: u64, max: usize) -> Option<String> {
        let i = self
            .regions
            .iter()
            .position(|r| addr >= r.addr && (addr - r.addr) < r.bytes.len() as u64)?;
        let r = self.regions[i];
        let start = usize::try_from(addr - r.addr).ok()?;
        let rest = &r.bytes[start..];
        let rest = &rest[..rest.len().min(max)];
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// Number of relative relocations known.
    pub fn relocations(&self) -> usize {
        self.relocs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rela_entries_of_both_classes() {
        let mut d = Vec::new();
        for (off, ty, add) in [
            (0x10u64, 1027u64, 0xffff_0000u64),
            (0x20, (1 << 32) | 257, 5),
            (0x8, 1027, 7),
        ] {
            d.extend_from_slice(&off.to_le_bytes());
            d.extend_from_slice(&ty.to_le_bytes());
            d.extend_from_slice(&add.to_le_bytes());
        }
        d.extend_from_slice(&[0; 5]); // a partial entry is ignored
        let r = parse_rela(&d, true, false, AARCH64, &[]).unwrap();
        assert_eq!(r, vec![(0x8, 7), (0x10, 0xffff_0000)]);
        // An absolute entry against dynamic symbol 1: its value plus the addend.
        let r = parse_rela(&d, true, false, AARCH64, &[0, 0x100]).unwrap();
        assert_eq!(r, vec![(0x8, 7), (0x10, 0xffff_0000), (0x20, 0x105)]);
        let mut d = Vec::new();
        d.extend_from_slice(&0x100u32.to_be_bytes());
        d.extend_from_slice(&22u32.to_be_bytes());
        d.extend_from_slice(&0xc000_0000u32.to_be_bytes());
        let ppc = reloc_types(20).unwrap();
        assert_eq!(
            parse_rela(&d, false, true, ppc, &[]).unwrap(),
            vec![(0x100, 0xc000_0000)]
        );
    }

    #[test]
    fn pointers_prefer_relocations() {
        let bytes: &'static [u8] = &[
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'h', b'i', 0,
        ];
        let m = KernelMemory {
            ptr_size: 8,
            big_endian: false,
            regions: vec![Region {
                addr: 0x1000,
                bytes,
            }],
            relocs: vec![(0x1008, 0x1010)],
            symbols: SymbolTable::default(),
            memory_from: String::new(),
            symbols_from: String::new(),
            symbols_kind: "",
            text: None,
        };
        assert_eq!(m.ptr(0x1000), Some(1));
        assert_eq!(m.ptr(0x1008), Some(0x1010));
        assert_eq!(m.cstr(0x1010, 64).as_deref(), Some("hi"));
        assert_eq!(m.cstr(0x1011, 1), None, "no NUL within max");
        assert_eq!(m.ptr(0x1012), None, "runs past the region");
        assert_eq!(m.read(0x2000, 1), None);
    }
}
