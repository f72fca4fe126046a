//! `depsurf funcs`: function status of one image straight from its DWARF and symbols:
//! the counts of each class, or the status of named functions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use depsurf_surface::model::{Collision, FuncStatus, InlineType};
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

pub fn run(args: &FuncsArgs, quiet: bool) -> Result<ExitCode> {
    let img = depsurf_image::open_one(&args.input.inputs, &open_options(&args.input, quiet))?;
    let Some((_, elf)) = img
        .best_elf()
        .filter(|(_, e)| e.section(".debug_info").is_some())
    else {
        bail!(
            "{}: no DWARF; function status needs the debug image (a -dbg/-dbgsym package)",
            img.name()
        );
    };
    let a = depsurf_dwarf::analyze(
        elf,
        &depsurf_dwarf::Options {
            status: true,
            types: false,
            keep_callers: true,
        },
    )?;
    let text = if args.names.is_empty() {
        let s = summarise(&a.func_status);
        if args.json {
            serde_json::to_string_pretty(&s)? + "\n"
        } else {
            let mut o = format!("{}: function status\n", img.name());
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
            o
        }
    } else {
        let mut found = BTreeMap::new();
        for n in &args.names {
            match a.func_status.get(n) {
                Some(f) => {
                    found.insert(n.clone(), f.clone());
                }
                None => bail!("{}: no function named {n:?} in the DWARF", img.name()),
            }
        }
        if args.json {
            serde_json::to_string_pretty(&found)? + "\n"
        } else {
            let mut o = String::new();
            for (n, f) in &found {
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
            o
        }
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
