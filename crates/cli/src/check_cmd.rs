//! `depsurf check`: eBPF objects against the kernels of a dataset.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use depsurf_bpf::BpfObject;
use depsurf_check::{Options, render};
use depsurf_diff::Consequence;

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A matrix per group of images, coloured when the output is a terminal.
    Term,
    Md,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when the program fails to load or attach on a checked image.
    Error,
    /// ... or reads the wrong data.
    Stray,
    /// ... or misses calls.
    Miss,
}

#[derive(Args)]
pub struct CheckArgs {
    /// eBPF objects (`*.bpf.o`), or binaries and libraries that embed them (libbpf
    /// skeletons).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// Check only these images: an image id (`6.1.0-47-arm64`) or a label a group gives it
    /// (`6.1`, `arm64`). Repeatable.
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// An attach target set at run time: `--map old=new` checks `new` where the object's
    /// section names `old`. Repeatable.
    #[arg(long = "map", value_name = "OLD=NEW")]
    pub map: Vec<String>,
    #[arg(long, short, value_enum, default_value_t = CheckFormat::Term)]
    pub format: CheckFormat,
    /// The least severe consequence that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

/// Every eBPF object in a file: the file itself, or those embedded in it.
fn objects(path: &PathBuf) -> Result<Vec<BpfObject>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let name = path.display().to_string();
    match BpfObject::parse(&name, &bytes) {
        Ok(o) => return Ok(vec![o]),
        Err(depsurf_bpf::BpfError::NotElf | depsurf_bpf::BpfError::NotBpf(_)) => {}
        Err(e) => bail!("{name}: {e}"),
    }
    let found = depsurf_bpf::embedded::find(&bytes);
    if found.is_empty() {
        bail!("{name}: not an eBPF object, and no eBPF object is embedded in it");
    }
    found
        .into_iter()
        .map(|(at, len)| {
            let mut o = BpfObject::parse(&format!("{name}@{at:#x}"), &bytes[at..at + len])
                .map_err(|e| anyhow!("{name}: the eBPF object at offset {at:#x}: {e}"))?;
            let progs: Vec<&str> = o.programs.iter().map(|p| p.name.as_str()).collect();
            o.name = format!("{name}@{at:#x} [{}]", progs.join(", "));
            Ok(o)
        })
        .collect()
}

pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let mut map = BTreeMap::new();
    for m in &args.map {
        let (a, b) = m
            .split_once('=')
            .ok_or_else(|| anyhow!("--map {m}: expected OLD=NEW"))?;
        map.insert(a.to_string(), b.to_string());
    }
    let mut images = Vec::new();
    for want in &args.images {
        let mut found: Vec<String> = ds
            .images()
            .iter()
            .filter(|m| &m.id == want)
            .map(|m| m.id.clone())
            .collect();
        for g in &ds.manifest.groups {
            for l in g.reference.iter().chain(&g.images) {
                if &l.label == want && !found.contains(&l.image) {
                    found.push(l.image.clone());
                }
            }
        }
        if found.is_empty() {
            let ids: Vec<&str> = ds.images().iter().map(|m| m.id.as_str()).collect();
            bail!(
                "--image {want}: no image has that id or label; images: {}",
                ids.join(", ")
            );
        }
        images.extend(found);
    }
    let opts = Options { images, map };
    let mut objs = Vec::new();
    for f in &args.files {
        objs.extend(objects(f)?);
    }
    let mut checks = Vec::new();
    for o in &objs {
        checks.push(depsurf_check::check(&ds, o, &opts).map_err(|e| anyhow!(e))?);
    }
    let text = match args.format {
        CheckFormat::Json => {
            let v = serde_json::json!({"schema": 1, "objects": checks});
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
        CheckFormat::Md => checks
            .iter()
            .map(|c| render::markdown(&ds, c))
            .collect::<Vec<_>>()
            .join("\n"),
        CheckFormat::Term => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            checks
                .iter()
                .map(|c| render::terminal(&ds, c, color, 100))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    emit(text.as_bytes())?;
    let worst = match args.fail_on {
        FailOn::Error => Consequence::Error,
        FailOn::Stray => Consequence::StrayRead,
        FailOn::Miss => Consequence::MissingInvocation,
    };
    let failed = checks.iter().any(|c| {
        c.rows.iter().any(|r| {
            r.cells
                .values()
                .any(|cell| cell.consequence.is_some_and(|k| k <= worst))
        })
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
