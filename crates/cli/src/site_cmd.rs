//! `depsurf site`: the dataset as a static website.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Args;

use crate::dataset_cmd::DatasetArg;

#[derive(Args)]
pub struct SiteArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// The directory to write the site into (created; existing pages are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Leave the summary tables and plot out of the dataset page (they take most of the
    /// time for a large dataset).
    #[arg(long)]
    pub no_summary: bool,
    /// Only these kinds (repeatable): struct, union, enum, func, tracepoint, lsm, kfunc,
    /// syscall, var, config.
    #[arg(long = "kind", value_name = "KIND", value_parser = crate::report_cmd::parse_item_kind)]
    pub kinds: Vec<depsurf_surface::Kind>,
    /// eBPF programs (objects, binaries embedding them, packages) to check against the
    /// dataset, each with a report page. Repeatable.
    #[arg(long = "check", value_name = "FILE")]
    pub check: Vec<PathBuf>,
    /// Reports of `depsurf verify --format json` for those programs: their check pages then
    /// mark each verdict the booted kernels confirmed (✓) or contradicted (✗). Repeatable.
    #[arg(long = "verified", value_name = "REPORT.json", requires = "check")]
    pub verified: Vec<PathBuf>,
}

pub fn run(args: &SiteArgs, quiet: bool) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let t = std::time::Instant::now();
    let (html, svg) = if args.no_summary {
        (None, None)
    } else {
        let s = depsurf_report::summary::build(&ds).map_err(|e| anyhow!(e))?;
        let html = depsurf_site::markdown_tables_to_html(&depsurf_report::summary::markdown(&s));
        let svg =
            depsurf_report::summary::funcs_svg(&s).map_err(|e| anyhow!("drawing the plot: {e}"))?;
        (Some(html), Some(svg))
    };
    let mut booted = std::collections::BTreeMap::new();
    for f in &args.verified {
        booted.append(&mut crate::verify_cmd::read_booted(f, &ds)?);
    }
    let mut checks = Vec::new();
    for f in &args.check {
        for o in crate::check_cmd::objects(f)? {
            let check =
                depsurf_check::check(&ds, &o, &Default::default()).map_err(|e| anyhow!(e))?;
            let booted = booted.get(&check.object).cloned().unwrap_or_default();
            checks.push(depsurf_site::CheckedObject { check, booted });
        }
    }
    // A report may cover more objects than the site shows; one that covers none of them
    // was meant for other objects (or names them differently).
    if !args.verified.is_empty() && checks.iter().all(|c| c.booted.0.is_empty()) {
        let verified: Vec<_> = booted.keys().cloned().collect();
        bail!(
            "no --check object is in the --verified reports, which verified {}",
            if verified.is_empty() {
                "no object".to_string()
            } else {
                verified.join(", ")
            }
        );
    }
    // A new site is written into a temporary directory beside `--out` and renamed into
    // place when complete, so a failure leaves nothing half-written; an existing site is
    // updated in place (its pages replaced one by one).
    let fresh = if args.out.exists() {
        None
    } else {
        Some(
            depsurf_image::atomic::NewDir::beside(&args.out, "site-")
                .map_err(|(p, e)| anyhow!("{}: {e}", p.display()))?,
        )
    };
    let dir = fresh.as_ref().map_or(args.out.as_path(), |t| t.path());
    let w = depsurf_site::build(
        &ds,
        dir,
        &args.kinds,
        html.as_deref(),
        svg.as_deref(),
        &checks,
    )
    .map_err(|e| match e {
        depsurf_site::SiteError::Io(..) => anyhow!(e),
        e => anyhow!("{}: {e}", ds.store_location()),
    })?;
    if let Some(tmp) = fresh {
        tmp.finish()
            .map_err(|e| anyhow!("{}: {e}", args.out.display()))?;
    }
    if !quiet {
        eprintln!(
            "depsurf: wrote {} files, {:.1} MB, into {} in {:.1} s; open {}",
            w.pages,
            w.bytes as f64 / 1e6,
            args.out.display(),
            t.elapsed().as_secs_f64(),
            args.out.join("index.html").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
