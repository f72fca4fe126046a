//! What a program reads of its attach point, and whether an image changes what those bytes
//! mean against the definition the object was built for.
//!
//! A kprobe reads the function's arguments from registers (`pt_regs`), a trampoline
//! (fentry, fexit, fmod_ret), a BTF tracepoint (`tp_btf`), a raw tracepoint and an LSM
//! program read them from an array of 64-bit slots; fexit, fmod_ret and LSM programs find
//! the return value in the slot after the last argument. A classic tracepoint program
//! reads the event's record (`struct trace_event_raw_<class>`), never the probe's
//! arguments, so only changes of the record matter to it; raw and BTF tracepoints read the
//! arguments, so only changes of the probe function matter to them.
//!
//! An argument the image does not have is an error where the kernel checks (the verifier
//! for BTF-typed programs, the attach of a raw tracepoint, a classic tracepoint read past
//! the record); elsewhere (a kprobe reading a register) it is a stray read, as is an
//! argument or record field whose meaning changed.

use std::collections::BTreeSet;

use depsurf_bpf::flow::Flow;
use depsurf_bpf::{Program, sections::Attach};
use depsurf_diff::Consequence;
use depsurf_surface::ctext;
use depsurf_surface::model::{Composite, Proto};

use crate::meaning::{self, Word};
use crate::{Cell, Status};

/// What a program reads of its context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Argument slots (for register-based kprobes: argument numbers), and whether it reads
    /// a kretprobe's return value.
    Args { slots: BTreeSet<usize>, ret: bool },
    /// Byte ranges of a tracepoint record.
    Record(BTreeSet<(i64, u8)>),
    /// Not known (the walk gave up, or a context this module does not model).
    Unknown,
}

/// How a program's context is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `struct pt_regs`.
    Regs { ret: bool },
    /// 64-bit slots: arguments, then (fexit, fmod_ret, LSM: `ret`) the return value.
    Slots { ret: bool },
    /// Slots after the probe's hidden first argument (raw tracepoints: the probe function
    /// takes `void *__data` first).
    TracepointArgs { btf: bool },
    /// A tracepoint record.
    Record,
}

pub(crate) fn shape(p: &Program) -> Option<Shape> {
    let prefix = p.section_kind();
    Some(match (&p.attach, p.prog_type) {
        (Attach::Kprobe(_), _) => Shape::Regs {
            ret: prefix.starts_with("kretprobe"),
        },
        (Attach::Trampoline(_), _) => Shape::Slots {
            ret: matches!(prefix.trim_end_matches(".s"), "fexit" | "fmod_ret"),
        },
        (Attach::Lsm(_), _) => Shape::Slots { ret: true },
        (Attach::Tracepoint { .. }, Some("TRACEPOINT")) => Shape::Record,
        (Attach::Tracepoint { .. }, Some("RAW_TRACEPOINT" | "RAW_TRACEPOINT_WRITABLE")) => {
            Shape::TracepointArgs { btf: false }
        }
        (Attach::Tracepoint { .. }, Some("TRACING")) => Shape::TracepointArgs { btf: true },
        _ => return None,
    })
}

/// x86-64 `pt_regs`: the registers of the first six arguments and of the return value, by
/// offset, for objects whose BTF does not describe `pt_regs`.
const X86_ARGS: [(i64, usize); 6] = [(112, 0), (104, 1), (96, 2), (88, 3), (72, 4), (64, 5)];
const X86_RET: i64 = 80;

/// What `p` reads, from its walk: on every path (`chosen` false), or only on paths that
/// depend on values the loader sets (`chosen` true).
pub(crate) fn reads(p: &Program, flow: &Flow, chosen: bool) -> Reads {
    if !flow.exact {
        return Reads::Unknown;
    }
    let ctx_reads = if chosen {
        &flow.chosen_ctx_reads
    } else {
        &flow.ctx_reads
    };
    match shape(p) {
        Some(Shape::Record) => Reads::Record(ctx_reads.clone()),
        Some(Shape::Slots { .. } | Shape::TracepointArgs { .. }) => Reads::Args {
            slots: ctx_reads
                .iter()
                .filter(|(o, _)| *o >= 0)
                .map(|(o, _)| (*o / 8) as usize)
                .collect(),
            ret: false,
        },
        Some(Shape::Regs { ret: kret }) => {
            let regs = p.ctx.as_ref().filter(|(n, _)| n == "pt_regs");
            let mut slots = BTreeSet::new();
            let mut ret = false;
            for (o, _) in ctx_reads {
                match regs.map(|(_, c)| register(c, *o)) {
                    Some(Some(Reg::Arg(i))) => {
                        slots.insert(i);
                    }
                    Some(Some(Reg::Ret)) if kret => ret = true,
                    Some(Some(Reg::Ret)) => {}
                    // arm64: x0 holds the first argument and the return value.
                    Some(Some(Reg::ArgOrRet(i))) => {
                        if kret && i == 0 {
                            ret = true;
                        } else {
                            slots.insert(i);
                        }
                    }
                    Some(None) => {}
                    None => {
                        if let Some((_, i)) = X86_ARGS.iter().find(|(x, _)| x == o) {
                            slots.insert(*i);
                        } else if *o == X86_RET && kret {
                            ret = true;
                        }
                    }
                }
            }
            Reads::Args { slots, ret }
        }
        None => Reads::Unknown,
    }
}

enum Reg {
    Arg(usize),
    Ret,
    ArgOrRet(usize),
}

/// The register at byte `off` of a `pt_regs` the object's BTF describes.
fn register(regs: &Composite, off: i64) -> Option<Reg> {
    let m = regs
        .members
        .iter()
        .rev()
        .find(|m| i64::from(m.bit_offset / 8) <= off)?;
    let rel = off - i64::from(m.bit_offset / 8);
    Some(match (m.name.as_str(), rel) {
        ("di" | "rdi", 0) => Reg::Arg(0),
        ("si" | "rsi", 0) => Reg::Arg(1),
        ("dx" | "rdx", 0) => Reg::Arg(2),
        ("cx" | "rcx", 0) => Reg::Arg(3),
        ("r8", 0) => Reg::Arg(4),
        ("r9", 0) => Reg::Arg(5),
        ("ax" | "rax", 0) => Reg::Ret,
        // arm64 (user_pt_regs), riscv and others keep an array of registers.
        ("regs", r) if r % 8 == 0 && r / 8 < 8 => Reg::ArgOrRet((r / 8) as usize),
        ("a0", 0) => Reg::ArgOrRet(0),
        _ => return None,
    })
}

/// The definition a program's reads are judged against: a function's (or hook's, or
/// tracepoint probe's) prototype, or a tracepoint's record.
#[derive(Clone, Debug)]
pub(crate) enum Shown<'a> {
    Proto(&'a Proto),
    Record(&'a Composite),
}

/// Judges `reads` of program `p` in one image (`img`, machine word `wi`) against the
/// reference (`refd`, word `wr`, named `from`); `local` is the record as the object
/// declares it, when it does. `None` when nothing read changed.
pub(crate) fn judge(
    p: &Program,
    reads: &Reads,
    refd: &Shown<'_>,
    wr: Word,
    img: &Shown<'_>,
    wi: Word,
    from: &str,
) -> Option<Cell> {
    let shape = shape(p)?;
    match (refd, img) {
        (Shown::Proto(r), Shown::Proto(i)) => {
            let skip = usize::from(matches!(shape, Shape::TracepointArgs { .. }));
            args(shape, reads, r, wr, i, wi, skip, from)
        }
        (Shown::Record(r), Shown::Record(i)) => {
            let local = p
                .ctx
                .as_ref()
                .filter(|(n, _)| n != "pt_regs")
                .map(|(_, c)| c);
            record(reads, local, r, wr, i, wi, from)
        }
        _ => None,
    }
}

fn param_text(p: &Proto, i: usize) -> String {
    p.params
        .get(i)
        .map(|q| ctext::decl(&q.ty, &q.name))
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn args(
    shape: Shape,
    reads: &Reads,
    r: &Proto,
    wr: Word,
    i: &Proto,
    wi: Word,
    skip: usize,
    from: &str,
) -> Option<Cell> {
    let nr = r.params.len().saturating_sub(skip);
    let ni = i.params.len().saturating_sub(skip);
    let (slots, kret) = match reads {
        Reads::Args { slots, ret } => (slots.clone(), *ret),
        // Unknown reads: every argument and the return value.
        _ => (
            (0..nr.max(ni)).collect(),
            matches!(shape, Shape::Regs { ret: true }),
        ),
    };
    let checked = matches!(shape, Shape::Slots { .. } | Shape::TracepointArgs { .. });
    let has_ret = matches!(shape, Shape::Slots { ret: true });
    let mut stray = Vec::new();
    // What a slot holds in a prototype of `n` arguments: an argument, the return value, or
    // nothing the kernel lets the program read.
    let slot = |s: usize, n: usize| -> Option<Option<usize>> {
        if s < n {
            Some(Some(s))
        } else if s == n && has_ret {
            Some(None)
        } else {
            None
        }
    };
    for &s in &slots {
        let (Some(want), got) = (slot(s, nr), slot(s, ni)) else {
            // The reference has nothing there either: nothing to compare.
            if checked && slot(s, ni).is_none() {
                return Some(Cell::bad(
                    Status::Changed,
                    Consequence::Error,
                    format!(
                        "reads slot {} of its context, which neither kernel has",
                        s + 1
                    ),
                ));
            }
            continue;
        };
        let what = |p: &Proto, x: Option<usize>| match x {
            Some(a) => format!("argument {} `{}`", a + 1, param_text(p, a + skip)),
            None => format!("the return value `{}`", ctext::type_text(&p.ret)),
        };
        let Some(got) = got else {
            let text = format!(
                "reads {} (slot {}), which it does not have here (it takes {ni} arguments)",
                what(r, want),
                s + 1
            );
            if checked {
                let when = match shape {
                    Shape::TracepointArgs { btf: false } => "attaching fails (EINVAL)",
                    _ => "the verifier rejects the program",
                };
                return Some(Cell::bad(
                    Status::Changed,
                    Consequence::Error,
                    format!("{text}: {when}"),
                ));
            }
            stray.push(text);
            continue;
        };
        let same = match (want, got) {
            (Some(a), Some(b)) => {
                meaning::same(&r.params[a + skip].ty, wr, &i.params[b + skip].ty, wi)
            }
            (None, None) => meaning::same(&r.ret, wr, &i.ret, wi),
            _ => false,
        };
        if !same {
            stray.push(format!(
                "slot {} holds {} here, {} in {from}",
                s + 1,
                what(i, got),
                what(r, want)
            ));
        }
    }
    if kret && !meaning::same(&r.ret, wr, &i.ret, wi) {
        stray.push(format!(
            "returns `{}` here, `{}` in {from}",
            ctext::type_text(&i.ret),
            ctext::type_text(&r.ret)
        ));
    }
    (!stray.is_empty())
        .then(|| Cell::bad(Status::Changed, Consequence::StrayRead, stray.join("; ")))
}

/// The member of `c` that holds byte `off`, and where it starts.
fn member_at(c: &Composite, off: i64) -> Option<(&depsurf_surface::Member, i64)> {
    c.members
        .iter()
        .filter(|m| i64::from(m.bit_offset / 8) <= off)
        .max_by_key(|m| m.bit_offset)
        .map(|m| (m, i64::from(m.bit_offset / 8)))
}

fn record(
    reads: &Reads,
    local: Option<&Composite>,
    r: &Composite,
    wr: Word,
    i: &Composite,
    wi: Word,
    from: &str,
) -> Option<Cell> {
    let Reads::Record(ranges) = reads else {
        // Unknown reads: any change of the record may matter.
        return (r != i).then(|| {
            Cell::bad(
                Status::Changed,
                Consequence::StrayRead,
                format!("the event record differs from {from}"),
            )
        });
    };
    let end = ranges
        .iter()
        .map(|(o, s)| o + i64::from(*s))
        .max()
        .unwrap_or(0);
    if end > i64::from(i.size) && i.size > 0 {
        return Some(Cell::bad(
            Status::Changed,
            Consequence::Error,
            format!(
                "reads up to byte {end} of the event record, which has {} bytes here: \
                 attaching fails (EACCES)",
                i.size
            ),
        ));
    }
    let layout = local.unwrap_or(r);
    let lw = if local.is_some() { Word::BPF } else { wr };
    let mut stray = Vec::new();
    for &(off, _) in ranges {
        // The common header (`struct trace_entry`) does not change.
        if off < 8 {
            continue;
        }
        let Some((m, start)) = member_at(layout, off) else {
            continue;
        };
        let at = off;
        match i.member(&m.name) {
            None => stray.push(format!(
                "reads `{}` at byte {at}, which the record no longer has",
                m.name
            )),
            Some(im) => {
                let istart = i64::from(im.bit_offset / 8);
                if istart != start {
                    stray.push(format!(
                        "reads `{}` at byte {at}; it is at byte {} here",
                        m.name,
                        istart + (off - start)
                    ));
                } else if !meaning::same(&m.ty, lw, &im.ty, wi) {
                    stray.push(format!(
                        "`{}` is `{}` here, `{}` in {}",
                        m.name,
                        ctext::type_text(&im.ty),
                        ctext::type_text(&m.ty),
                        if local.is_some() { "the object" } else { from }
                    ));
                }
            }
        }
    }
    stray.sort();
    stray.dedup();
    (!stray.is_empty())
        .then(|| Cell::bad(Status::Changed, Consequence::StrayRead, stray.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use depsurf_surface::model::{Member, Param, TypeRef};

    fn p(name: &str, ty: TypeRef) -> Param {
        Param {
            name: name.into(),
            ty,
        }
    }
    fn ptr(s: &str) -> TypeRef {
        TypeRef::Ptr(Box::new(TypeRef::Struct(s.into())))
    }
    fn int(s: &str) -> TypeRef {
        TypeRef::Int(s.into())
    }
    fn slots(v: &[usize]) -> Reads {
        Reads::Args {
            slots: v.iter().copied().collect(),
            ret: false,
        }
    }
    const W: Word = Word(8);

    /// sched_switch's probe before and after `prev_state` was appended.
    fn switch(with_state: bool) -> Proto {
        let mut params = vec![
            p("__data", TypeRef::Ptr(Box::new(TypeRef::Void))),
            p("preempt", TypeRef::Typedef("bool".into())),
            p("prev", ptr("task_struct")),
            p("next", ptr("task_struct")),
        ];
        if with_state {
            params.push(p("prev_state", int("unsigned int")));
        }
        Proto {
            params,
            ret: TypeRef::Void,
        }
    }

    #[test]
    fn an_appended_argument_concerns_only_programs_that_read_it() {
        let (new, old) = (switch(true), switch(false));
        let raw = Shape::TracepointArgs { btf: false };
        let btf = Shape::TracepointArgs { btf: true };
        // Reading prev and next: fine on the older probe.
        assert_eq!(args(raw, &slots(&[1, 2]), &new, W, &old, W, 1, "ref"), None);
        // Reading prev_state: the raw attach fails, the BTF load fails.
        let c = args(raw, &slots(&[3]), &new, W, &old, W, 1, "ref").unwrap();
        assert_eq!(c.consequence, Some(Consequence::Error));
        assert!(c.detail.contains("EINVAL"), "{}", c.detail);
        let c = args(btf, &slots(&[3]), &new, W, &old, W, 1, "ref").unwrap();
        assert!(c.detail.contains("verifier"), "{}", c.detail);
    }

    #[test]
    fn fexit_reads_the_return_value_after_the_arguments() {
        let two = Proto {
            params: vec![
                p("gfp", int("unsigned int")),
                p("order", int("unsigned int")),
            ],
            ret: ptr("folio"),
        };
        let mut three = two.clone();
        three.params.push(p("policy", ptr("mempolicy")));
        let fexit = Shape::Slots { ret: true };
        // Built for two arguments, it reads the return value in slot 3: on a kernel whose
        // function takes three, that slot holds `policy`.
        let c = args(fexit, &slots(&[2]), &two, W, &three, W, 0, "ref").unwrap();
        assert_eq!(c.consequence, Some(Consequence::StrayRead));
        assert_eq!(args(fexit, &slots(&[2]), &two, W, &two, W, 0, "ref"), None);
        // A const added to a pointer argument changes no byte.
        let mut constant = two.clone();
        constant.params[0].ty = TypeRef::Const(Box::new(int("unsigned int")));
        assert_eq!(
            args(fexit, &slots(&[0]), &two, W, &constant, W, 0, "ref"),
            None
        );
    }

    fn member(name: &str, byte: u32, ty: TypeRef) -> Member {
        Member {
            name: name.into(),
            bit_offset: byte * 8,
            bitfield: 0,
            ty,
        }
    }

    #[test]
    fn a_record_read_is_judged_by_field_name_and_offset() {
        let v61 = Composite {
            size: 36,
            members: vec![
                member("ent", 0, TypeRef::Struct("trace_entry".into())),
                member("pid", 24, int("int")),
                member("target_cpu", 32, int("int")),
            ],
        };
        let v510 = Composite {
            size: 40,
            members: vec![
                member("ent", 0, TypeRef::Struct("trace_entry".into())),
                member("pid", 24, int("int")),
                member("success", 32, int("int")),
                member("target_cpu", 36, int("int")),
            ],
        };
        let reads = Reads::Record([(32, 4)].into_iter().collect());
        let c = record(&reads, None, &v61, W, &v510, W, "ref").unwrap();
        assert!(c.detail.contains("target_cpu"), "{}", c.detail);
        let pid = Reads::Record([(24, 4)].into_iter().collect());
        assert_eq!(record(&pid, None, &v61, W, &v510, W, "ref"), None);
        // Reading past the kernel's record fails the attach.
        let far = Reads::Record([(40, 4)].into_iter().collect());
        let c = record(&far, Some(&v510), &v510, W, &v61, W, "ref").unwrap();
        assert_eq!(c.consequence, Some(Consequence::Error));
    }
}
