//! `depsurf tracepoints` and `depsurf syscalls`: the kinds read from an image's data, straight
//! from its inputs, with the inputs that were needed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use depsurf_surface::Kind;
use depsurf_surface::extract::{ExtractOptions, TypeSource, extract_with};
use serde::Serialize;

use crate::InputArgs;
use crate::inspect::{emit, open_options};

#[derive(Args)]
pub struct DataArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct TracepointRow<'a> {
    event: &'a str,
    system: &'a str,
    class: &'a str,
    struct_name: String,
    func_name: String,
    has_struct: bool,
    has_func: bool,
    fmt: &'a str,
}

#[derive(Serialize)]
struct Output<T: Serialize> {
    image: String,
    /// How each part was found: which inputs were read.
    sources: Vec<String>,
    #[serde(flatten)]
    items: T,
}

/// Extracts what the kind needs: types (BTF when the image has it, which is faster than
/// DWARF) and the data kinds; no function status.
fn extract(
    args: &DataArgs,
    quiet: bool,
    kind: Kind,
) -> Result<(String, Vec<String>, depsurf_surface::Surface)> {
    let img = depsurf_image::open_one(&args.input.inputs, &open_options(&args.input, quiet))?;
    let opts = ExtractOptions {
        types: if img.btf.is_some() {
            TypeSource::Btf
        } else {
            TypeSource::Auto
        },
        status: false,
        keep_callers: false,
    };
    let (meta, s) = extract_with(&img, &opts)?;
    if meta.missing.contains(&kind) {
        // System calls need no types: when the kernel's data is what is missing, say only
        // that (the reasons recorded for the image cover every kind).
        let memory = match kind {
            Kind::Syscall => depsurf_image::KernelMemory::of(&img)
                .err()
                .map(|p| format!("they are read from the kernel's data: {p}")),
            _ => None,
        };
        bail!(
            "{}: no {}s: {}",
            img.name(),
            kind.as_str(),
            memory
                .as_deref()
                .or(meta.pending.as_deref())
                .unwrap_or("its inputs cannot provide them")
        );
    }
    let word = format!("{}s:", kind.as_str());
    let sources = meta
        .sources
        .into_iter()
        .filter(|l| l.starts_with(&word) || l.starts_with("types:"))
        .collect();
    Ok((img.name(), sources, s))
}

pub fn tracepoints(args: &DataArgs, quiet: bool) -> Result<ExitCode> {
    let (image, sources, s) = extract(args, quiet, Kind::Tracepoint)?;
    let rows: Vec<TracepointRow> = s
        .tracepoints
        .iter()
        .map(|(event, tp)| TracepointRow {
            event,
            system: &tp.system,
            class: &tp.class,
            has_struct: s.structs.contains_key(&tp.struct_name()),
            has_func: s.funcs.contains_key(&tp.func_name()),
            struct_name: tp.struct_name(),
            func_name: tp.func_name(),
            fmt: &tp.fmt,
        })
        .collect();
    let text = if args.json {
        #[derive(Serialize)]
        struct Items<'a> {
            tracepoints: Vec<TracepointRow<'a>>,
        }
        serde_json::to_string_pretty(&Output {
            image,
            sources,
            items: Items { tracepoints: rows },
        })? + "\n"
    } else {
        let mut o = format!("{image}: {} tracepoints\n", rows.len());
        for l in &sources {
            let _ = writeln!(o, "  {l}");
        }
        let w = rows
            .iter()
            .map(|r| r.system.len() + 1 + r.event.len())
            .max()
            .unwrap_or(0);
        for r in &rows {
            let _ = writeln!(
                o,
                "{:<w$}  class {}{}{}",
                format!("{}/{}", r.system, r.event),
                r.class,
                if r.has_struct { "" } else { " (no struct)" },
                if r.has_func { "" } else { " (no function)" },
            );
        }
        o
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn syscalls(args: &DataArgs, quiet: bool) -> Result<ExitCode> {
    let (image, sources, s) = extract(args, quiet, Kind::Syscall)?;
    let mut tables: BTreeMap<String, &BTreeMap<u32, String>> = BTreeMap::new();
    tables.insert("native".into(), &s.syscalls);
    for (abi, t) in &s.compat_syscalls {
        tables.insert(abi.clone(), t);
    }
    let text = if args.json {
        #[derive(Serialize)]
        struct Items<'a> {
            tables: BTreeMap<String, &'a BTreeMap<u32, String>>,
        }
        serde_json::to_string_pretty(&Output {
            image,
            sources,
            items: Items { tables },
        })? + "\n"
    } else {
        let mut o = format!("{image}: {} system calls\n", s.syscalls.len());
        for l in &sources {
            let _ = writeln!(o, "  {l}");
        }
        for (abi, t) in tables {
            let _ = writeln!(o, "{abi} ({} calls)", t.len());
            for (nr, name) in t {
                let _ = writeln!(o, "  {nr:>4}  {name}");
            }
        }
        o
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
