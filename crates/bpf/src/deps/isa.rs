//! The instruction set an object's code uses. A kernel older than an instruction rejects
//! the program: its verifier scans every loaded instruction for fields it does not know
//! ("BPF_STX uses reserved fields", "unknown opcode"), so what counts is every instruction
//! a program loads (itself and the subprograms it calls), not only those it reaches.
//!
//! The versions are those of the kernel releases whose verifier first accepted each
//! instruction (the mainline history of `kernel/bpf/verifier.c`; see docs/check.md).

use super::{Deps, Origin, Target};
use crate::Program;
use crate::code::{Code, Loc};
use crate::insn::{ALU, ALU64, Insn, JMP, JMP32, LDX, PSEUDO_FUNC, PSEUDO_KFUNC_CALL, STX};

/// An instruction-set feature and the first kernel version that accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    /// Short name, as dependencies are labelled (`atomic fetch`).
    pub name: &'static str,
    /// First kernel release (major, minor) that accepts it.
    pub since: (u32, u32),
    /// What it is, for reports.
    pub what: &'static str,
}

pub const FEATURES: &[Feature] = &[
    Feature {
        name: "bounded loop",
        since: (5, 3),
        what: "a backward jump (loop); older verifiers reject any back-edge",
    },
    Feature {
        name: "jmp32",
        since: (5, 1),
        what: "32-bit conditional jumps (BPF_JMP32, clang -mcpu=v3)",
    },
    Feature {
        name: "atomic fetch",
        since: (5, 12),
        what: "atomic operations other than a plain add: fetch-add, and, or, xor, xchg, \
               cmpxchg",
    },
    Feature {
        name: "callback",
        since: (5, 13),
        what: "the address of a BPF function passed to a helper (bpf_loop, \
               bpf_for_each_map_elem, timers)",
    },
    Feature {
        name: "kfunc call",
        since: (5, 13),
        what: "a call of a kernel function (kfunc)",
    },
    Feature {
        name: "sign extension",
        since: (6, 6),
        what: "sign-extending loads and moves (clang -mcpu=v4)",
    },
    Feature {
        name: "signed division",
        since: (6, 6),
        what: "signed division and modulo (clang -mcpu=v4)",
    },
    Feature {
        name: "bswap",
        since: (6, 6),
        what: "unconditional byte swap (clang -mcpu=v4)",
    },
    Feature {
        name: "gotol",
        since: (6, 6),
        what: "a jump with a 32-bit distance (clang -mcpu=v4)",
    },
    Feature {
        name: "may_goto",
        since: (6, 9),
        what: "the may_goto instruction (bpf_for loops with can_loop)",
    },
    Feature {
        name: "addr_space_cast",
        since: (6, 9),
        what: "address space casts (BPF arena)",
    },
    Feature {
        name: "load-acquire",
        since: (6, 15),
        what: "load-acquire and store-release instructions",
    },
];

fn feature(name: &str) -> Feature {
    *FEATURES
        .iter()
        .find(|f| f.name == name)
        .expect("a feature of the table")
}

/// The features instruction `i` at `at` needs.
fn needs(at: Loc, i: &Insn) -> Vec<&'static str> {
    let class = i.class();
    let op = i.op();
    let mut out = Vec::new();
    let one = match class {
        LDX if i.mode() == 0x80 => Some("sign extension"),
        // A plain atomic add (imm 0) is the old XADD.
        STX if i.mode() == 0xc0 && i.imm != 0 => Some(match i.imm {
            0x100 | 0x110 => "load-acquire",
            _ => "atomic fetch",
        }),
        ALU | ALU64 if op == 0xb0 && i.off != 0 => Some(if class == ALU64 && i.off == 1 {
            "addr_space_cast"
        } else {
            "sign extension"
        }),
        ALU | ALU64 if matches!(op, 0x30 | 0x90) && i.off == 1 => Some("signed division"),
        ALU64 if op == 0xd0 => Some("bswap"),
        JMP32 if op == 0x00 => Some("gotol"),
        JMP if op == 0xe0 => Some("may_goto"),
        JMP32 if !matches!(op, 0x80 | 0x90) => Some("jmp32"),
        JMP if i.is_call() && i.src == PSEUDO_KFUNC_CALL => Some("kfunc call"),
        _ if i.is_ld_imm64() && i.src == PSEUDO_FUNC => Some("callback"),
        _ => None,
    };
    out.extend(one);
    if i.is_jump() && i.jump_target(at.insn).is_some_and(|t| t <= at.insn) {
        out.push("bounded loop");
    }
    out
}

/// A dependency per feature, with the instructions of each program that use it.
pub(super) fn read(code: &Code, programs: &[Program], deps: &mut Deps) {
    for p in programs {
        // The first use of each feature in each program is enough to name it.
        let mut seen = std::collections::HashSet::new();
        for (start, end) in code.closure(p.entry) {
            let mut pc = start.insn;
            while pc < end {
                let at = Loc {
                    sec: start.sec,
                    insn: pc,
                };
                let Some(i) = code.insn(at) else { break };
                // Kfunc calls and callbacks are named by their own dependencies too; the
                // feature row says which kernels can run them at all.
                for name in needs(at, &i) {
                    if !seen.insert(name) {
                        continue;
                    }
                    let f = feature(name);
                    deps.add(
                        Target::Isa {
                            feature: f.name.to_string(),
                        },
                        false,
                        Origin {
                            section: code.sections[at.sec].name.clone(),
                            program: p.name.clone(),
                            insn: Some(at.insn as u32),
                            relo: None,
                        },
                    );
                }
                pc += if i.is_ld_imm64() { 2 } else { 1 };
            }
        }
    }
}
