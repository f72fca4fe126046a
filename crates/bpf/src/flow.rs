//! Which instructions of a program the verifier walks on a given kernel, and what the
//! program reads from its context there.
//!
//! libbpf turns `bpf_core_field_exists()` and its kin into constants, the address of a weak
//! extern that the kernel lacks into 0, and a `__kconfig` extern into the kernel's value; the
//! verifier tracks constants through registers and the stack and never walks a branch that a
//! known value rules out. So a CO-RE access that fails on a kernel is harmless when it sits
//! only in such code. This module follows those values the way the verifier does, across
//! BPF-to-BPF calls: a static subprogram is walked with each caller's arguments (its return
//! value flows back), a global one on its own with unknown arguments — only when a call to
//! it is reached on kernels that verify global functions lazily (Linux 6.8 and later), always
//! before. Callbacks (`bpf_loop`, timers) are walked on their own.
//!
//! Loops are widened: after a few different states at one place (with one call stack), the
//! values that keep changing are forgotten, so the walk ends. Beyond a bound on the states
//! explored, everything the program loads counts as reachable (never a false "dead").

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::code::{Code, Loc};

/// The walk hashes every state it meets (most of its time): foldhash, seeded per process,
/// rather than the standard SipHash.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;
use crate::insn::{ALU, ALU64, Insn, JMP, JMP32, LD, LDX, PSEUDO_CALL, PSEUDO_FUNC, ST, STX};

/// What a value known to the analysis can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Val {
    Unknown,
    Const(i64),
    /// Not zero, value otherwise unknown (the address of an extern that the kernel has).
    NonZero,
    /// The program's context pointer plus an offset.
    Ctx(i64),
    /// A frame's stack pointer (r10 of call depth `frame`) plus an offset.
    Fp {
        frame: u8,
        off: i64,
    },
    /// The address of a `__kconfig` value: loads from it read the constant.
    Konst(i64),
    /// A `__kconfig` value this walk does not know (the verifier does).
    Rodata,
    /// An address in read-only data (`const volatile` globals): ELF section and offset.
    RoPtr {
        sec: usize,
        off: i64,
    },
    /// A value the verifier knows and this walk does not: read from read-only data the loader
    /// sets, or derived from one.
    Chosen,
}

/// The value libbpf gives an extern symbol on one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A kfunc or kernel variable: its address, 0 when a weak one is missing.
    Address { present: bool },
    /// A `__kconfig` value (`LINUX_KERNEL_VERSION`, `CONFIG_X`).
    Value(i64),
}

/// What is known about one kernel before the walk.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Instructions whose immediate libbpf sets (CO-RE existence checks, enum values...).
    pub patched: HashMap<Loc, i64>,
    /// Extern symbols by name.
    pub externs: HashMap<String, Extern>,
    /// Instructions whose offset or immediate libbpf relocates per kernel (CO-RE field
    /// offsets and sizes): what they compute is not the object's constant, and a context
    /// read through them is a CO-RE access, not a fixed layout.
    pub relocated: HashSet<Loc>,
    /// The kernel verifies global subprograms only when a call to them is reached (6.8+).
    pub lazy_globals: bool,
    /// `const volatile` globals read as compiled (what a loader that sets none of them
    /// loads); else as values the loader chooses, unknown here: both ways are walked, and
    /// what only they reach is in [`Flow::chosen`].
    pub rodata_as_compiled: bool,
}

/// What the walk found for one program.
#[derive(Clone, Debug, Default)]
pub struct Flow {
    /// Instructions the verifier reaches.
    pub reachable: HashSet<Loc>,
    /// Reads of the program's context: (offset, size in bytes), directly or through a
    /// `bpf_probe_read*()` helper.
    pub ctx_reads: BTreeSet<(i64, u8)>,
    /// Instructions reached only on paths that depend on values the loader sets at run time
    /// (read-only data): the verifier walks them only where the loader chose so.
    pub chosen: HashSet<Loc>,
    /// Context reads made only on such paths.
    pub chosen_ctx_reads: BTreeSet<(i64, u8)>,
    /// What the walk cost: the states explored, each counted by its size (see `MAX_WORK`).
    pub work: usize,
    /// False when the walk gave up (too many states): then every instruction of the program
    /// and its subprograms is in `reachable`, and `ctx_reads` may be incomplete.
    pub exact: bool,
}

type Slots = Vec<(i64, Val)>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Frame {
    ret: Loc,
    saved: [Val; 4],
    stack: Slots,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    regs: [Val; 11],
    stack: Slots,
    frames: Vec<Frame>,
    /// The path went one way of a branch on a value the loader chooses.
    chosen: bool,
}

/// Distinct states kept per place before values are widened.
const WIDEN_AFTER: usize = 8;
/// Bound on the work of one program's walk. Each state explored costs what hashing and
/// comparing it touches (its registers, stack slots and caller frames), which is where the
/// walk spends its time. The largest walk among Debian's libbpf-tools 0.31 (ksnoop) costs
/// 78,711; an input built to explode (deep calls, loops) gives up here within about 0.2 s.
const MAX_WORK: usize = 2_000_000;
/// Deepest BPF-to-BPF call chain followed (the kernel allows 8 frames).
const MAX_FRAMES: usize = 8;

/// Helpers that read memory at (r3, size r2): the `bpf_probe_read*` family.
const PROBE_READS: &[i32] = &[4, 45, 112, 113, 114, 115];

/// Walks the program whose first instruction is `entry`.
pub fn walk(code: &Code, entry: Loc, env: &Env) -> Flow {
    let mut w = Walker {
        code,
        env,
        seen: Default::default(),
        widened: Default::default(),
        flow: Flow {
            exact: true,
            ..Flow::default()
        },
        entries: Vec::new(),
        entered: HashSet::new(),
        budget: MAX_WORK,
        sure: HashSet::new(),
        chosen: HashSet::new(),
        sure_reads: BTreeSet::new(),
        chosen_reads: BTreeSet::new(),
    };
    if !env.lazy_globals {
        // Every global subprogram the program includes is verified, called or not.
        for (start, _) in code.closure(entry) {
            if start != entry && code.func_starting(start).is_some_and(|f| f.global) {
                w.entries.push(start);
            }
        }
    }
    // The program itself first: only it gets the context in r1.
    w.entries.push(entry);
    let mut first = true;
    while let Some(e) = w.entries.pop() {
        if !w.entered.insert(e) {
            continue;
        }
        let mut regs = [Val::Unknown; 11];
        if first {
            regs[1] = Val::Ctx(0);
            first = false;
        }
        regs[10] = Val::Fp { frame: 0, off: 0 };
        if !w.run(
            e,
            State {
                regs,
                stack: Vec::new(),
                frames: Vec::new(),
                chosen: false,
            },
        ) {
            w.flow.exact = false;
            for (start, end) in code.closure(entry) {
                for insn in start.insn..end {
                    w.flow.reachable.insert(Loc {
                        sec: start.sec,
                        insn,
                    });
                }
            }
            break;
        }
    }
    if w.flow.exact {
        w.flow.chosen = w.chosen.difference(&w.sure).copied().collect();
        w.flow.ctx_reads = w.sure_reads.clone();
        w.flow.chosen_ctx_reads = w.chosen_reads.difference(&w.sure_reads).copied().collect();
    }
    w.flow
}

struct Walker<'a> {
    code: &'a Code,
    env: &'a Env,
    /// The states explored, per place.
    seen: FastMap<Loc, FastSet<State>>,
    /// Per (place, call stack): how many states were seen, and their join once widened.
    widened: FastMap<(Loc, Vec<Loc>), (usize, Option<State>)>,
    flow: Flow,
    /// Functions still to walk on their own (globals, callbacks).
    entries: Vec<Loc>,
    entered: HashSet<Loc>,
    budget: usize,
    /// Places reached on a path free of the loader's choices, and on one that is not.
    sure: HashSet<Loc>,
    chosen: HashSet<Loc>,
    sure_reads: BTreeSet<(i64, u8)>,
    chosen_reads: BTreeSet<(i64, u8)>,
}

fn join_val(a: Val, b: Val) -> Val {
    if a == b {
        a
    } else if matches!(a, Val::Chosen) || matches!(b, Val::Chosen) {
        Val::Chosen
    } else {
        Val::Unknown
    }
}

fn join_slots(a: &Slots, b: &Slots) -> Slots {
    a.iter()
        .filter(|(o, v)| b.iter().any(|(p, w)| p == o && w == v))
        .cloned()
        .collect()
}

fn join(a: &State, b: &State) -> State {
    let mut regs = a.regs;
    for (r, w) in regs.iter_mut().zip(b.regs.iter()) {
        *r = join_val(*r, *w);
    }
    State {
        regs,
        chosen: a.chosen || b.chosen,
        stack: join_slots(&a.stack, &b.stack),
        frames: a
            .frames
            .iter()
            .zip(&b.frames)
            .map(|(x, y)| Frame {
                ret: x.ret,
                saved: [
                    join_val(x.saved[0], y.saved[0]),
                    join_val(x.saved[1], y.saved[1]),
                    join_val(x.saved[2], y.saved[2]),
                    join_val(x.saved[3], y.saved[3]),
                ],
                stack: join_slots(&x.stack, &y.stack),
            })
            .collect(),
    }
}

impl Walker<'_> {
    /// A value of read-only data as compiled; unknown past the section's bytes.
    fn rodata(&self, sec: usize, off: i64, size: u8) -> Val {
        let Some(data) = self.code.rodata.get(&sec) else {
            return Val::Unknown;
        };
        let Ok(at) = usize::try_from(off) else {
            return Val::Unknown;
        };
        let Some(b) = data.get(at..at + usize::from(size)) else {
            return Val::Unknown;
        };
        let mut v: u64 = 0;
        if self.code.big_endian {
            for x in b {
                v = (v << 8) | u64::from(*x);
            }
        } else {
            for x in b.iter().rev() {
                v = (v << 8) | u64::from(*x);
            }
        }
        Val::Const(v as i64)
    }

    fn read_ctx(&mut self, st: &State, off: i64, size: u8) {
        if st.chosen {
            self.chosen_reads.insert((off, size));
        } else {
            self.sure_reads.insert((off, size));
        }
    }

    /// Explores from `start`; false when the budget ran out.
    fn run(&mut self, start: Loc, state: State) -> bool {
        let mut todo: Vec<(Loc, State)> = vec![(start, state)];
        while let Some((pc, st)) = todo.pop() {
            let Some(st) = self.admit(pc, st) else {
                continue;
            };
            // What hashing and comparing this state touches: registers, stack slots, and
            // per caller frame its return place, saved registers and slots.
            let cost = st.regs.len()
                + st.stack.len()
                + st.frames.iter().map(|f| 5 + f.stack.len()).sum::<usize>();
            if self.budget < cost {
                return false;
            }
            self.budget -= cost;
            self.flow.work += cost;
            let Some(i) = self.code.insn(pc) else {
                continue;
            };
            self.flow.reachable.insert(pc);
            if st.chosen {
                self.chosen.insert(pc);
            } else {
                self.sure.insert(pc);
            }
            self.step(pc, i, st, &mut todo);
        }
        true
    }

    /// Whether to explore `st` at `pc`, and in which form (widened after a few states).
    fn admit(&mut self, pc: Loc, st: State) -> Option<State> {
        if self.seen.get(&pc).is_some_and(|s| s.contains(&st)) {
            return None;
        }
        let key = (pc, st.frames.iter().map(|f| f.ret).collect::<Vec<_>>());
        let entry = self.widened.entry(key).or_insert((0, None));
        entry.0 += 1;
        let st = if entry.0 > WIDEN_AFTER {
            let j = match &entry.1 {
                Some(prev) => join(prev, &st),
                None => st,
            };
            if entry.1.as_ref() == Some(&j) {
                return None;
            }
            entry.1 = Some(j.clone());
            j
        } else {
            st
        };
        if !self.seen.entry(pc).or_default().insert(st.clone()) {
            return None;
        }
        Some(st)
    }

    fn next(pc: Loc, by: usize) -> Loc {
        Loc {
            sec: pc.sec,
            insn: pc.insn + by,
        }
    }

    fn step(&mut self, pc: Loc, i: Insn, mut st: State, todo: &mut Vec<(Loc, State)>) {
        let dst = i.dst_reg();
        let src = i.src_reg();
        let depth = st.frames.len() as u8;
        match i.class() {
            LD => {
                if i.is_ld_imm64() {
                    st.regs[dst] = self.imm64(pc, &i);
                    if i.src == PSEUDO_FUNC
                        && let Some(t) = self.code.call_target(pc, &i)
                    {
                        self.entries.push(t);
                    }
                    self.flow.reachable.insert(Self::next(pc, 1));
                    todo.push((Self::next(pc, 2), st));
                } else {
                    // Legacy packet loads write r0.
                    st.regs[0] = Val::Unknown;
                    todo.push((Self::next(pc, 1), st));
                }
            }
            LDX => {
                let addr = st.regs[src];
                let v = match addr {
                    Val::Ctx(_) if self.env.relocated.contains(&pc) => Val::Unknown,
                    Val::Ctx(o) => {
                        self.read_ctx(&st, o + i64::from(i.off), i.size());
                        Val::Unknown
                    }
                    Val::Fp { frame, off } if i.size() == 8 && i.mode() == 0x60 => {
                        slot_get(&st, frame, off + i64::from(i.off))
                    }
                    Val::Rodata => Val::Chosen,
                    Val::RoPtr { sec, off } if i.mode() == 0x60 => {
                        if self.env.rodata_as_compiled {
                            self.rodata(sec, off + i64::from(i.off), i.size())
                        } else {
                            Val::Chosen
                        }
                    }
                    Val::Konst(v) if i.off == 0 && i.mode() == 0x60 => Val::Const(match i.size() {
                        1 => i64::from(v as u8),
                        2 => i64::from(v as u16),
                        4 => i64::from(v as u32),
                        _ => v,
                    }),
                    _ => Val::Unknown,
                };
                st.regs[dst] = v;
                todo.push((Self::next(pc, 1), st));
            }
            ST | STX => {
                let atomic = i.class() == STX && i.mode() == 0xc0;
                if let Val::Fp { frame, off } = st.regs[dst] {
                    let at = off + i64::from(i.off);
                    let stored = if atomic {
                        None
                    } else if i.class() == STX {
                        Some(st.regs[src])
                    } else {
                        Some(Val::Const(i64::from(i.imm)))
                    };
                    slot_set(
                        &mut st,
                        frame,
                        at,
                        i.size(),
                        stored.filter(|_| i.size() == 8),
                    );
                }
                if atomic {
                    // Fetching atomics write the source register; cmpxchg writes r0.
                    if i.imm & 1 != 0 {
                        st.regs[src] = Val::Unknown;
                    }
                    if i.imm == 0xf1 {
                        st.regs[0] = Val::Unknown;
                    }
                }
                todo.push((Self::next(pc, 1), st));
            }
            ALU | ALU64 => {
                st.regs[dst] = self.alu(pc, &i, &st);
                todo.push((Self::next(pc, 1), st));
            }
            JMP | JMP32 => match i.op() {
                0x80 => self.call(pc, &i, st, depth, todo),
                0x90 => self.exit(st, todo),
                0x00 => {
                    if let Some(t) = i.jump_target(pc.insn) {
                        todo.push((
                            Loc {
                                sec: pc.sec,
                                insn: t,
                            },
                            st,
                        ));
                    }
                }
                op => {
                    let a = st.regs[dst];
                    let b = if i.from_reg() {
                        st.regs[src]
                    } else {
                        Val::Const(i64::from(i.imm))
                    };
                    let taken = if op == 0xe0 {
                        // may_goto: either way.
                        None
                    } else {
                        decide(op, a, b, i.class() == JMP32)
                    };
                    let target = i.jump_target(pc.insn).map(|t| Loc {
                        sec: pc.sec,
                        insn: t,
                    });
                    if taken.is_none() && op != 0xe0 && (a == Val::Chosen || b == Val::Chosen) {
                        // The verifier goes one way, the one the loader's value picks.
                        st.chosen = true;
                    }
                    match (taken, target) {
                        (Some(true), Some(t)) => todo.push((t, st)),
                        (Some(false), _) | (_, None) => todo.push((Self::next(pc, 1), st)),
                        (None, Some(t)) => {
                            todo.push((t, st.clone()));
                            todo.push((Self::next(pc, 1), st));
                        }
                    }
                }
            },
            _ => todo.push((Self::next(pc, 1), st)),
        }
    }

    fn imm64(&self, pc: Loc, i: &Insn) -> Val {
        if let Some(&v) = self.env.patched.get(&pc) {
            return Val::Const(v);
        }
        if self.env.relocated.contains(&pc) {
            return Val::Unknown;
        }
        if i.src == PSEUDO_FUNC {
            return Val::NonZero;
        }
        if i.src != 0 {
            return Val::Unknown;
        }
        match self.code.reloc(pc) {
            Some(r) if r.section.is_none() => match self.env.externs.get(&r.symbol) {
                Some(Extern::Address { present: false }) => Val::Const(0),
                Some(Extern::Address { present: true }) => Val::NonZero,
                Some(Extern::Value(v)) => Val::Konst(*v),
                // A `__kconfig` value this walk does not know: the verifier does.
                None if self.code.reloc(pc).is_some_and(|r| {
                    !r.func && (r.symbol.starts_with("CONFIG_") || r.symbol.starts_with("LINUX_"))
                }) =>
                {
                    Val::Rodata
                }
                None => Val::Unknown,
            },
            Some(r) if r.rodata => match r.section {
                Some(sec) => Val::RoPtr {
                    sec,
                    // Relocated against the variable (imm 0) or its section (imm: offset).
                    off: r.value as i64 + i64::from(i.imm),
                },
                None => Val::Unknown,
            },
            // Maps and global data.
            Some(_) => Val::Unknown,
            None => {
                let hi = self
                    .code
                    .insn(Self::next(pc, 1))
                    .map_or(0, |n| i64::from(n.imm));
                Val::Const((hi << 32) | i64::from(i.imm as u32))
            }
        }
    }

    fn alu(&self, pc: Loc, i: &Insn, st: &State) -> Val {
        if self.env.relocated.contains(&pc) && !self.env.patched.contains_key(&pc) {
            return Val::Unknown;
        }
        let wide = i.class() == ALU64;
        let imm = self
            .env
            .patched
            .get(&pc)
            .copied()
            .unwrap_or(i64::from(i.imm));
        let s = if i.from_reg() {
            st.regs[i.src_reg()]
        } else {
            Val::Const(imm)
        };
        let d = st.regs[i.dst_reg()];
        let op = i.op();
        // Moves of pointers and pointer arithmetic with constants.
        if wide && op == 0xb0 && i.off == 0 {
            return s;
        }
        if wide
            && matches!(op, 0x00 | 0x10)
            && let Val::Const(k) = s
        {
            let k = if op == 0x10 { k.wrapping_neg() } else { k };
            match d {
                Val::Ctx(o) => return Val::Ctx(o.wrapping_add(k)),
                Val::Fp { frame, off } => {
                    return Val::Fp {
                        frame,
                        off: off.wrapping_add(k),
                    };
                }
                Val::RoPtr { sec, off } => {
                    return Val::RoPtr {
                        sec,
                        off: off.wrapping_add(k),
                    };
                }
                _ => {}
            }
        }
        let (Val::Const(a), Val::Const(b)) = (d, s) else {
            return match (op, s) {
                (0xb0, Val::Const(b)) if i.off == 0 => trunc(b, wide),
                // Arithmetic on a value the loader chose stays one.
                _ if (matches!(d, Val::Chosen) && matches!(s, Val::Const(_) | Val::Chosen))
                    || (matches!(s, Val::Chosen) && op == 0xb0) =>
                {
                    Val::Chosen
                }
                _ => Val::Unknown,
            };
        };
        let v = match op {
            0xb0 if i.off == 0 => b,
            0x00 => a.wrapping_add(b),
            0x10 => a.wrapping_sub(b),
            0x20 => a.wrapping_mul(b),
            0x40 => a | b,
            0x50 => a & b,
            0xa0 => a ^ b,
            0x60 => a.wrapping_shl(b as u32 & if wide { 63 } else { 31 }),
            0x70 if wide => ((a as u64) >> (b as u32 & 63)) as i64,
            0x70 => i64::from((a as u32) >> (b as u32 & 31)),
            0xc0 if wide => a.wrapping_shr(b as u32 & 63),
            0xc0 => i64::from((a as i32).wrapping_shr(b as u32 & 31)),
            0x80 => a.wrapping_neg(),
            _ => return Val::Unknown,
        };
        trunc(v, wide)
    }

    fn call(&mut self, pc: Loc, i: &Insn, mut st: State, depth: u8, todo: &mut Vec<(Loc, State)>) {
        if i.src == PSEUDO_CALL
            && let Some(t) = self.code.call_target(pc, i)
        {
            let global = self.code.func_starting(t).is_some_and(|f| f.global);
            if global || st.frames.len() >= MAX_FRAMES {
                // Verified on its own; its result is unknown here.
                self.entries.push(t);
            } else {
                let mut regs = [Val::Unknown; 11];
                regs[1..6].copy_from_slice(&st.regs[1..6]);
                regs[10] = Val::Fp {
                    frame: depth + 1,
                    off: 0,
                };
                let frame = Frame {
                    ret: Self::next(pc, 1),
                    saved: [st.regs[6], st.regs[7], st.regs[8], st.regs[9]],
                    stack: std::mem::take(&mut st.stack),
                };
                let mut frames = st.frames;
                frames.push(frame);
                todo.push((
                    t,
                    State {
                        regs,
                        stack: Vec::new(),
                        frames,
                        chosen: st.chosen,
                    },
                ));
                return;
            }
        } else if i.src == 0 {
            // Helpers that read memory: a read of the context through them counts.
            if PROBE_READS.contains(&i.imm)
                && let Val::Ctx(o) = st.regs[3]
            {
                let size = match st.regs[2] {
                    Val::Const(n) if (1..=255).contains(&n) => n as u8,
                    _ => 8,
                };
                self.read_ctx(&st, o, size);
            }
            // A helper may write into stack memory it is given.
            for r in 1..=5 {
                if let Val::Fp { frame, off } = st.regs[r] {
                    match st.regs.get(r + 1).copied() {
                        Some(Val::Const(n)) if (0..=4096).contains(&n) => {
                            clear_range(&mut st, frame, off, off + n)
                        }
                        _ => clear_range(&mut st, frame, i64::MIN, i64::MAX),
                    }
                }
            }
        }
        for r in st.regs.iter_mut().take(6) {
            *r = Val::Unknown;
        }
        todo.push((Self::next(pc, 1), st));
    }

    fn exit(&mut self, mut st: State, todo: &mut Vec<(Loc, State)>) {
        let Some(f) = st.frames.pop() else {
            return;
        };
        let r0 = st.regs[0];
        let mut regs = [Val::Unknown; 11];
        regs[0] = r0;
        regs[6..10].copy_from_slice(&f.saved);
        regs[10] = Val::Fp {
            frame: st.frames.len() as u8,
            off: 0,
        };
        todo.push((
            f.ret,
            State {
                regs,
                stack: f.stack,
                frames: st.frames,
                chosen: st.chosen,
            },
        ));
    }
}

fn trunc(v: i64, wide: bool) -> Val {
    Val::Const(if wide { v } else { i64::from(v as u32) })
}

/// The stack of call depth `frame` in `st`: the current one, or a caller's.
fn slots_mut(st: &mut State, frame: u8) -> Option<&mut Slots> {
    let depth = st.frames.len();
    let f = usize::from(frame);
    if f == depth {
        Some(&mut st.stack)
    } else {
        st.frames.get_mut(f).map(|x| &mut x.stack)
    }
}

fn slot_get(st: &State, frame: u8, at: i64) -> Val {
    let depth = st.frames.len();
    let f = usize::from(frame);
    let slots = if f == depth {
        Some(&st.stack)
    } else {
        st.frames.get(f).map(|x| &x.stack)
    };
    slots
        .and_then(|s| s.iter().find(|(o, _)| *o == at).map(|(_, v)| *v))
        .unwrap_or(Val::Unknown)
}

/// A store of `size` bytes at `at`: an 8-byte store of a known value keeps it, anything
/// else forgets the slots it overlaps.
fn slot_set(st: &mut State, frame: u8, at: i64, size: u8, v: Option<Val>) {
    clear_range(st, frame, at, at + i64::from(size));
    if let (Some(v), Some(s)) = (v, slots_mut(st, frame))
        && v != Val::Unknown
        && s.len() < 64
    {
        s.push((at, v));
        s.sort_by_key(|(o, _)| *o);
    }
}

fn clear_range(st: &mut State, frame: u8, from: i64, to: i64) {
    if let Some(s) = slots_mut(st, frame) {
        s.retain(|(o, _)| *o + 8 <= from || *o >= to);
    }
}

/// A conditional jump on known values: `Some(taken)`, or `None` when it can go either way.
fn decide(op: u8, a: Val, b: Val, narrow: bool) -> Option<bool> {
    let nonzero = |v: Val| {
        matches!(
            v,
            Val::NonZero
                | Val::Ctx(_)
                | Val::Fp { .. }
                | Val::Konst(_)
                | Val::Rodata
                | Val::RoPtr { .. }
        )
    };
    match (a, b) {
        (Val::Const(a), Val::Const(b)) => compare(op, a, b, narrow),
        // A pointer or a present extern's address against 0.
        (x, Val::Const(0)) if nonzero(x) && !narrow => match op {
            0x10 => Some(false),
            0x50 => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// A conditional jump on known values; `None` for an unknown operation.
fn compare(op: u8, a: i64, b: i64, narrow: bool) -> Option<bool> {
    let (ua, ub, sa, sb) = if narrow {
        (
            u64::from(a as u32),
            u64::from(b as u32),
            i64::from(a as i32),
            i64::from(b as i32),
        )
    } else {
        (a as u64, b as u64, a, b)
    };
    Some(match op {
        0x10 => ua == ub,
        0x50 => ua != ub,
        0x20 => ua > ub,
        0x30 => ua >= ub,
        0xa0 => ua < ub,
        0xb0 => ua <= ub,
        0x40 => ua & ub != 0,
        0x60 => sa > sb,
        0x70 => sa >= sb,
        0xc0 => sa < sb,
        0xd0 => sa <= sb,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{CodeSection, Func, Reloc};
    use crate::insn::encode as ins;

    fn one(bytes: Vec<u8>, funcs: Vec<Func>) -> Code {
        Code {
            big_endian: false,
            sections: vec![CodeSection {
                name: "kprobe/x".into(),
                elf_index: 3,
                bytes,
                funcs,
                relocs: Default::default(),
            }],
            rodata: Default::default(),
        }
    }

    fn at(insn: usize) -> Loc {
        Loc { sec: 0, insn }
    }

    fn f(name: &str, start: usize, end: usize, global: bool) -> Func {
        Func {
            name: name.into(),
            start,
            end,
            global,
        }
    }

    #[test]
    fn a_resolved_existence_check_prunes_its_branch() {
        // 0: r1 = 1 (field_exists, patched)   1: if r1 == 0 goto 4
        // 2: r0 = 1 (guarded read)             3: exit
        // 4: r0 = 2 (fallback)                 5: exit
        let code = one(
            [
                ins(0xb7, 1, 0, 0, 1),
                ins(0x15, 1, 0, 2, 0),
                ins(0xb7, 0, 0, 0, 1),
                ins(0x95, 0, 0, 0, 0),
                ins(0xb7, 0, 0, 0, 2),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("p", 0, 6, true)],
        );
        let env = |v| Env {
            patched: HashMap::from([(at(0), v)]),
            ..Env::default()
        };
        let present = walk(&code, at(0), &env(1));
        assert!(present.reachable.contains(&at(2)) && !present.reachable.contains(&at(4)));
        let absent = walk(&code, at(0), &env(0));
        assert!(!absent.reachable.contains(&at(2)) && absent.reachable.contains(&at(4)));
        assert!(absent.exact);
    }

    #[test]
    fn a_guard_spilled_to_the_stack_and_checked_in_a_subprogram() {
        // main: r1 = exists (patched); *(u64 *)(r10 - 8) = r1; r1 = *(u64 *)(r10 - 8);
        //       call sub; exit
        // sub (static, at 5): if r1 == 0 goto +2; r0 = *(u32 *)(r2 + 0) (guarded); exit;
        //       r0 = 0; exit
        let code = one(
            [
                ins(0xb7, 1, 0, 0, 1),
                ins(0x7b, 10, 1, -8, 0),
                ins(0x79, 1, 10, -8, 0),
                ins(0x85, 0, 1, 0, 1),
                ins(0x95, 0, 0, 0, 0),
                ins(0x15, 1, 0, 2, 0),
                ins(0x61, 0, 2, 0, 0),
                ins(0x95, 0, 0, 0, 0),
                ins(0xb7, 0, 0, 0, 0),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("main", 0, 5, true), f("sub", 5, 10, false)],
        );
        let env = |v| Env {
            patched: HashMap::from([(at(0), v)]),
            lazy_globals: true,
            ..Env::default()
        };
        let absent = walk(&code, at(0), &env(0));
        assert!(!absent.reachable.contains(&at(6)), "{:?}", absent.reachable);
        assert!(absent.reachable.contains(&at(8)));
        let present = walk(&code, at(0), &env(1));
        assert!(present.reachable.contains(&at(6)) && !present.reachable.contains(&at(8)));
    }

    #[test]
    fn a_subprogram_returning_the_guard() {
        // main: call has (at 5); if r0 == 0 goto +1; r0 = *(u64 *)(r1 + 0) (guarded); exit
        // has (static): r0 = exists (patched); exit
        let code = one(
            [
                ins(0x85, 0, 1, 0, 4),
                ins(0x15, 0, 0, 1, 0),
                ins(0x79, 0, 1, 0, 0),
                ins(0x95, 0, 0, 0, 0),
                ins(0x05, 0, 0, 0, 0),
                ins(0xb7, 0, 0, 0, 1),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("main", 0, 5, true), f("has", 5, 7, false)],
        );
        let env = |v| Env {
            patched: HashMap::from([(at(5), v)]),
            ..Env::default()
        };
        assert!(!walk(&code, at(0), &env(0)).reachable.contains(&at(2)));
        assert!(walk(&code, at(0), &env(1)).reachable.contains(&at(2)));
    }

    #[test]
    fn a_global_subprogram_is_walked_with_unknown_arguments() {
        // main: r1 = 0; call glob; exit.   glob (global): if r1 == 0 goto +1; r0 = read; exit
        let code = one(
            [
                ins(0xb7, 1, 0, 0, 0),
                ins(0x85, 0, 1, 0, 1),
                ins(0x95, 0, 0, 0, 0),
                ins(0x15, 1, 0, 1, 0),
                ins(0x61, 0, 2, 0, 0),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("main", 0, 3, true), f("glob", 3, 6, true)],
        );
        let flow = walk(&code, at(0), &Env::default());
        assert!(flow.reachable.contains(&at(4)));
    }

    #[test]
    fn a_missing_weak_extern_reads_as_zero_and_kconfig_as_its_value() {
        // 0: r1 = sym ll (weak extern)  2: if r1 == 0 goto +1  3: call kfunc  4: r1 = KV ll
        // 6: r1 = *(u32 *)(r1 + 0)  7: if r1 < 0x50a00 goto +1  8: r0 = 1  9: exit
        let mut bytes = [
            ins(0x18, 1, 0, 0, 0),
            ins(0, 0, 0, 0, 0),
            ins(0x15, 1, 0, 1, 0),
            ins(0x85, 0, 2, 0, -1),
            ins(0x18, 1, 0, 0, 0),
            ins(0, 0, 0, 0, 0),
            ins(0x61, 1, 1, 0, 0),
            ins(0xa5, 1, 0, 1, 0x50a00),
            ins(0xb7, 0, 0, 0, 1),
            ins(0x95, 0, 0, 0, 0),
        ]
        .concat();
        bytes.truncate(80);
        let mut code = one(bytes, vec![f("p", 0, 10, true)]);
        let rel = |s: &str| Reloc {
            symbol: s.into(),
            section: None,
            value: 0,
            weak: true,
            func: false,
            rodata: false,
        };
        code.sections[0].relocs.insert(0, rel("bpf_task_acquire"));
        code.sections[0]
            .relocs
            .insert(4, rel("LINUX_KERNEL_VERSION"));
        let env = |present, version| Env {
            externs: HashMap::from([
                ("bpf_task_acquire".to_string(), Extern::Address { present }),
                ("LINUX_KERNEL_VERSION".to_string(), Extern::Value(version)),
            ]),
            ..Env::default()
        };
        let old = walk(&code, at(0), &env(false, 0x50a00 - 1));
        assert!(!old.reachable.contains(&at(3)) && !old.reachable.contains(&at(8)));
        let new = walk(&code, at(0), &env(true, 0x60100));
        assert!(new.reachable.contains(&at(3)) && new.reachable.contains(&at(8)));
    }

    #[test]
    fn const_volatile_values_as_compiled_and_as_a_loader_may_set_them() {
        // 0: r1 = flag ll (.rodata, 1 as compiled)  2: r1 = *(u8 *)(r1 + 0)
        // 3: if r1 == 0 goto +1  4: r0 = *(u64 *)(r6 + 0) (read A)  5: exit
        let mut code = one(
            [
                ins(0x18, 1, 0, 0, 0),
                ins(0, 0, 0, 0, 0),
                ins(0x71, 1, 1, 0, 0),
                ins(0x15, 1, 0, 1, 0),
                ins(0x79, 0, 6, 0, 0),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("p", 0, 6, true)],
        );
        code.sections[0].relocs.insert(
            0,
            Reloc {
                symbol: "flag".into(),
                section: Some(7),
                value: 0,
                weak: false,
                func: false,
                rodata: true,
            },
        );
        code.rodata.insert(7, vec![1]);
        let compiled = walk(
            &code,
            at(0),
            &Env {
                rodata_as_compiled: true,
                ..Env::default()
            },
        );
        assert!(compiled.reachable.contains(&at(4)) && compiled.chosen.is_empty());
        code.rodata.insert(7, vec![0]);
        let zero = walk(
            &code,
            at(0),
            &Env {
                rodata_as_compiled: true,
                ..Env::default()
            },
        );
        assert!(!zero.reachable.contains(&at(4)));
        // Any value: both ways, and what only one way reaches is the loader's choice.
        let any = walk(&code, at(0), &Env::default());
        assert!(any.chosen.contains(&at(4)));
    }

    #[test]
    fn context_reads_are_recorded_with_their_offsets() {
        // r6 = r1; r2 = *(u64 *)(r6 + 8); r6 += 16; r3 = *(u32 *)(r6 + 4); exit
        let code = one(
            [
                ins(0xbf, 6, 1, 0, 0),
                ins(0x79, 2, 6, 8, 0),
                ins(0x07, 6, 0, 0, 16),
                ins(0x61, 3, 6, 4, 0),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("p", 0, 5, true)],
        );
        let flow = walk(&code, at(0), &Env::default());
        assert_eq!(
            flow.ctx_reads.iter().copied().collect::<Vec<_>>(),
            vec![(8, 8), (20, 4)]
        );
    }

    #[test]
    fn loops_end_by_widening() {
        // r1 = 0; loop: r1 += 1; if r1 < 1000000 goto loop; exit
        let code = one(
            [
                ins(0xb7, 1, 0, 0, 0),
                ins(0x07, 1, 0, 0, 1),
                ins(0xa5, 1, 0, -2, 1_000_000),
                ins(0x95, 0, 0, 0, 0),
            ]
            .concat(),
            vec![f("p", 0, 4, true)],
        );
        let flow = walk(&code, at(0), &Env::default());
        assert!(flow.exact && flow.reachable.contains(&at(3)));
    }
}
