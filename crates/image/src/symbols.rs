//! A kernel's symbols by name and by address, from whichever listing the inputs have: the
//! ELF `.symtab` of a debug `vmlinux`, a `System.map`, or the `kallsyms` tables inside a
//! boot image.

use std::collections::HashMap;

use crate::elf::ElfImage;
use crate::error::Problem;
use crate::sysmap::SystemMap;

/// One symbol. `size` is 0 where the listing has no sizes (System.map, kallsyms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sym {
    pub addr: u64,
    pub size: u64,
    pub name: String,
    /// A variable (an ELF `STT_OBJECT`; `D`, `B`, `R` in either case in System.map and
    /// kallsyms), not code.
    pub data: bool,
    /// Code: a function or code label (an ELF `STT_FUNC` or untyped symbol in an executable
    /// section; `T`, `t`, `W`, `w` in System.map and kallsyms). Listings mark some
    /// variables as code too (7.x System.maps type tracepoint structs `T`): readers that
    /// want functions also check the address lies in the kernel's text.
    pub code: bool,
}

/// Whether a System.map or kallsyms type letter is a variable's.
pub fn is_data_type(t: u8) -> bool {
    matches!(t.to_ascii_lowercase(), b'd' | b'b' | b'r')
}

/// Whether a System.map or kallsyms type letter is code's.
pub fn is_code_type(t: u8) -> bool {
    matches!(t.to_ascii_lowercase(), b't' | b'w')
}

/// Symbols sorted by address (then name), with an index by name (the first symbol of each
/// name in the listing's order).
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    syms: Vec<Sym>,
    by_name: HashMap<String, usize>,
}

impl SymbolTable {
    /// Builds the table from (address, size, name) in the listing's order.
    pub fn new(list: impl IntoIterator<Item = Sym>) -> SymbolTable {
        let mut syms: Vec<(usize, Sym)> = list
            .into_iter()
            .filter(|s| !s.name.is_empty())
            .enumerate()
            .collect();
        syms.sort_by(|(ia, a), (ib, b)| (a.addr, &a.name, ia).cmp(&(b.addr, &b.name, ib)));
        let mut by_name: HashMap<String, (usize, usize)> = HashMap::with_capacity(syms.len());
        for (pos, (order, s)) in syms.iter().enumerate() {
            by_name
                .entry(s.name.clone())
                .and_modify(|e| {
                    if *order < e.0 {
                        *e = (*order, pos)
                    }
                })
                .or_insert((*order, pos));
        }
        SymbolTable {
            syms: syms.into_iter().map(|(_, s)| s).collect(),
            by_name: by_name.into_iter().map(|(k, (_, p))| (k, p)).collect(),
        }
    }

    /// Every named symbol of an ELF file's `.symtab`.
    pub fn from_elf(elf: &ElfImage) -> Result<SymbolTable, Problem> {
        let mut list = Vec::new();
        let exec = |shndx: u32| {
            elf.sections
                .get(shndx as usize)
                .is_some_and(|s| s.flags & crate::elf::Section::SHF_EXECINSTR != 0)
        };
        elf.for_each_symbol(|s| {
            list.push(Sym {
                addr: s.addr,
                size: s.size,
                name: s.name.to_string(),
                data: s.is_object,
                code: (s.is_func || s.is_notype) && exec(s.shndx),
            })
        })?;
        Ok(SymbolTable::new(list))
    }

    pub fn from_system_map(map: &SystemMap) -> SymbolTable {
        SymbolTable::new(map.symbols.iter().map(|s| Sym {
            addr: s.addr,
            size: 0,
            name: s.name.clone(),
            data: is_data_type(s.kind),
            code: is_code_type(s.kind),
        }))
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Sym> {
        self.by_name.get(name).map(|&i| &self.syms[i])
    }

    pub fn addr(&self, name: &str) -> Option<u64> {
        self.get(name).map(|s| s.addr)
    }

    /// The symbols at exactly `addr`, sorted by name.
    pub fn at(&self, addr: u64) -> &[Sym] {
        let start = self.syms.partition_point(|s| s.addr < addr);
        let end = start + self.syms[start..].partition_point(|s| s.addr == addr);
        &self.syms[start..end]
    }

    /// The name at `addr` that starts with `prefix`, without the prefix.
    pub fn name_at<'a>(&'a self, addr: u64, prefix: &str) -> Option<&'a str> {
        self.at(addr)
            .iter()
            .find_map(|s| s.name.strip_prefix(prefix))
    }

    /// The lowest symbol address above `addr`.
    pub fn next_after(&self, addr: u64) -> Option<u64> {
        let i = self.syms.partition_point(|s| s.addr <= addr);
        self.syms.get(i).map(|s| s.addr)
    }

    /// Where the object named `name` ends: its address plus its size, or, where the listing
    /// has no size, the next symbol's address.
    pub fn end_of(&self, name: &str) -> Option<u64> {
        let s = self.get(name)?;
        if s.size > 0 {
            return s.addr.checked_add(s.size);
        }
        self.next_after(s.addr)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Sym> {
        self.syms.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(addr: u64, size: u64, name: &str) -> Sym {
        Sym {
            addr,
            size,
            name: name.into(),
            data: false,
            code: true,
        }
    }

    #[test]
    fn lookups_by_name_and_address() {
        let t = SymbolTable::new([
            sym(0x30, 0, "c"),
            sym(0x10, 8, "a"),
            sym(0x10, 0, "alias"),
            sym(0x20, 0, "b"),
            sym(0x40, 0, "a"),
        ]);
        assert_eq!(t.addr("a"), Some(0x10), "first of a name in listing order");
        assert_eq!(t.at(0x10).len(), 2);
        assert!(t.at(0x11).is_empty());
        assert_eq!(t.name_at(0x20, ""), Some("b"));
        assert_eq!(t.name_at(0x10, "al"), Some("ias"));
        assert_eq!(t.next_after(0x10), Some(0x20));
        assert_eq!(t.next_after(0x40), None);
        assert_eq!(t.end_of("a"), Some(0x18));
        assert_eq!(t.end_of("b"), Some(0x30));
        assert_eq!(t.end_of("missing"), None);
    }
}
