//! `depsurf funcs`: function status (from DWARF and symbols) and traceability (from the
//! mcount table, the kprobe blacklist and symbols) of one image: the counts of each class, the
//! status of named functions, or every function symbol's traceability.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use depsurf_surface::extract::trace;
use depsurf_surface::model::{Collision, FuncStatus, InlineType};
use depsurf_surface::{FuncTrace, TraceReason};
use serde::Serialize;

use crate::InputArgs;
use crate::inspect::{emit, open_options};
use crate::output::count;

#[derive(Args)]
pub struct FuncsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Functions to show (all their entries, callers and symbols); without names, the
    /// counts of each class.
    #[arg(long = "name", short = 'n', value_name = "NAME")]
    pub names: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// List every function symbol with its traceability: name, `ftrace` when ftrace can
    /// patch it (else `-`), and the reasons against it.
    #[arg(long, conflicts_with = "names")]
    pub list: bool,
}

/// The classification counts of SPEC §3 for one image.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Function names (groups).
    pub groups: usize,
    pub entries: usize,
    pub symbols: usize,
    pub inline: BTreeMap<&'static str, usize>,
    pub collision: BTreeMap<&'static str, usize>,
    pub transformation: usize,
}

pub fn summarise(status: &BTreeMap<String, FuncStatus>) -> Summary {
    let mut s = Summary {
        groups: status.len(),
        ..Summary::default()
    };
    for t in [InlineType::Full, InlineType::Selective, InlineType::No] {
        s.inline.insert(t.as_str(), 0);
    }
    for c in [
        Collision::UniqueGlobal,
        Collision::UniqueStatic,
        Collision::StaticDuplication,
        Collision::StaticStaticCollision,
        Collision::StaticGlobalCollision,
    ] {
        s.collision.insert(c.as_str(), 0);
    }
    for f in status.values() {
        s.entries += f.entries.len();
        s.symbols += f.symbols.len();
        *s.inline.entry(f.inline.as_str()).or_default() += 1;
        *s.collision.entry(f.collision.as_str()).or_default() += 1;
        s.transformation += usize::from(f.transformed());
    }
    s
}

/// An image's traceability, or why it is unknown.
fn traceability(img: &depsurf_image::KernelImage) -> Result<trace::TraceScan, String> {
    let mem = depsurf_image::KernelMemory::of(img).map_err(|p| p.to_string())?;
    trace::scan(
        &mem,
        img.identity.arch.as_deref().unwrap_or(""),
        img.config.as_ref().map(|c| &c.value.set),
    )
}

/// How many function symbols have each reason against them.
#[derive(Debug, Default, Serialize)]
pub struct TraceSummary {
    pub functions: usize,
    pub ftrace: usize,
    pub reasons: BTreeMap<&'static str, usize>,
    pub kprobe_on_notrace: bool,
}

fn trace_summary(t: &trace::TraceScan) -> TraceSummary {
    let tr = &t.traceability;
    let mut reasons: BTreeMap<&'static str, usize> =
        TraceReason::ALL.iter().map(|r| (r.as_str(), 0)).collect();
    for r in tr.exceptions.values() {
        for x in r.list() {
            *reasons.entry(x.as_str()).or_default() += 1;
        }
    }
    TraceSummary {
        functions: t.functions,
        ftrace: tr.ftrace.len(),
        reasons,
        kprobe_on_notrace: tr.kprobe_on_notrace,
    }
}

/// One named function: its status and traceability, each when known.
#[derive(Serialize)]
struct Named {
    #[serde(flatten)]
    status: Option<FuncStatus>,
    /// `null` when the image's inputs cannot tell.
    traceability: Option<FuncTrace>,
}

pub fn run(args: &FuncsArgs, quiet: bool) -> Result<ExitCode> {
    let img = depsurf_image::open_one(&args.input.inputs, &open_options(&args.input, quiet))?;
    let no_dwarf = "no DWARF; function status needs the debug image (a -dbg/-dbgsym package)";
    let status = match img
        .best_elf()
        .filter(|(_, e)| e.section(".debug_info").is_some())
    {
        Some((_, elf)) => Some(depsurf_dwarf::analyze(
            elf,
            &depsurf_dwarf::Options {
                status: true,
                types: false,
                keep_callers: true,
            },
        )?),
        None => None,
    };
    let trace = traceability(&img);
    if let (None, Err(e)) = (&status, &trace) {
        bail!(
            "{}: {no_dwarf}; and its traceability is unknown: {e}",
            img.name()
        );
    }
    let tr = trace.as_ref().ok().map(|t| &t.traceability);
    if args.list {
        let Some(tr) = tr else {
            bail!(
                "{}: traceability unknown: {}",
                img.name(),
                trace.err().unwrap_or_default()
            );
        };
        let text = if args.json {
            serde_json::to_string_pretty(tr)? + "\n"
        } else {
            let mut names: BTreeMap<&str, (bool, Vec<&str>)> = BTreeMap::new();
            for n in &tr.ftrace {
                names.entry(n).or_default().0 = true;
            }
            for (n, r) in &tr.exceptions {
                names.entry(n).or_default().1 = r.list().iter().map(|x| x.as_str()).collect();
            }
            let mut o = String::with_capacity(names.len() * 32);
            for (n, (ftrace, reasons)) in names {
                let _ = writeln!(
                    o,
                    "{n}\t{}\t{}",
                    if ftrace { "ftrace" } else { "-" },
                    reasons.join(",")
                );
            }
            o
        };
        emit(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = if args.names.is_empty() {
        let sum = status.as_ref().map(|a| summarise(&a.func_status));
        let tsum = trace.as_ref().ok().map(trace_summary);
        if args.json {
            // The status counts at the top level, as before; traceability beside them.
            let mut v = match &sum {
                Some(s) => serde_json::to_value(s)?,
                None => serde_json::json!({"status": null}),
            };
            v["traceability"] = serde_json::to_value(&tsum)?;
            serde_json::to_string_pretty(&v)? + "\n"
        } else {
            let mut o = format!("{}: function status\n", img.name());
            match (&sum, &status) {
                (Some(s), Some(a)) => {
                    let _ = writeln!(
                        o,
                        "  {} names, {} entries, {} function symbols ({} units)",
                        count(s.groups as u64),
                        count(s.entries as u64),
                        count(s.symbols as u64),
                        count(a.stats.units as u64)
                    );
                    for (k, v) in &s.inline {
                        let _ = writeln!(o, "  inline {k:<26}{:>8}", count(*v as u64));
                    }
                    for (k, v) in &s.collision {
                        let _ = writeln!(o, "  {k:<33}{:>8}", count(*v as u64));
                    }
                    let _ = writeln!(
                        o,
                        "  {:<33}{:>8}",
                        "Transformation",
                        count(s.transformation as u64)
                    );
                }
                _ => {
                    let _ = writeln!(o, "  unknown: {no_dwarf}");
                }
            }
            let _ = writeln!(o, "{}: traceability", img.name());
            match (&tsum, &trace) {
                (Some(t), _) => {
                    let _ = writeln!(
                        o,
                        "  {} function symbols, {} patchable by ftrace",
                        count(t.functions as u64),
                        count(t.ftrace as u64)
                    );
                    for (k, v) in &t.reasons {
                        let _ = writeln!(o, "  {k:<33}{:>8}", count(*v as u64));
                    }
                    let _ = writeln!(
                        o,
                        "  kprobe events on notrace functions: {}",
                        if t.kprobe_on_notrace {
                            "allowed (CONFIG_KPROBE_EVENTS_ON_NOTRACE)"
                        } else {
                            "refused"
                        }
                    );
                }
                (None, Err(e)) => {
                    let _ = writeln!(o, "  unknown: {e}");
                }
                (None, Ok(_)) => {}
            }
            o
        }
    } else {
        let mut found = BTreeMap::new();
        for n in &args.names {
            let st = status.as_ref().and_then(|a| a.func_status.get(n)).cloned();
            let t = tr.map(|t| t.query(n));
            let has_symbol = t.as_ref().is_some_and(|t| t.symbol);
            if st.is_none() && !has_symbol {
                let why = match (&status, tr) {
                    (Some(_), Some(_)) => "in the DWARF or the function symbols",
                    (Some(_), None) => "in the DWARF",
                    _ => "among the function symbols",
                };
                bail!("{}: no function named {n:?} {why}", img.name());
            }
            found.insert(
                n.clone(),
                Named {
                    status: st,
                    traceability: t,
                },
            );
        }
        if args.json {
            serde_json::to_string_pretty(&found)? + "\n"
        } else {
            let mut o = String::new();
            for (n, named) in &found {
                match &named.status {
                    Some(f) => status_text(&mut o, n, f),
                    None => {
                        let _ = writeln!(o, "{n}: function status unknown ({no_dwarf})");
                    }
                }
                let _ = match (&named.traceability, &trace) {
                    (Some(t), _) => {
                        let via = t
                            .base
                            .as_deref()
                            .map(|b| format!("; kprobes judge it by {b} too"))
                            .unwrap_or_default();
                        let reasons: Vec<&str> = t.reasons.iter().map(|r| r.as_str()).collect();
                        let reasons = if reasons.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", reasons.join(", "))
                        };
                        writeln!(o, "  traceability: {}{reasons}{via}", t.summary())
                    }
                    (None, Err(e)) => writeln!(o, "  traceability: unknown ({e})"),
                    (None, Ok(_)) => Ok(()),
                };
            }
            o
        }
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The status of one function, as text.
fn status_text(o: &mut String, n: &str, f: &FuncStatus) {
    let _ = writeln!(
        o,
        "{n}: {}, inline {}, {}",
        f.collision.as_str(),
        f.inline.as_str(),
        if f.transformed() {
            "transformed"
        } else {
            "not transformed"
        }
    );
    for e in &f.entries {
        let _ = writeln!(
            o,
            "  {} {} in {} at {:#x} ({}); inlined into {} {:?}; called from {} {:?}",
            if e.external { "global" } else { "static" },
            e.loc,
            e.file,
            e.addr,
            e.inline.as_str(),
            e.caller_inline.count,
            e.caller_inline.names.iter().take(5).collect::<Vec<_>>(),
            e.caller_func.count,
            e.caller_func.names.iter().take(5).collect::<Vec<_>>()
        );
    }
    for y in &f.symbols {
        let _ = writeln!(
            o,
            "  symbol {} at {:#x}, {} bytes, {} {}",
            y.name, y.addr, y.size, y.section, y.bind
        );
    }
}
