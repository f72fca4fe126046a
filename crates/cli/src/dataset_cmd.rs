//! `depsurf extract`, `import`, `export` and `dataset`: building and moving datasets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use depsurf_image::Bytes;
use depsurf_surface::dataset::{self, Update};
use depsurf_surface::extract::{ExtractOptions, TypeSource};
use depsurf_surface::{Dataset, ImageMeta, Surface, research};
use rayon::prelude::*;

use crate::InputArgs;
use crate::inspect::{emit, open_options};
use crate::progress;

/// Where a command reads its dataset from.
#[derive(Args, Clone)]
pub struct DatasetArg {
    /// Dataset directory [default: the dataset built into depsurf].
    #[arg(long, short = 'd', value_name = "DIR", env = "DEPSURF_DATASET")]
    pub dataset: Option<PathBuf>,
}

const BUNDLED_MANIFEST: &str = include_str!(env!("DEPSURF_BUNDLED_MANIFEST"));
static BUNDLED_STORE: &[u8] = include_bytes!(env!("DEPSURF_BUNDLED_STORE"));

impl DatasetArg {
    pub fn load(&self) -> Result<Dataset> {
        match &self.dataset {
            Some(dir) => {
                require_dataset(dir)?;
                Ok(Dataset::open(dir)?)
            }
            None if BUNDLED_MANIFEST.is_empty() => bail!(
                "this depsurf was built without its bundled dataset (datasets/bundled); \
                 give one with --dataset DIR"
            ),
            None => Ok(Dataset::from_parts(
                BUNDLED_MANIFEST,
                Bytes::from_static(BUNDLED_STORE),
                "bundled dataset",
            )?),
        }
    }
}

#[derive(Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The dataset directory to create or add to.
    #[arg(long, short = 'd', value_name = "DIR")]
    pub dataset: PathBuf,
    /// Make this image (an id such as 6.1.0-47-amd64) the default.
    #[arg(long, value_name = "ID")]
    pub default: Option<String>,
    /// A name for the dataset.
    #[arg(long)]
    pub name: Option<String>,
    /// Where types come from: BTF when the image has it, else DWARF (auto), or only one.
    #[arg(long, value_enum, default_value_t = TypesArg::Auto)]
    pub types: TypesArg,
    /// Keep the names of the functions that inline or call each function, or only their
    /// number (much smaller datasets).
    #[arg(long, value_enum, default_value_t = CallersArg::Names)]
    pub callers: CallersArg,
    /// Skip function status (inlining, duplicates, transformations) even with DWARF.
    #[arg(long)]
    pub no_status: bool,
    /// Compress the dataset as small as possible (slower; for datasets that are shipped).
    #[arg(long)]
    pub compact: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TypesArg {
    Auto,
    Btf,
    Dwarf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CallersArg {
    Names,
    Count,
}

pub fn extract(args: &ExtractArgs, quiet: bool) -> Result<ExitCode> {
    let images = depsurf_image::open(&args.input.inputs, &open_options(&args.input, quiet))?;
    let bar = progress::enabled(quiet).then(|| {
        let b = indicatif::ProgressBar::new(images.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "extracting {pos}/{len} images [{bar:30}] {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let done = AtomicUsize::new(0);
    let opts = ExtractOptions {
        types: match args.types {
            TypesArg::Auto => TypeSource::Auto,
            TypesArg::Btf => TypeSource::Btf,
            TypesArg::Dwarf => TypeSource::Dwarf,
        },
        status: !args.no_status,
        keep_callers: args.callers == CallersArg::Names,
    };
    let results: Vec<Result<(ImageMeta, Surface)>> = images
        .par_iter()
        .map(|img| {
            let r =
                depsurf_surface::extract::extract_with(img, &opts).map_err(|e| anyhow::anyhow!(e));
            done.fetch_add(1, Ordering::Relaxed);
            if let Some(b) = &bar {
                b.set_position(done.load(Ordering::Relaxed) as u64);
                b.set_message(img.name());
            }
            r
        })
        .collect();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut update = Vec::new();
    let mut report = String::new();
    for r in results {
        let (meta, s) = r?;
        if meta.missing.contains(&depsurf_surface::Kind::Struct) {
            // Not informational: the image goes into the dataset without types.
            eprintln!(
                "depsurf: warning: {}",
                meta.pending.as_deref().unwrap_or("no types")
            );
        }
        let _ = writeln!(
            report,
            "{}: {}{}",
            meta.id,
            image_counts(&meta, &s),
            meta.pending
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        update.push((meta, s));
    }
    let manifest = dataset::write(
        &args.dataset,
        Update {
            images: update,
            default: args.default.clone(),
            name: args.name.clone(),
            groups: None,
            compact: args.compact,
        },
    )?;
    if !quiet {
        eprint!("{report}");
        eprintln!(
            "depsurf: {} now holds {} images (default {})",
            args.dataset.display(),
            manifest.images.len(),
            manifest.default
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The research system's layout (SPEC §8).
    Research,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[arg(long, value_enum, default_value_t = ExportFormat::Research)]
    pub format: ExportFormat,
    /// Directory to create.
    pub out: PathBuf,
}

fn all_surfaces(ds: &Dataset) -> Result<Vec<(ImageMeta, Surface)>> {
    let mut out = Vec::new();
    for meta in ds.images() {
        if let Some(s) = ds.surface(&meta.id)? {
            out.push((meta.clone(), s));
        }
    }
    Ok(out)
}

pub fn export(args: &ExportArgs, quiet: bool) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let images = all_surfaces(&ds)?;
    research::export(&images, Some(&ds.manifest), &args.out)?;
    if !quiet {
        eprintln!(
            "depsurf: exported {} images to {}",
            images.len(),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ImportArgs {
    /// A dataset in the research layout (types_struct/, types_func/, config/, ...).
    pub dir: PathBuf,
    /// The dataset directory to create or add to.
    #[arg(long, short = 'd', value_name = "DIR")]
    pub dataset: PathBuf,
    #[arg(long, value_name = "ID")]
    pub default: Option<String>,
}

pub fn import(args: &ImportArgs, quiet: bool) -> Result<ExitCode> {
    let images = research::import(&args.dir)?;
    let n = images.len();
    if let Some(d) = &args.default
        && !images.iter().any(|(m, _)| &m.id == d)
    {
        let ids: Vec<&str> = images.iter().map(|(m, _)| m.id.as_str()).collect();
        bail!(
            "--default {d}: {} has no such image; its images: {}",
            args.dir.display(),
            ids.join(", ")
        );
    }
    let exported = match std::fs::read_to_string(args.dir.join("depsurf-manifest.toml")) {
        Ok(t) => Some(depsurf_surface::manifest::Manifest::parse(&t).map_err(|e| {
            anyhow::anyhow!("{}: {e}", args.dir.join("depsurf-manifest.toml").display())
        })?),
        Err(_) => None,
    };
    let (default, name, groups) = match exported {
        Some(m) => (
            Some(m.default),
            Some(m.name),
            (!m.infer_groups).then_some(m.groups),
        ),
        // The research system's own dataset: its groups as it defines them, when every
        // image's name gave its identity.
        None => {
            let metas: Vec<ImageMeta> = images.iter().map(|(m, _)| m.clone()).collect();
            match research::research_groups(&metas, args.default.as_deref()) {
                Some((default, groups)) => (Some(default), None, Some(groups)),
                None => (None, None, None),
            }
        }
    };
    dataset::write(
        &args.dataset,
        Update {
            images,
            default: args.default.clone().or(default),
            name,
            groups,
            compact: false,
        },
    )?;
    if !quiet {
        eprintln!(
            "depsurf: imported {n} images into {}",
            args.dataset.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `depsurf dataset`: the images, groups and provenance of a dataset.
pub fn show(args: &ShowArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    if args.json {
        let mut s = serde_json::to_string_pretty(&ds.manifest)?;
        s.push('\n');
        emit(s.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let m = &ds.manifest;
    let mut o = String::new();
    let where_ = ds
        .dir
        .as_deref()
        .map(Path::display)
        .map(|d| d.to_string())
        .unwrap_or_else(|| "built into depsurf".into());
    let _ = writeln!(
        o,
        "dataset {} ({where_}), default image {}",
        m.name, m.default
    );
    o.push_str("images\n");
    for i in &m.images {
        let s = ds.surface(&i.id)?.unwrap_or_default();
        let mut state = image_counts(i, &s);
        if let Some(p) = &i.pending {
            state.push_str(&format!("; {p}"));
        }
        let _ = writeln!(
            o,
            "  {:<26} {:<8} {:<14} {state}",
            i.id,
            i.arch.as_deref().unwrap_or("?"),
            i.package_version.as_deref().unwrap_or("?")
        );
        for p in &i.packages {
            let _ = writeln!(o, "      from {p}");
        }
    }
    o.push_str("groups\n");
    for g in &m.groups {
        let labels: Vec<String> = g.images.iter().map(|l| l.label.clone()).collect();
        let reference = g
            .reference
            .as_ref()
            .map(|r| format!(" (each compared with {})", r.label))
            .unwrap_or_default();
        let hidden = if g.report { "" } else { "; not in reports" };
        let _ = writeln!(o, "  {:<9} {}{reference}{hidden}", g.name, labels.join(" "));
    }
    emit(o.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// An image's items of each kind, `unknown` for kinds its inputs could not give (not 0), and
/// how many functions have status and traceability.
fn image_counts(meta: &ImageMeta, s: &Surface) -> String {
    use depsurf_surface::{Facet, Kind};
    let c = s.counts();
    let n = |k: Kind, what: &str| {
        if meta.missing.contains(&k) {
            format!("{what} unknown")
        } else {
            format!("{} {what}", c[&k])
        }
    };
    let status = if meta.unknown.contains(&Facet::FuncStatus) || s.func_status.is_empty() {
        "status unknown".to_string()
    } else {
        format!("{} with status", s.func_status.len())
    };
    let trace = match &s.traceability {
        Some(t) if !meta.unknown.contains(&Facet::Traceability) => {
            format!("{} patchable by ftrace", t.ftrace.len())
        }
        _ => "traceability unknown".to_string(),
    };
    [
        n(Kind::Struct, "structs"),
        n(Kind::Union, "unions"),
        n(Kind::Enum, "enums"),
        format!("{} ({status}, {trace})", n(Kind::Func, "functions")),
        n(Kind::Tracepoint, "tracepoints"),
        n(Kind::Lsm, "LSM hooks"),
        n(Kind::Kfunc, "kfuncs"),
        n(Kind::Syscall, "syscalls"),
        n(Kind::Var, "vars"),
        n(Kind::Config, "config options"),
    ]
    .join(", ")
}

/// Fails with a clear message when a directory is not a dataset.
pub fn require_dataset(dir: &Path) -> Result<()> {
    if !dir.join(dataset::MANIFEST_FILE).exists() {
        bail!(
            "{}: not a depsurf dataset (no {}); create one with `depsurf extract`",
            dir.display(),
            dataset::MANIFEST_FILE
        );
    }
    Ok(())
}
