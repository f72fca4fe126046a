//! Traceability, read out of the image's data: which function symbols ftrace can patch (those
//! a record of the mcount table, `__start_mcount_loc` .. `__stop_mcount_loc`, points to) and
//! which kprobes refuse (the `_kprobe_blacklist` table of `NOKPROBE_SYMBOL`s, and the text
//! areas the kernel puts on the blacklist when kprobes start), as the running kernel lists
//! them in `available_filter_functions` and `kprobes/blacklist`.

use std::collections::{BTreeMap, BTreeSet};

use depsurf_image::KernelMemory;

use depsurf_model::{Reasons, TraceReason, Traceability};

/// Most records read (a kernel has some tens of thousands).
const MAX_RECORDS: u64 = 1 << 22;

/// What a scan found, with the counts that explain it.
#[derive(Clone, Debug, Default)]
pub struct TraceScan {
    pub traceability: Traceability,
    /// Entries of the mcount table.
    pub records: usize,
    /// Entries left 0 (the build removes those of overridden weak functions).
    pub empty: usize,
    /// Records at no function's entry (the bodies of overridden weak functions, which the
    /// kernel shows as `__ftrace_invalid_address___<offset>`).
    pub stray: usize,
    /// Records in init code (freed after boot).
    pub init: usize,
    /// Entries of the kprobe blacklist table, and those at no function symbol.
    pub blacklisted: usize,
    pub blacklist_unmatched: usize,
    /// Function symbols looked at.
    pub functions: usize,
    /// The blacklisted areas found: (start symbol, function symbols in it).
    pub areas: Vec<(&'static str, usize)>,
}

/// The areas kprobes refuse, by their bounding symbols: everywhere `__kprobes` text and
/// `.noinstr.text`, and what each architecture adds when kprobes start.
fn areas(arch: &str) -> Vec<(&'static str, &'static str, TraceReason)> {
    let mut v = vec![
        (
            "__kprobes_text_start",
            "__kprobes_text_end",
            TraceReason::KprobesText,
        ),
        (
            "__noinstr_text_start",
            "__noinstr_text_end",
            TraceReason::Noinstr,
        ),
    ];
    let entry = ("__entry_text_start", "__entry_text_end", TraceReason::Entry);
    let irqentry = (
        "__irqentry_text_start",
        "__irqentry_text_end",
        TraceReason::Entry,
    );
    match arch {
        "amd64" | "i386" | "x32" => v.push(entry),
        "arm64" => v.extend([
            entry,
            irqentry,
            ("__hyp_text_start", "__hyp_text_end", TraceReason::Entry),
            (
                "__hyp_idmap_text_start",
                "__hyp_idmap_text_end",
                TraceReason::Entry,
            ),
        ]),
        "s390x" | "loong64" | "riscv64" => v.push(irqentry),
        "ppc64el" | "ppc64" | "powerpc" => v.push(("_stext", "__head_end", TraceReason::Entry)),
        _ => {}
    }
    v
}

/// Symbols that are not functions though listings type them as code: padding and CFI
/// preambles, mapping and local labels, the bounds of text areas.
fn is_function_name(n: &str) -> bool {
    !(n.is_empty()
        || n.starts_with("__pfx_")
        || n.starts_with("__cfi_")
        || n.starts_with('$')
        || n.starts_with(".L")
        || n.ends_with("_text_start")
        || n.ends_with("_text_end")
        || matches!(
            n,
            "_text"
                | "_stext"
                | "_etext"
                | "_sinittext"
                | "_einittext"
                | "__init_begin"
                | "__init_end"
                | "_end"
        ))
}

/// How far past a function's first byte its record may lie: on x86 the call follows an
/// `endbr64` (4 bytes) when the kernel has IBT, and the kernel marks records any further in
/// invalid (weak functions whose body the link left behind); elsewhere the kernel names a
/// record by the function holding it.
fn max_offset(arch: &str) -> u64 {
    match arch {
        "amd64" | "i386" | "x32" => 4,
        _ => u64::MAX,
    }
}

/// A function symbol: its address and name.
struct Func<'a> {
    addr: u64,
    name: &'a str,
}

/// Reads the traceability of an image from its memory and symbols. `arch` is the Debian
/// architecture; `config` the set options, when the image has its config.
pub fn scan(
    mem: &KernelMemory<'_>,
    arch: &str,
    config: Option<&BTreeMap<String, String>>,
) -> Result<TraceScan, String> {
    let syms = &mem.symbols;
    let sym = |n: &str| syms.addr(n);
    let set = |o: &str| config.is_some_and(|c| c.contains_key(o));
    let text = (sym("_stext").or_else(|| sym("_text")), sym("_etext"));
    let (Some(text_start), Some(text_end)) = text else {
        return Err("no _stext and _etext symbols: the kernel's text cannot be told".into());
    };
    let mut init_ranges = Vec::new();
    for (a, b) in [("__init_begin", "__init_end"), ("_sinittext", "_einittext")] {
        if let (Some(a), Some(b)) = (sym(a), sym(b))
            && b > a
        {
            init_ranges.push(a..b);
        }
    }
    let in_init = |a: u64| init_ranges.iter().any(|r| r.contains(&a));
    let funcs: Vec<Func<'_>> = syms
        .iter()
        .filter(|s| {
            s.code
                && !s.data
                && ((text_start..text_end).contains(&s.addr) || in_init(s.addr))
                && is_function_name(&s.name)
        })
        .map(|s| Func {
            addr: s.addr,
            name: &s.name,
        })
        .collect();
    if funcs.is_empty() {
        return Err("no function symbols in the kernel's text".into());
    }
    // The names at each address, by the index of the first function there.
    let at = |addr: u64| -> &[Func<'_>] {
        let start = funcs.partition_point(|f| f.addr < addr);
        let end = start + funcs[start..].partition_point(|f| f.addr == addr);
        &funcs[start..end]
    };
    let holding = |addr: u64| -> Option<u64> {
        let i = funcs.partition_point(|f| f.addr <= addr);
        i.checked_sub(1).map(|i| funcs[i].addr)
    };

    let mut out = TraceScan {
        functions: funcs.len(),
        ..TraceScan::default()
    };
    let ps = u64::from(mem.ptr_size);
    let mut recorded: BTreeSet<&str> = BTreeSet::new();
    let mut ftrace: BTreeSet<&str> = BTreeSet::new();
    match (sym("__start_mcount_loc"), sym("__stop_mcount_loc")) {
        (Some(start), Some(stop)) => {
            let count = stop.checked_sub(start).ok_or_else(|| {
                format!("__stop_mcount_loc ({stop:#x}) lies before __start_mcount_loc ({start:#x})")
            })? / ps;
            if count > MAX_RECORDS {
                return Err(format!("{count} mcount records: more than a kernel has"));
            }
            // arm64 with call ops records the first of two NOPs 8 bytes before the function.
            let before = arch == "arm64" && set("DYNAMIC_FTRACE_WITH_CALL_OPS");
            let max = max_offset(arch);
            out.records = count as usize;
            for i in 0..count {
                let slot = start + i * ps;
                let rec = mem
                    .ptr(slot)
                    .ok_or_else(|| format!("cannot read the mcount record at {slot:#x}"))?;
                if rec == 0 {
                    out.empty += 1;
                    continue;
                }
                let f = if before && !at(rec.wrapping_add(8)).is_empty() {
                    Some(rec.wrapping_add(8))
                } else {
                    holding(rec).filter(|&f| rec - f <= max)
                };
                let Some(f) = f else {
                    out.stray += 1;
                    continue;
                };
                let init = in_init(f);
                out.init += usize::from(init);
                for func in at(f) {
                    recorded.insert(func.name);
                    if !init {
                        ftrace.insert(func.name);
                    }
                }
            }
        }
        // Without function tracing there is no table, and nothing to patch.
        _ if config.is_some() && !set("FUNCTION_TRACER") => {}
        _ => {
            return Err(
                "no __start_mcount_loc and __stop_mcount_loc symbols (the kernel's config is \
                 needed to tell whether it traces functions at all)"
                    .into(),
            );
        }
    }

    let mut reasons: BTreeMap<&str, Reasons> = BTreeMap::new();
    if let (Some(start), Some(stop)) = (
        sym("__start_kprobe_blacklist"),
        sym("__stop_kprobe_blacklist"),
    ) {
        let count = stop.checked_sub(start).ok_or_else(|| {
            format!(
                "__stop_kprobe_blacklist ({stop:#x}) lies before __start_kprobe_blacklist \
                 ({start:#x})"
            )
        })? / ps;
        if count > MAX_RECORDS {
            return Err(format!("{count} kprobe blacklist entries: too many"));
        }
        out.blacklisted = count as usize;
        for i in 0..count {
            let slot = start + i * ps;
            let entry = mem
                .ptr(slot)
                .ok_or_else(|| format!("cannot read the kprobe blacklist entry at {slot:#x}"))?;
            let here = at(entry);
            if here.is_empty() {
                out.blacklist_unmatched += 1;
            }
            for f in here {
                reasons
                    .entry(f.name)
                    .or_default()
                    .add(TraceReason::Blacklist);
            }
        }
    }
    for (lo, hi, why) in areas(arch) {
        let (Some(a), Some(b)) = (sym(lo), sym(hi)) else {
            continue;
        };
        let start = funcs.partition_point(|f| f.addr < a);
        let end = funcs.partition_point(|f| f.addr < b);
        for f in &funcs[start..end.max(start)] {
            reasons.entry(f.name).or_default().add(why);
        }
        out.areas.push((lo, end.saturating_sub(start)));
    }
    for f in &funcs {
        if in_init(f.addr) {
            reasons.entry(f.name).or_default().add(TraceReason::Init);
        }
        if !recorded.contains(f.name) {
            reasons.entry(f.name).or_default().add(TraceReason::Notrace);
        }
    }
    out.traceability = Traceability {
        ftrace: ftrace.into_iter().map(str::to_string).collect(),
        exceptions: reasons
            .into_iter()
            .map(|(n, r)| (n.to_string(), r))
            .collect(),
        kprobe_on_notrace: set("KPROBE_EVENTS_ON_NOTRACE"),
    };
    Ok(out)
}
