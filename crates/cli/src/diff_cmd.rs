//! `depsurf diff`: two whole images of a dataset compared, kind by kind.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, ValueEnum};
use depsurf_surface::{Dataset, Kind};

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Md,
    Json,
    Csv,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The old image: an id (`5.10.0-46-amd64`) or a label one group gives it (`5.10`).
    pub old: String,
    /// The new image.
    pub new: String,
    /// Only these kinds (repeatable): struct, union, enum, func, tracepoint, lsm, kfunc,
    /// syscall, var, config.
    #[arg(long = "kind", value_parser = crate::report_cmd::parse_item_kind)]
    pub kinds: Vec<Kind>,
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[arg(long, short, value_enum, default_value_t = DiffFormat::Md)]
    pub format: DiffFormat,
}

/// The image an id or a label names; a label must name one image only.
pub fn resolve_image(ds: &Dataset, want: &str) -> Result<String> {
    if ds.image(want).is_some() {
        return Ok(want.to_string());
    }
    let mut found: Vec<&str> = Vec::new();
    for g in &ds.manifest.groups {
        for l in g.reference.iter().chain(&g.images) {
            if l.label == want && !found.contains(&l.image.as_str()) {
                found.push(&l.image);
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(one.to_string()),
        [] => {
            let ids: Vec<&str> = ds.images().iter().map(|m| m.id.as_str()).collect();
            bail!(
                "no image has the id or label {want:?}; images: {}",
                ids.join(", ")
            )
        }
        many => bail!(
            "the label {want:?} names several images: {}",
            many.join(", ")
        ),
    }
}

pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let old = resolve_image(&ds, &args.old)?;
    let new = resolve_image(&ds, &args.new)?;
    let d =
        depsurf_diff::images::diff_images(&ds, &old, &new, &args.kinds).map_err(|e| anyhow!(e))?;
    let text = match args.format {
        DiffFormat::Md => depsurf_report::diff::markdown(&d),
        DiffFormat::Csv => depsurf_report::diff::csv(&d),
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&depsurf_report::diff::json(&d))?;
            s.push('\n');
            s
        }
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
