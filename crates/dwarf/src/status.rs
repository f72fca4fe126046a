//! Function status (SPEC §3): entries from the subprograms of every unit, callers from
//! inline and call sites, symbols from `.symtab`, then the classification per name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use depsurf_model::{
    Callers, Collision, FuncEntry, FuncStatus, FuncSymbol, InlineAttr, InlineType,
};

use crate::walk::{Sub, UnitOut};

/// A function symbol of `.symtab`.
#[derive(Clone, Debug)]
pub struct SymInfo {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub section: String,
    pub bind: &'static str,
}

/// Where each subprogram DIE is: (unit index, index in the unit's `subs`).
struct Index<'u, 'a> {
    units: &'u [UnitOut<'a>],
    by_off: HashMap<usize, (u32, u32)>,
}

impl<'u, 'a> Index<'u, 'a> {
    fn new(units: &'u [UnitOut<'a>]) -> Self {
        let n: usize = units.iter().map(|u| u.subs.len()).sum();
        let mut by_off = HashMap::with_capacity(n);
        for (ui, u) in units.iter().enumerate() {
            for (si, s) in u.subs.iter().enumerate() {
                by_off.insert(s.off, (ui as u32, si as u32));
            }
        }
        Index { units, by_off }
    }

    fn sub(&self, off: usize) -> Option<&'u Sub<'a>> {
        let &(u, s) = self.by_off.get(&off)?;
        self.units.get(u as usize)?.subs.get(s as usize)
    }

    /// The DIE that holds the function's name and declaration: follow abstract origins and
    /// specifications.
    fn canonical(&self, off: usize) -> Option<&'u Sub<'a>> {
        let mut cur = self.sub(off)?;
        for _ in 0..8 {
            match cur.origin {
                Some(o) => match self.sub(o) {
                    Some(next) => cur = next,
                    None => break,
                },
                None => break,
            }
        }
        Some(cur)
    }
}

/// Identity of an entry: an external definition by name; a static one by name,
/// declaration location and unit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key<'a> {
    name: &'a str,
    external: bool,
    loc: String,
    cu: u32,
}

struct Building<'a> {
    entry: FuncEntry,
    inline_callers: BTreeSet<&'a str>,
    callers: BTreeSet<&'a str>,
}

fn skip_name(n: &str) -> bool {
    n.starts_with("__compiletime_assert_")
}

/// Classifies every function named by the units' subprograms.
pub fn classify<'a>(
    units: &[UnitOut<'a>],
    symbols: &[SymInfo],
    keep_callers: bool,
) -> BTreeMap<String, FuncStatus> {
    let index = Index::new(units);
    // Functions an assembler unit defines are global when their symbol is: the assembler
    // writes `DW_AT_external` false for a weak one (`memcpy`, an alias of `__memcpy`).
    let exported: std::collections::HashSet<(&str, u64)> = symbols
        .iter()
        .filter(|s| s.bind != "LOCAL")
        .map(|s| (s.name.as_str(), s.addr))
        .collect();
    let external = |c: &Sub<'a>| -> bool {
        c.external
            || (units[c.cu as usize].assembly
                && c.name
                    .zip(c.addr)
                    .is_some_and(|(n, a)| exported.contains(&(n, a))))
    };
    let mut entries: HashMap<Key<'a>, Building<'a>> = HashMap::new();
    let loc_of = |c: &Sub<'a>| -> String {
        let u = &units[c.cu as usize];
        match c.decl_file.and_then(|f| u.files.get(&f)) {
            Some(p) => format!("{p}:{}", c.decl_line),
            None => String::new(),
        }
    };
    let key_of = |c: &Sub<'a>| -> Option<Key<'a>> {
        let name = c.name.filter(|n| !skip_name(n))?;
        Some(if external(c) {
            Key {
                name,
                external: true,
                loc: String::new(),
                cu: 0,
            }
        } else {
            Key {
                name,
                external: false,
                loc: loc_of(c),
                cu: c.cu,
            }
        })
    };
    for u in units {
        for s in &u.subs {
            if s.declaration {
                continue;
            }
            let Some(c) = index.canonical(s.off) else {
                continue;
            };
            let Some(key) = key_of(c) else { continue };
            let b = entries.entry(key).or_insert_with(|| Building {
                entry: FuncEntry {
                    addr: 0,
                    external: external(c),
                    loc: loc_of(c),
                    file: units[c.cu as usize].name.clone(),
                    inline: InlineAttr::from_dwarf(c.inline),
                    caller_inline: Callers::default(),
                    caller_func: Callers::default(),
                },
                inline_callers: BTreeSet::new(),
                callers: BTreeSet::new(),
            });
            if b.entry.addr == 0
                && let Some(a) = s.addr.filter(|&a| a != 0)
            {
                b.entry.addr = a;
            }
            if b.entry.inline == InlineAttr::SeenUnknown && c.inline.is_some() {
                b.entry.inline = InlineAttr::from_dwarf(c.inline);
            }
        }
    }
    for u in units {
        for site in &u.sites {
            let Some(callee) = index.canonical(site.callee) else {
                continue;
            };
            let Some(key) = key_of(callee) else { continue };
            let Some(b) = entries.get_mut(&key) else {
                continue;
            };
            let caller = site
                .caller
                .and_then(|c| index.canonical(c))
                .and_then(|c| c.name)
                .unwrap_or("");
            if site.inlined {
                b.inline_callers.insert(caller);
            } else {
                b.callers.insert(caller);
            }
        }
    }

    let mut by_name: BTreeMap<&str, Vec<FuncEntry>> = BTreeMap::new();
    let mut keyed: Vec<(Key<'_>, Building<'_>)> = entries.into_iter().collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, mut b) in keyed {
        let finish = |set: BTreeSet<&str>| Callers {
            count: set.len() as u32,
            names: if keep_callers {
                set.into_iter().map(str::to_string).collect()
            } else {
                Vec::new()
            },
        };
        b.entry.caller_inline = finish(std::mem::take(&mut b.inline_callers));
        b.entry.caller_func = finish(std::mem::take(&mut b.callers));
        by_name.entry(key.name).or_default().push(b.entry);
    }

    let mut syms: HashMap<&str, Vec<FuncSymbol>> = HashMap::new();
    for s in symbols {
        if s.name.starts_with("__pfx_") {
            continue;
        }
        let group = s.name.split('.').next().unwrap_or(&s.name);
        syms.entry(group).or_default().push(FuncSymbol {
            addr: s.addr,
            name: s.name.clone(),
            section: s.section.clone(),
            bind: s.bind.to_string(),
            size: s.size,
        });
    }

    let mut out = BTreeMap::new();
    for (name, entries) in by_name {
        let mut symbols = syms.remove(name).unwrap_or_default();
        symbols.sort();
        let collision = match entries.as_slice() {
            [one] if one.external => Collision::UniqueGlobal,
            [_] => Collision::UniqueStatic,
            many if many.iter().all(|e| !e.external && e.loc == many[0].loc) => {
                Collision::StaticDuplication
            }
            many if many.iter().all(|e| !e.external) => Collision::StaticStaticCollision,
            _ => Collision::StaticGlobalCollision,
        };
        let inlined_somewhere = entries.iter().any(|e| e.caller_inline.count > 0);
        let inline = if symbols.is_empty() {
            InlineType::Full
        } else if inlined_somewhere {
            InlineType::Selective
        } else {
            InlineType::No
        };
        out.insert(
            name.to_string(),
            FuncStatus {
                collision,
                inline,
                entries,
                symbols,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::{Sub, UnitOut};

    fn sub(off: usize, name: &'static str, addr: u64) -> Sub<'static> {
        Sub {
            off,
            cu: 0,
            name: Some(name),
            external: false,
            declaration: false,
            inline: None,
            decl_file: None,
            decl_line: 0,
            addr: Some(addr),
            origin: None,
        }
    }

    fn sym(name: &str, addr: u64, bind: &'static str) -> SymInfo {
        SymInfo {
            name: name.into(),
            addr,
            size: 16,
            section: ".text".into(),
            bind,
        }
    }

    /// The assembler writes `DW_AT_external` false for `memcpy` (a weak alias of
    /// `__memcpy`): its symbol says it is global. A local one stays static; a C unit's
    /// flag is its own.
    #[test]
    fn assembler_functions_are_global_when_their_symbol_is() {
        let asm = UnitOut {
            name: "arch/x86/lib/memcpy_64.S".into(),
            assembly: true,
            subs: vec![sub(1, "memcpy", 0x100), sub(2, "local_helper", 0x200)],
            ..UnitOut::default()
        };
        let mut c = UnitOut {
            index: 1,
            name: "lib/x.c".into(),
            subs: vec![sub(3, "weak_c", 0x300)],
            ..UnitOut::default()
        };
        c.subs[0].cu = 1;
        let symbols = [
            sym("__memcpy", 0x100, "GLOBAL"),
            sym("memcpy", 0x100, "WEAK"),
            sym("local_helper", 0x200, "LOCAL"),
            sym("weak_c", 0x300, "WEAK"),
        ];
        let st = classify(&[asm, c], &symbols, true);
        assert_eq!(st["memcpy"].collision, Collision::UniqueGlobal);
        assert!(st["memcpy"].entries[0].external);
        assert_eq!(st["local_helper"].collision, Collision::UniqueStatic);
        assert_eq!(st["weak_c"].collision, Collision::UniqueStatic);
    }
}
