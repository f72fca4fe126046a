//! Which of an image's function symbols ftrace can patch and which kprobes refuse, as the
//! running kernel decides it.
//!
//! ftrace patches a function only where the kernel recorded a call site for it (its mcount
//! table): functions built `notrace` (every `inline` function the compiler kept out of line,
//! the tracing code itself), assembly, and `.noinstr.text` have none, so fentry, fexit and
//! `kprobe_multi` cannot attach there, and a kprobe event (what a BPF kprobe creates) is
//! refused unless the kernel has `CONFIG_KPROBE_EVENTS_ON_NOTRACE`. kprobes refuse any
//! address on the kprobe blacklist: `NOKPROBE_SYMBOL` functions, `__kprobes` text,
//! `.noinstr.text`, and the entry code each architecture adds. Init code is freed once the
//! kernel has booted, and with it any way to attach.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Why ftrace cannot patch a function symbol, or kprobes refuse it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceReason {
    /// No mcount record at its entry: built `notrace`, or written in assembly.
    Notrace,
    /// In `.noinstr.text`: no record, and on the kprobe blacklist.
    Noinstr,
    /// Entry code the architecture puts on the kprobe blacklist (`.entry.text`; on arm64 and
    /// s390x also `.irqentry.text`, on arm64 the hypervisor text, on powerpc the exception
    /// vectors at the head of the kernel).
    Entry,
    /// In `.kprobes.text` (functions marked `__kprobes`): on the kprobe blacklist.
    KprobesText,
    /// Listed by `NOKPROBE_SYMBOL`: on the kprobe blacklist.
    Blacklist,
    /// Init code, freed after boot: nothing attaches to it on a running kernel.
    Init,
}

impl TraceReason {
    pub const ALL: [TraceReason; 6] = [
        TraceReason::Notrace,
        TraceReason::Noinstr,
        TraceReason::Entry,
        TraceReason::KprobesText,
        TraceReason::Blacklist,
        TraceReason::Init,
    ];

    /// The reason's bit in a [`Reasons`] set (and in the store).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Words for reports: `notrace`, `noinstr section`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            TraceReason::Notrace => "notrace",
            TraceReason::Noinstr => "noinstr section",
            TraceReason::Entry => "entry text",
            TraceReason::KprobesText => "kprobes text",
            TraceReason::Blacklist => "kprobe blacklist",
            TraceReason::Init => "init section",
        }
    }

    /// Whether kprobes refuse a symbol for this reason (everything but a missing mcount
    /// record, which only kprobe events mind).
    pub fn refuses_kprobes(self) -> bool {
        self != TraceReason::Notrace
    }
}

/// A set of [`TraceReason`]s, one bit each.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Reasons(pub u8);

impl Reasons {
    pub fn has(self, r: TraceReason) -> bool {
        self.0 & r.bit() != 0
    }

    pub fn add(&mut self, r: TraceReason) {
        self.0 |= r.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reasons, in [`TraceReason::ALL`] order.
    pub fn list(self) -> Vec<TraceReason> {
        TraceReason::ALL
            .into_iter()
            .filter(|r| self.has(*r))
            .collect()
    }

    /// The first reason that makes kprobes refuse, the most specific first (the blacklist
    /// entry before the section it sits in).
    pub fn kprobe_refusal(self) -> Option<TraceReason> {
        [
            TraceReason::Init,
            TraceReason::Noinstr,
            TraceReason::Entry,
            TraceReason::KprobesText,
            TraceReason::Blacklist,
        ]
        .into_iter()
        .find(|r| self.has(*r))
    }
}

/// The traceability of one image's function symbols. Every function symbol is in `ftrace`,
/// in `exceptions`, or in both (patchable but refused by kprobes); a name in neither is not a
/// function symbol of the image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traceability {
    /// Function symbols ftrace can patch once the kernel runs: what
    /// `available_filter_functions` lists (every name of an address, where it lists one).
    pub ftrace: BTreeSet<String>,
    /// Function symbols with something against them, and what.
    pub exceptions: BTreeMap<String, Reasons>,
    /// `CONFIG_KPROBE_EVENTS_ON_NOTRACE`: kprobe events may probe functions ftrace cannot
    /// patch.
    pub kprobe_on_notrace: bool,
}

/// What one image allows on one function symbol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncTrace {
    /// The image has a function symbol of this name.
    pub symbol: bool,
    /// ftrace can patch it: fentry, fexit, fmod_ret and `kprobe_multi` can attach.
    pub ftrace: bool,
    /// Why a kprobe (a BPF kprobe or kretprobe: a kprobe event) is refused there; `None`
    /// when it attaches (or when there is no symbol).
    pub kprobe: Option<TraceReason>,
    /// Everything the image's data says against the symbol (its own; for a suffixed symbol
    /// judged through its base function, see `base`).
    pub reasons: Vec<TraceReason>,
    /// For a compiler-suffixed symbol (`foo.isra.0`, `foo.cold`): the function the kernel
    /// judges kprobes on it by as well, as it does (`foo`), when the image has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

impl FuncTrace {
    /// A short verdict for reports: `fentry ✓, kprobe ✓`, `fentry ✗ (notrace), kprobe ✗ (notrace)`.
    pub fn summary(&self) -> String {
        if !self.symbol {
            return "no function symbol".into();
        }
        let why = |r: Option<TraceReason>| match r {
            Some(r) => format!(" ({})", r.as_str()),
            None => String::new(),
        };
        let ftrace_why = self
            .reasons
            .iter()
            .copied()
            .find(|r| matches!(r, TraceReason::Init | TraceReason::Noinstr))
            .or_else(|| (!self.ftrace).then_some(TraceReason::Notrace));
        format!(
            "ftrace {}{}, kprobe {}{}",
            if self.ftrace { "yes" } else { "no" },
            if self.ftrace {
                String::new()
            } else {
                why(ftrace_why)
            },
            if self.kprobe.is_none() { "yes" } else { "no" },
            why(self.kprobe)
        )
    }
}

/// The function a compiler-suffixed symbol was made from: `foo` for `foo.isra.0`.
pub fn base_name(name: &str) -> Option<&str> {
    match name.find('.') {
        Some(i) if i > 0 => Some(&name[..i]),
        _ => None,
    }
}

impl Traceability {
    /// The reasons against `name` and whether ftrace can patch it; `None` when the image has
    /// no function symbol of that name.
    pub fn facts(&self, name: &str) -> Option<(bool, Reasons)> {
        let ftrace = self.ftrace.contains(name);
        match self.exceptions.get(name) {
            Some(r) => Some((ftrace, *r)),
            None if ftrace => Some((true, Reasons::default())),
            None => None,
        }
    }

    /// What the image allows on the function symbol `name`, by the kernel's rules: kprobes
    /// refuse a blacklisted address, and for a suffixed symbol also one whose base function
    /// is blacklisted; a kprobe event is refused on a function ftrace cannot patch (unless
    /// `kprobe_on_notrace`), where for a suffixed symbol the base function's record counts
    /// when it has one.
    pub fn query(&self, name: &str) -> FuncTrace {
        self.query_with(name, |n| self.facts(n))
    }

    /// [`Traceability::query`] over any lookup of the facts of one name.
    pub fn query_with(
        &self,
        name: &str,
        facts: impl Fn(&str) -> Option<(bool, Reasons)>,
    ) -> FuncTrace {
        query(name, self.kprobe_on_notrace, facts)
    }
}

/// The verdict for `name` given a lookup of each name's (ftrace, reasons).
pub fn query(
    name: &str,
    kprobe_on_notrace: bool,
    facts: impl Fn(&str) -> Option<(bool, Reasons)>,
) -> FuncTrace {
    let Some((ftrace, reasons)) = facts(name) else {
        return FuncTrace::default();
    };
    let base = base_name(name).and_then(|b| facts(b).map(|f| (b, f)));
    let mut kprobe = reasons.kprobe_refusal();
    if kprobe.is_none()
        && let Some((_, (_, base_reasons))) = base
    {
        kprobe = base_reasons.kprobe_refusal();
    }
    if kprobe.is_none() && !kprobe_on_notrace {
        // A suffixed symbol without a record of its own passes when its base has one; one
        // whose base is not a symbol at all does not.
        let traced = ftrace
            || (base_name(name).is_some() && base.is_some_and(|(_, (base_ftrace, _))| base_ftrace));
        if !traced {
            kprobe = Some(TraceReason::Notrace);
        }
    }
    FuncTrace {
        symbol: true,
        ftrace,
        kprobe,
        reasons: reasons.list(),
        base: base.map(|(b, _)| b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Traceability {
        let mut t = Traceability::default();
        for n in ["vfs_read", "foo", "bar.isra.0", "nokp"] {
            t.ftrace.insert(n.into());
        }
        let mut r = |n: &str, rs: &[TraceReason]| {
            let mut set = Reasons::default();
            rs.iter().for_each(|x| set.add(*x));
            t.exceptions.insert(n.into(), set);
        };
        r("blk_account_io_start", &[TraceReason::Notrace]);
        r("foo.isra.0", &[TraceReason::Notrace]);
        r("orphan.cold", &[TraceReason::Notrace]);
        r("exc_nmi", &[TraceReason::Notrace, TraceReason::Noinstr]);
        r("nokp", &[TraceReason::Blacklist]);
        r("nokp.part.0", &[TraceReason::Notrace]);
        r("start_kernel", &[TraceReason::Init]);
        t
    }

    #[test]
    fn verdicts_follow_the_kernel() {
        let t = sample();
        let q = |n: &str| t.query(n);
        assert_eq!(q("vfs_read").kprobe, None);
        assert!(q("vfs_read").ftrace);
        let io = q("blk_account_io_start");
        assert!(io.symbol && !io.ftrace);
        assert_eq!(io.kprobe, Some(TraceReason::Notrace));
        assert_eq!(io.summary(), "ftrace no (notrace), kprobe no (notrace)");
        // A clone without a record passes kprobe events through its base's record.
        let c = q("foo.isra.0");
        assert!(!c.ftrace);
        assert_eq!(c.kprobe, None);
        assert_eq!(c.base.as_deref(), Some("foo"));
        // ...but not when the base is no symbol.
        assert_eq!(q("orphan.cold").kprobe, Some(TraceReason::Notrace));
        // A patchable clone whose base is absent is fine.
        assert_eq!(q("bar.isra.0").kprobe, None);
        assert_eq!(q("exc_nmi").kprobe, Some(TraceReason::Noinstr));
        // Blacklisted: ftrace still patches it, kprobes refuse it and its clones.
        let n = q("nokp");
        assert!(n.ftrace);
        assert_eq!(n.kprobe, Some(TraceReason::Blacklist));
        assert_eq!(q("nokp.part.0").kprobe, Some(TraceReason::Blacklist));
        assert_eq!(q("start_kernel").kprobe, Some(TraceReason::Init));
        assert_eq!(
            q("start_kernel").summary(),
            "ftrace no (init section), kprobe no (init section)"
        );
        let none = q("no_such_function");
        assert!(!none.symbol && !none.ftrace);
        assert_eq!(none.summary(), "no function symbol");
        let mut on = t.clone();
        on.kprobe_on_notrace = true;
        assert_eq!(on.query("blk_account_io_start").kprobe, None);
        assert_eq!(on.query("exc_nmi").kprobe, Some(TraceReason::Noinstr));
    }

    #[test]
    fn reason_bits() {
        let mut r = Reasons::default();
        assert!(r.is_empty());
        r.add(TraceReason::Blacklist);
        r.add(TraceReason::Notrace);
        assert_eq!(r.list(), [TraceReason::Notrace, TraceReason::Blacklist]);
        assert_eq!(r.kprobe_refusal(), Some(TraceReason::Blacklist));
        assert_eq!(base_name("a.b.c"), Some("a"));
        assert_eq!(base_name(".L1"), None);
        assert_eq!(base_name("plain"), None);
    }
}
