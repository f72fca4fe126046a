//! Programs of one object that are alternatives of each other: a tool ships one variant per
//! attach mechanism (an fentry and a kprobe on one function; a classic, a raw and a BTF
//! tracepoint on one event) or per kernel generation (a probe on `account_page_dirtied` and
//! one on `folio_account_dirtied` doing the same), and turns off at run time those that do
//! not fit the kernel. Two programs are alternatives when
//! - they attach to the same function at the same end (entry: kprobe, fentry, fmod_ret;
//!   exit: kretprobe, fexit) or to the same tracepoint by different mechanisms; or
//! - their code does the same: the same maps, global variables, helpers and subprograms,
//!   and instructions that differ in at most a tenth of their length (what differs is how
//!   they read their context), while they attach to different places that do not always
//!   exist together (some kernel has one and not the other: a rename across kernel
//!   generations). Alike programs on places that every kernel has together (a handler for
//!   `sched_wakeup` and `sched_wakeup_new`) are both needed.
//!
//! An entry probe and an exit probe of one function are never alternatives (a tool needs
//! both).

use std::collections::{BTreeSet, HashMap};

use depsurf_bpf::code::{Code, Loc};
use depsurf_bpf::sections::Attach;
use depsurf_bpf::{BpfObject, Program};

/// Groups of at least two programs (indices into `obj.programs`), each sorted, in the order
/// of their first program.
/// `apart(a, b)`: some kernel has the attach point of program `a` and not that of `b`, or
/// the reverse.
pub fn groups(obj: &BpfObject, apart: &dyn Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let n = obj.programs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        let mut y = x;
        while p[y] != r {
            let next = p[y];
            p[y] = r;
            y = next;
        }
        r
    }
    let union = |p: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(p, a), find(p, b));
        if ra != rb {
            p[ra.max(rb)] = ra.min(rb);
        }
    };
    let keys: Vec<Option<(String, String)>> = obj.programs.iter().map(attach_key).collect();
    let core: BTreeSet<(String, u32)> = obj
        .core_relos
        .iter()
        .map(|r| (r.section.clone(), r.insn))
        .collect();
    let bodies: Vec<Body> = obj
        .programs
        .iter()
        .map(|p| Body::of(&obj.code, p, &core))
        .collect();
    // Pairs that may stand for each other.
    let mut pair = vec![vec![false; n]; n];
    for a in 0..n {
        for b in a + 1..n {
            let same_point = keys[a].is_some()
                && keys[a] == keys[b]
                && obj.programs[a].section != obj.programs[b].section;
            let elsewhere = keys[a].is_some() && keys[b].is_some() && keys[a] != keys[b];
            let ok = same_point || (elsewhere && apart(a, b) && bodies[a].alike(&bodies[b]));
            pair[a][b] = ok;
            pair[b][a] = ok;
        }
    }
    // Groups grow by such pairs, as long as every two members of a group may stand for
    // each other.
    let compatible = |x: usize, y: usize| pair[x][y];
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter(|&(a, b)| pair[a][b])
        .collect();
    for (a, b) in pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            continue;
        }
        let ga: Vec<usize> = (0..n).filter(|&x| find(&mut parent, x) == ra).collect();
        let gb: Vec<usize> = (0..n).filter(|&x| find(&mut parent, x) == rb).collect();
        if ga.iter().all(|&x| gb.iter().all(|&y| compatible(x, y))) {
            union(&mut parent, a, b);
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    out.sort();
    out
}

/// Where a program attaches, as (end, name): `entry`/`exit` of a function, a tracepoint's
/// event, a syscall's entry or exit; `None` for programs without a kernel attach point.
fn attach_key(p: &Program) -> Option<(String, String)> {
    let prefix = p.section_kind();
    let exit = matches!(
        prefix.trim_end_matches(".s"),
        "kretprobe" | "fexit" | "kretsyscall"
    );
    let end = if exit { "exit" } else { "entry" };
    Some(match &p.attach {
        Attach::Kprobe(f) | Attach::Trampoline(f) => (
            format!("func {end}"),
            f.split('+').next().unwrap_or(f).to_string(),
        ),
        Attach::Tracepoint { event, .. } => ("tracepoint".into(), event.clone()),
        Attach::Syscall(n) => (format!("syscall {end}"), n.clone()),
        Attach::Lsm(h) => ("lsm".into(), h.clone()),
        _ => return None,
    })
}

/// A program's code, normalised: relocated operands by symbol, CO-RE offsets dropped.
struct Body {
    insns: Vec<(u8, u8, u8, i32, u64)>,
    refs: BTreeSet<String>,
}

fn hash(s: &str) -> u64 {
    // FNV-1a: a stable fingerprint of a symbol name.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Body {
    fn of(code: &Code, p: &Program, core: &BTreeSet<(String, u32)>) -> Body {
        let mut insns = Vec::new();
        let mut refs = BTreeSet::new();
        for (start, end) in code.closure(p.entry) {
            let sec = &code.sections[start.sec];
            for k in start.insn..end {
                let at = Loc {
                    sec: start.sec,
                    insn: k,
                };
                let Some(i) = code.insn(at) else { break };
                let relocated = core.contains(&(sec.name.clone(), k as u32));
                let (off, imm) = if let Some(r) = code.reloc(at) {
                    // A subprogram by its name; maps, data and externs by their symbol.
                    let name = match code.call_target(at, &i).and_then(|t| code.func_starting(t)) {
                        Some(f) => f.name.clone(),
                        None => r.symbol.clone(),
                    };
                    refs.insert(name.clone());
                    (i32::from(i.off), hash(&name))
                } else if relocated {
                    (0, 0)
                } else {
                    if i.is_call() && i.src == 0 {
                        refs.insert(format!("helper {}", i.imm));
                    }
                    (i32::from(i.off), i.imm as u32 as u64)
                };
                insns.push((i.code, i.dst, i.src, off, imm));
            }
        }
        Body { insns, refs }
    }

    /// Same references, and instructions that differ in at most a tenth of their length.
    fn alike(&self, other: &Body) -> bool {
        if self.refs != other.refs || self.insns.is_empty() || other.insns.is_empty() {
            return false;
        }
        let (a, b) = (&self.insns, &other.insns);
        let longest = a.len().max(b.len());
        let allowed = longest / 10;
        if a.len().abs_diff(b.len()) > allowed {
            return false;
        }
        edit_distance_within(a, b, allowed)
    }
}

/// Whether at most `k` insertions, deletions or substitutions turn `a` into `b` (a band of
/// width `k` around the diagonal).
fn edit_distance_within<T: PartialEq>(a: &[T], b: &[T], k: usize) -> bool {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > k {
        return false;
    }
    let inf = usize::MAX / 2;
    let mut prev = vec![inf; m + 1];
    for (j, v) in prev.iter_mut().enumerate().take(k.min(m) + 1) {
        *v = j;
    }
    for i in 1..=n {
        let mut cur = vec![inf; m + 1];
        let lo = i.saturating_sub(k);
        let hi = (i + k).min(m);
        if lo == 0 {
            cur[0] = i;
        }
        for j in lo.max(1)..=hi {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        if cur[lo..=hi].iter().all(|&x| x > k) {
            return false;
        }
        prev = cur;
    }
    prev[m] <= k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banded_edit_distance() {
        let a: Vec<u8> = (0..40).collect();
        let mut b = a.clone();
        b[5] = 100;
        b.remove(20);
        assert!(edit_distance_within(&a, &b, 2));
        assert!(!edit_distance_within(&a, &b, 1));
        assert!(edit_distance_within(&a, &a, 0));
        assert!(!edit_distance_within(&a[..10], &a[..20], 5));
    }
}
