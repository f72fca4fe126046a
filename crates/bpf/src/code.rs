//! The code of an eBPF object as a loader sees it: executable sections, the functions in
//! them (programs and BPF-to-BPF subprograms), the relocations of their instructions, and
//! the calls between functions, across sections. libbpf appends to each program every
//! subprogram it calls, directly or not; [`Code::closure`] gives that set.

use std::collections::BTreeMap;

use crate::elf::{Elf, SHF_EXECINSTR, STB_GLOBAL, STB_WEAK, STT_FUNC};
use crate::insn::{self, Insn, PSEUDO_CALL, PSEUDO_FUNC};

/// An instruction's place: index of its section in [`Code::sections`], and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub sec: usize,
    pub insn: usize,
}

/// A function symbol of an executable section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    /// First instruction and one past the last.
    pub start: usize,
    pub end: usize,
    /// A global function: the verifier checks it on its own, with arguments it knows
    /// nothing about, rather than with each caller's values.
    pub global: bool,
}

/// The symbol a relocation of an instruction refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub symbol: String,
    /// The symbol's section (an ELF section index); `None` for an undefined (extern) symbol.
    pub section: Option<usize>,
    pub value: u64,
    pub weak: bool,
    pub func: bool,
    /// The symbol lies in read-only data (`.rodata*`): `const volatile` values the loader
    /// sets before loading, which the verifier then knows as constants.
    pub rodata: bool,
}

/// One executable section.
#[derive(Clone, Debug)]
pub struct CodeSection {
    pub name: String,
    /// Its index in the ELF file.
    pub elf_index: usize,
    pub bytes: Vec<u8>,
    /// Functions, by start.
    pub funcs: Vec<Func>,
    /// Relocations by instruction index.
    pub relocs: BTreeMap<usize, Reloc>,
}

/// All executable sections of an object.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub big_endian: bool,
    pub sections: Vec<CodeSection>,
    /// Read-only data sections (`.rodata*`) by ELF index: the values `const volatile`
    /// globals have as compiled, until a loader sets others.
    pub rodata: BTreeMap<usize, Vec<u8>>,
}

impl Code {
    pub fn from_elf(elf: &Elf<'_>) -> Code {
        let mut sections = Vec::new();
        for s in &elf.sections {
            if s.flags & SHF_EXECINSTR == 0 {
                continue;
            }
            let mut funcs: Vec<Func> = elf
                .symbols
                .iter()
                .filter(|y| {
                    y.kind == STT_FUNC
                        && !y.is_undefined()
                        && !y.name.is_empty()
                        && usize::from(y.shndx) == s.index
                })
                .map(|y| Func {
                    name: y.name.clone(),
                    start: (y.value / 8) as usize,
                    end: y.value.saturating_add(y.size).div_ceil(8) as usize,
                    global: matches!(y.bind, STB_GLOBAL | STB_WEAK),
                })
                .collect();
            funcs.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
            let relocs = elf
                .rels_for(s.index)
                .into_iter()
                .filter_map(|r| {
                    let y = elf.symbols.get(r.sym as usize)?;
                    Some((
                        (r.offset / 8) as usize,
                        Reloc {
                            symbol: y.name.clone(),
                            section: (!y.is_undefined()).then_some(usize::from(y.shndx)),
                            value: y.value,
                            weak: y.is_weak(),
                            func: y.kind == STT_FUNC,
                            rodata: elf.sections.get(usize::from(y.shndx)).is_some_and(|d| {
                                !y.is_undefined() && d.name.starts_with(".rodata")
                            }),
                        },
                    ))
                })
                .collect();
            sections.push(CodeSection {
                name: s.name.clone(),
                elf_index: s.index,
                bytes: s.data.to_vec(),
                funcs,
                relocs,
            });
        }
        let rodata = elf
            .sections
            .iter()
            .filter(|d| d.name.starts_with(".rodata") && d.flags & SHF_EXECINSTR == 0)
            .map(|d| (d.index, d.data.to_vec()))
            .collect();
        Code {
            big_endian: elf.big_endian,
            sections,
            rodata,
        }
    }

    pub fn insn(&self, at: Loc) -> Option<Insn> {
        Insn::at(&self.sections.get(at.sec)?.bytes, at.insn, self.big_endian)
    }

    pub fn reloc(&self, at: Loc) -> Option<&Reloc> {
        self.sections.get(at.sec)?.relocs.get(&at.insn)
    }

    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    fn by_elf_index(&self, index: usize) -> Option<usize> {
        self.sections.iter().position(|s| s.elf_index == index)
    }

    /// The function an instruction belongs to.
    pub fn func_at(&self, at: Loc) -> Option<&Func> {
        self.sections
            .get(at.sec)?
            .funcs
            .iter()
            .find(|f| f.start <= at.insn && at.insn < f.end)
    }

    /// The function that starts at `at`.
    pub fn func_starting(&self, at: Loc) -> Option<&Func> {
        self.sections
            .get(at.sec)?
            .funcs
            .iter()
            .find(|f| f.start == at.insn)
    }

    /// The end of the function that contains `at` (the section's end when none does).
    pub fn func_end(&self, at: Loc) -> usize {
        match self.func_at(at) {
            Some(f) => f.end,
            None => self
                .sections
                .get(at.sec)
                .map_or(0, |s| insn::count(&s.bytes)),
        }
    }

    /// Where a BPF-to-BPF call, or a subprogram address (`ld_imm64` of a callback), at `at`
    /// goes: the instruction index libbpf computes, in the section of the relocated symbol
    /// (or this section when there is no relocation).
    pub fn call_target(&self, at: Loc, i: &Insn) -> Option<Loc> {
        let callee = i.is_call() && i.src == PSEUDO_CALL;
        let address = i.is_ld_imm64() && i.src == PSEUDO_FUNC;
        if !callee && !address {
            return None;
        }
        match self.reloc(at) {
            Some(r) => {
                let sec = self.by_elf_index(r.section?)?;
                let base = r.value / 8;
                let insn = if callee {
                    base as i64 + i64::from(i.imm) + 1
                } else {
                    // An ld_imm64 immediate counts bytes.
                    base as i64 + i64::from(i.imm) / 8
                };
                Some(Loc {
                    sec,
                    insn: usize::try_from(insn).ok()?,
                })
            }
            None => Some(Loc {
                sec: at.sec,
                insn: usize::try_from(at.insn as i64 + 1 + i64::from(i.imm)).ok()?,
            }),
        }
    }

    /// Every instruction of a function, with the functions it calls or takes the address
    /// of (transitively): what a loader appends to the program starting at `entry`.
    pub fn closure(&self, entry: Loc) -> Vec<(Loc, usize)> {
        let mut out: Vec<(Loc, usize)> = Vec::new();
        let mut todo = vec![entry];
        while let Some(start) = todo.pop() {
            if out.iter().any(|(l, _)| *l == start) {
                continue;
            }
            let end = match self.func_starting(start) {
                Some(f) => f.end,
                None => self.func_end(start),
            };
            let end = end.min(
                self.sections
                    .get(start.sec)
                    .map_or(0, |s| insn::count(&s.bytes)),
            );
            out.push((start, end));
            let mut pc = start.insn;
            while pc < end {
                let at = Loc {
                    sec: start.sec,
                    insn: pc,
                };
                let Some(i) = self.insn(at) else { break };
                if let Some(t) = self.call_target(at, &i) {
                    // A call into the middle of a function starts a function of its own
                    // for the loader; keep it as its own range.
                    todo.push(t);
                }
                pc += if i.is_ld_imm64() { 2 } else { 1 };
            }
        }
        out
    }

    /// Whether `at` lies in the code a loader loads for the program at `entry`.
    pub fn in_closure(closure: &[(Loc, usize)], at: Loc) -> bool {
        closure
            .iter()
            .any(|(s, end)| s.sec == at.sec && s.insn <= at.insn && at.insn < *end)
    }
}
