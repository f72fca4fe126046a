//! ELF kernels and modules: sections, symbols, architecture, reading data by address.

use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use serde::Serialize;

use crate::bytes::Bytes;
use crate::error::Problem;

/// One section header.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    /// `sh_type` (1 PROGBITS, 8 NOBITS, ...).
    pub sh_type: u32,
    pub flags: u64,
}

impl Section {
    pub const SHF_ALLOC: u64 = 0x2;
    pub const SHF_EXECINSTR: u64 = 0x4;
    pub const SHF_COMPRESSED: u64 = 0x800;
    const SHT_NOBITS: u32 = 8;

    pub fn is_compressed(&self) -> bool {
        self.flags & Self::SHF_COMPRESSED != 0
    }

    pub fn has_data(&self) -> bool {
        self.sh_type != Self::SHT_NOBITS
    }
}

/// What kind of ELF file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElfKind {
    Executable,
    Relocatable,
    Shared,
    Other,
}

/// An ELF file held in memory (usually mapped), with its headers read.
#[derive(Clone)]
pub struct ElfImage {
    pub bytes: Bytes,
    pub is_64: bool,
    pub big_endian: bool,
    pub machine: u16,
    pub kind: ElfKind,
    pub sections: Vec<Section>,
}

impl std::fmt::Debug for ElfImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElfImage")
            .field("bytes", &self.bytes.len())
            .field("machine", &self.machine)
            .field("sections", &self.sections.len())
            .finish()
    }
}

/// A symbol of `.symtab`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    pub name: &'a str,
    pub addr: u64,
    pub size: u64,
    pub is_func: bool,
    /// `STT_OBJECT`: a variable.
    pub is_object: bool,
    /// `STT_NOTYPE`: a label (assembly code, section bounds).
    pub is_notype: bool,
    pub is_global: bool,
    /// `STB_LOCAL` (0), `STB_GLOBAL` (1), `STB_WEAK` (2), ...
    pub bind: u8,
    /// Index of the section the symbol is defined in (`st_shndx`).
    pub shndx: u32,
}

impl Symbol<'_> {
    pub fn bind_name(&self) -> &'static str {
        match self.bind {
            0 => "LOCAL",
            1 => "GLOBAL",
            2 => "WEAK",
            10 => "GNU_UNIQUE",
            _ => "OTHER",
        }
    }
}

fn elf_err(e: object::Error) -> Problem {
    Problem::Elf(e.to_string())
}

struct Headers {
    is_64: bool,
    big_endian: bool,
    machine: u16,
    e_type: u16,
    sections: Vec<Section>,
}

fn read_headers<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Headers, Problem> {
    let header = Elf::parse(data).map_err(elf_err)?;
    let endian = header.endian().map_err(elf_err)?;
    let table = header.sections(endian, data).map_err(elf_err)?;
    let mut sections = Vec::with_capacity(table.len());
    for sh in table.iter() {
        let name = table.section_name(endian, sh).map_err(elf_err)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let sh_type = sh.sh_type(endian).0;
        let offset: u64 = sh.sh_offset(endian).into();
        let size: u64 = sh.sh_size(endian).into();
        if sh_type != Section::SHT_NOBITS
            && sh_type != 0
            && offset
                .checked_add(size)
                .is_none_or(|end| end > data.len() as u64)
        {
            return Err(Problem::Elf(format!(
                "section {name} [{offset:#x}, +{size:#x}) lies outside the {}-byte file",
                data.len()
            )));
        }
        sections.push(Section {
            name,
            addr: sh.sh_addr(endian).into(),
            offset,
            size,
            sh_type,
            flags: sh.sh_flags(endian).0,
        });
    }
    Ok(Headers {
        is_64: Elf::is_type_64_sized(),
        big_endian: endian == Endianness::Big,
        machine: header.e_machine(endian).0,
        e_type: header.e_type(endian).0,
        sections,
    })
}

fn each_symbol<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    f: &mut dyn FnMut(Symbol<'_>),
) -> Result<(), Problem> {
    let header = Elf::parse(data).map_err(elf_err)?;
    let endian = header.endian().map_err(elf_err)?;
    let table = header.sections(endian, data).map_err(elf_err)?;
    let mut symtab = table
        .symbols(endian, data, elf::SHT_SYMTAB)
        .map_err(elf_err)?;
    if symtab.is_empty() {
        symtab = table
            .symbols(endian, data, elf::SHT_DYNSYM)
            .map_err(elf_err)?;
    }
    let strings = symtab.strings();
    for sym in symtab.iter() {
        let Ok(name) = sym.name(endian, strings) else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        f(Symbol {
            name,
            addr: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
            is_func: sym.st_type() == elf::STT_FUNC,
            is_object: sym.st_type() == elf::STT_OBJECT,
            is_notype: sym.st_type() == elf::STT_NOTYPE,
            is_global: sym.st_bind() != elf::STB_LOCAL,
            bind: sym.st_bind().0,
            shndx: u32::from(sym.st_shndx(endian).0),
        });
    }
    Ok(())
}

fn symbol_values_of<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    sh_type: elf::SectionType,
) -> Result<Vec<u64>, Problem> {
    let header = Elf::parse(data).map_err(elf_err)?;
    let endian = header.endian().map_err(elf_err)?;
    let table = header.sections(endian, data).map_err(elf_err)?;
    let symtab = table.symbols(endian, data, sh_type).map_err(elf_err)?;
    Ok(symtab.iter().map(|s| s.st_value(endian).into()).collect())
}

impl ElfImage {
    /// `st_value` of every `.symtab` entry, by symbol index (index 0 is the null symbol).
    pub fn symbol_values(&self) -> Result<Vec<u64>, Problem> {
        if self.is_64 {
            symbol_values_of::<elf::FileHeader64<Endianness>>(&self.bytes, elf::SHT_SYMTAB)
        } else {
            symbol_values_of::<elf::FileHeader32<Endianness>>(&self.bytes, elf::SHT_SYMTAB)
        }
    }

    /// `st_value` of every `.dynsym` entry, by symbol index (empty without `.dynsym`).
    pub fn dynamic_symbol_values(&self) -> Result<Vec<u64>, Problem> {
        if self.is_64 {
            symbol_values_of::<elf::FileHeader64<Endianness>>(&self.bytes, elf::SHT_DYNSYM)
        } else {
            symbol_values_of::<elf::FileHeader32<Endianness>>(&self.bytes, elf::SHT_DYNSYM)
        }
    }

    pub fn parse(bytes: Bytes) -> Result<ElfImage, Problem> {
        let h = match bytes.get(4) {
            Some(2) => read_headers::<elf::FileHeader64<Endianness>>(&bytes)?,
            Some(1) => read_headers::<elf::FileHeader32<Endianness>>(&bytes)?,
            _ => return Err(Problem::Elf("unknown ELF class".into())),
        };
        let kind = match h.e_type {
            1 => ElfKind::Relocatable,
            2 => ElfKind::Executable,
            3 => ElfKind::Shared,
            _ => ElfKind::Other,
        };
        Ok(ElfImage {
            bytes,
            is_64: h.is_64,
            big_endian: h.big_endian,
            machine: h.machine,
            kind,
            sections: h.sections,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The file bytes of a section (empty for NOBITS).
    pub fn section_bytes(&self, s: &Section) -> Option<Bytes> {
        if !s.has_data() {
            return Some(Bytes::from_vec(Vec::new()));
        }
        let start = usize::try_from(s.offset).ok()?;
        let end = start.checked_add(usize::try_from(s.size).ok()?)?;
        self.bytes.slice(start..end)
    }

    pub fn section_data(&self, name: &str) -> Option<Bytes> {
        self.section(name).and_then(|s| self.section_bytes(s))
    }

    /// Total size of sections whose names start with `prefix`.
    pub fn sections_size(&self, prefix: &str) -> u64 {
        self.sections
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .map(|s| s.size)
            .sum()
    }

    /// Debian architecture name for this machine, where it has one.
    pub fn debian_arch(&self) -> Option<&'static str> {
        Some(match (self.machine, self.is_64, self.big_endian) {
            (62, true, _) => "amd64",
            (62, false, _) => "x32",
            (3, _, _) => "i386",
            (183, _, _) => "arm64",
            (40, _, _) => "armhf",
            (21, true, false) => "ppc64el",
            (21, true, true) => "ppc64",
            (20, _, _) => "powerpc",
            (22, true, _) => "s390x",
            (243, true, _) => "riscv64",
            (258, true, _) => "loong64",
            (8, true, false) => "mips64el",
            (8, false, false) => "mipsel",
            (0x9026, _, _) => "alpha",
            (15, _, _) => "hppa",
            (43, _, _) => "sparc64",
            (4, _, _) => "m68k",
            (42, _, _) => "sh4",
            (50, _, _) => "ia64",
            _ => return None,
        })
    }

    /// Machine name for display (`x86-64`, `AArch64`, ...).
    pub fn machine_name(&self) -> String {
        machine_name(self.machine)
    }

    /// Calls `f` for each `.symtab` symbol (or `.dynsym` when there is no `.symtab`).
    pub fn for_each_symbol(&self, mut f: impl FnMut(Symbol<'_>)) -> Result<(), Problem> {
        if self.is_64 {
            each_symbol::<elf::FileHeader64<Endianness>>(&self.bytes, &mut f)
        } else {
            each_symbol::<elf::FileHeader32<Endianness>>(&self.bytes, &mut f)
        }
    }

    /// The first symbols named in `names`, in one pass over the table.
    pub fn find_symbols(&self, names: &[&str]) -> Result<Vec<Option<(u64, u64)>>, Problem> {
        let mut found = vec![None; names.len()];
        self.for_each_symbol(|s| {
            if let Some(i) = names.iter().position(|n| *n == s.name)
                && found[i].is_none()
            {
                found[i] = Some((s.addr, s.size));
            }
        })?;
        Ok(found)
    }

    /// Bytes of the loaded image at virtual address `addr`, from the allocated section
    /// holding it.
    pub fn read_addr(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let s = self.sections.iter().find(|s| {
            s.flags & Section::SHF_ALLOC != 0
                && s.has_data()
                && s.size > 0
                && addr >= s.addr
                && addr - s.addr < s.size
        })?;
        let within = addr - s.addr;
        let len = len.min(s.size - within);
        let start = usize::try_from(s.offset.checked_add(within)?).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(start..end)
    }
}

/// An ELF `e_machine` value's name for display (`x86-64`, `AArch64`, ...).
pub fn machine_name(machine: u16) -> String {
    match machine {
        62 => "x86-64".into(),
        3 => "Intel 80386".into(),
        183 => "AArch64".into(),
        40 => "ARM".into(),
        21 => "PowerPC64".into(),
        20 => "PowerPC".into(),
        22 => "IBM S/390".into(),
        243 => "RISC-V".into(),
        258 => "LoongArch".into(),
        8 => "MIPS".into(),
        m => format!("machine {m}"),
    }
}
