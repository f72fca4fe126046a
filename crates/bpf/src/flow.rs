//! Which instructions of a program can run on a given kernel, once CO-RE existence checks
//! are resolved: libbpf patches `bpf_core_field_exists()` and its kin to constants, and the
//! verifier then never walks the branches those constants rule out, so relocations there do
//! not matter. This follows constants through registers along every path (moves, the
//! arithmetic clang emits around the checks, conditional jumps on known values), the way the
//! verifier's dead-code elimination sees them.

use std::collections::{HashMap, HashSet};

/// The code of one program: its section's bytes, its byte order, and its instruction range.
pub struct Code<'a> {
    pub bytes: &'a [u8],
    pub big_endian: bool,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy)]
struct Ins {
    code: u8,
    dst: usize,
    src: usize,
    off: i16,
    imm: i32,
}

fn decode(c: &Code<'_>, i: usize) -> Option<Ins> {
    let b = c.bytes.get(i * 8..i * 8 + 8)?;
    let (dst, src) = if c.big_endian {
        (b[1] >> 4, b[1] & 0xf)
    } else {
        (b[1] & 0xf, b[1] >> 4)
    };
    let off = [b[2], b[3]];
    let imm = [b[4], b[5], b[6], b[7]];
    Some(Ins {
        code: b[0],
        dst: usize::from(dst).min(10),
        src: usize::from(src).min(10),
        off: if c.big_endian {
            i16::from_be_bytes(off)
        } else {
            i16::from_le_bytes(off)
        },
        imm: if c.big_endian {
            i32::from_be_bytes(imm)
        } else {
            i32::from_le_bytes(imm)
        },
    })
}

type Regs = [Option<i64>; 11];

/// At most this many (instruction, register state) pairs are explored per program; beyond
/// it, everything not yet decided counts as reachable (never a false "dead").
const MAX_STATES: usize = 200_000;

/// Reachable instructions of a program, by section instruction index, with the existence
/// checks at `patched` (instruction index → value) resolved.
pub fn reachable(c: &Code<'_>, patched: &HashMap<usize, i64>) -> HashSet<usize> {
    // A symbol may claim more instructions than its section holds.
    let c = &Code {
        end: c.end.min(c.bytes.len() / 8),
        ..*c
    };
    let mut seen: HashSet<(usize, Regs)> = HashSet::new();
    let mut reach = HashSet::new();
    let mut stack: Vec<(usize, Regs)> = vec![(c.start, [None; 11])];
    while let Some((pc, mut regs)) = stack.pop() {
        if pc < c.start || pc >= c.end || !seen.insert((pc, regs)) {
            continue;
        }
        if seen.len() > MAX_STATES {
            return (c.start..c.end).collect();
        }
        reach.insert(pc);
        let Some(ins) = decode(c, pc) else { continue };
        let class = ins.code & 7;
        let op = ins.code & 0xf0;
        let from_reg = ins.code & 8 != 0;
        match class {
            // BPF_LD: the 16-byte immediate load (value known when not relocated).
            0 => {
                if ins.code == 0x18 {
                    // A plain 64-bit constant (src 0); map, ksym and other pseudo loads are
                    // addresses, unknown here.
                    let hi = decode(c, pc + 1).map(|n| n.imm);
                    regs[ins.dst] = match (patched.get(&pc), ins.src, hi) {
                        (Some(&v), _, _) => Some(v),
                        (None, 0, Some(hi)) => {
                            Some((i64::from(hi) << 32) | i64::from(ins.imm as u32))
                        }
                        _ => None,
                    };
                    reach.insert(pc + 1);
                    stack.push((pc + 2, regs));
                } else {
                    regs[0] = None;
                    stack.push((pc + 1, regs));
                }
            }
            // BPF_LDX: a memory load.
            1 => {
                regs[ins.dst] = None;
                stack.push((pc + 1, regs));
            }
            // BPF_ST, BPF_STX: stores (atomics may write the source register).
            2 | 3 => {
                if class == 3 && ins.code & 0xe0 == 0xc0 {
                    regs[ins.src] = None;
                    regs[0] = None;
                }
                stack.push((pc + 1, regs));
            }
            // BPF_ALU, BPF_ALU64.
            4 | 7 => {
                let imm = match patched.get(&pc) {
                    Some(&v) => v,
                    None => i64::from(ins.imm),
                };
                let src = if from_reg { regs[ins.src] } else { Some(imm) };
                let dst = regs[ins.dst];
                let wide = class == 7;
                let v = match op {
                    0xb0 => src,
                    0x00 => dst.zip(src).map(|(a, b)| a.wrapping_add(b)),
                    0x10 => dst.zip(src).map(|(a, b)| a.wrapping_sub(b)),
                    0x20 => dst.zip(src).map(|(a, b)| a.wrapping_mul(b)),
                    0x40 => dst.zip(src).map(|(a, b)| a | b),
                    0x50 => dst.zip(src).map(|(a, b)| a & b),
                    0xa0 => dst.zip(src).map(|(a, b)| a ^ b),
                    0x60 => dst.zip(src).map(|(a, b)| a.wrapping_shl(b as u32 & 63)),
                    0x70 => dst
                        .zip(src)
                        .map(|(a, b)| ((a as u64) >> (b as u32 & 63)) as i64),
                    0x80 => dst.map(|a| a.wrapping_neg()),
                    _ => None,
                };
                regs[ins.dst] = if wide {
                    v
                } else {
                    v.map(|x| i64::from(x as u32))
                };
                stack.push((pc + 1, regs));
            }
            // BPF_JMP, BPF_JMP32.
            5 | 6 => {
                let target = (pc as i64 + 1 + i64::from(ins.off)) as usize;
                match op {
                    // call: helpers and subprograms clobber r0-r5.
                    0x80 => {
                        for r in regs.iter_mut().take(6) {
                            *r = None;
                        }
                        stack.push((pc + 1, regs));
                    }
                    // exit
                    0x90 => {}
                    // ja
                    0x00 => {
                        let t = if class == 6 {
                            (pc as i64 + 1 + i64::from(ins.imm)) as usize
                        } else {
                            target
                        };
                        stack.push((t, regs));
                    }
                    _ => {
                        let a = regs[ins.dst];
                        let b = if from_reg {
                            regs[ins.src]
                        } else {
                            Some(i64::from(ins.imm))
                        };
                        let taken = a.zip(b).and_then(|(a, b)| compare(op, a, b, class == 6));
                        match taken {
                            Some(true) => stack.push((target, regs)),
                            Some(false) => stack.push((pc + 1, regs)),
                            None => {
                                stack.push((target, regs));
                                stack.push((pc + 1, regs));
                            }
                        }
                    }
                }
            }
            _ => stack.push((pc + 1, regs)),
        }
    }
    reach
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

    fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = dst | (src << 4);
        b[2..4].copy_from_slice(&off.to_le_bytes());
        b[4..8].copy_from_slice(&imm.to_le_bytes());
        b
    }

    #[test]
    fn a_resolved_existence_check_prunes_its_branch() {
        // 0: r1 = 1 (field_exists, patched)   1: if r1 == 0 goto 4
        // 2: r0 = 1 (guarded read)             3: exit
        // 4: r0 = 2 (fallback)                 5: exit
        let code: Vec<u8> = [
            ins(0xb7, 1, 0, 0, 1),
            ins(0x15, 1, 0, 2, 0),
            ins(0xb7, 0, 0, 0, 1),
            ins(0x95, 0, 0, 0, 0),
            ins(0xb7, 0, 0, 0, 2),
            ins(0x95, 0, 0, 0, 0),
        ]
        .concat();
        let c = Code {
            bytes: &code,
            big_endian: false,
            start: 0,
            end: 6,
        };
        let present = reachable(&c, &HashMap::from([(0, 1)]));
        assert!(present.contains(&2) && !present.contains(&4));
        let absent = reachable(&c, &HashMap::from([(0, 0)]));
        assert!(!absent.contains(&2) && absent.contains(&4));
        // Unknown values keep both ways.
        let code2: Vec<u8> = [ins(0x61, 1, 2, 0, 0)].concat();
        let mut both = code.clone();
        both[..8].copy_from_slice(&code2);
        let c = Code {
            bytes: &both,
            big_endian: false,
            start: 0,
            end: 6,
        };
        let r = reachable(&c, &HashMap::new());
        assert!(r.contains(&2) && r.contains(&4));
    }
}
