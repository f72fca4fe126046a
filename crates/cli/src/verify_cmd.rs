//! `depsurf verify`: boots the kernels of a dataset under QEMU, loads eBPF objects in them
//! with libbpf (crates/verify), and compares what happened with what `depsurf check`
//! predicts, program by program and image by image.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use clap::{Args, ValueEnum};
use depsurf_bpf::BpfObject;
use depsurf_check::ObjectCheck;
use depsurf_surface::{Dataset, HelperSet, HelperTable, ImageMeta};
use depsurf_verify::protocol::{self as proto, Attach, Load, ProgramRecord, Reason};
use depsurf_verify::{
    CachePolicy, Config, ObjectInput, Options, Outcome as BootOutcome, Verification, Verifier,
};
use serde::{Deserialize, Serialize};

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;
use crate::progress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// A table per object (programs × images), disagreements highlighted on a terminal.
    Term,
    /// The documented JSON report (docs/verify.md).
    Json,
    /// Markdown tables.
    Md,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// eBPF objects (`*.bpf.o`), binaries that embed them, or packages, as `depsurf check`
    /// takes them. Optional with --record-helpers.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// Boot only these images: an image id or a label a group gives it (`6.1`).
    /// Repeatable. Default: every image of the dataset this machine can boot.
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Verify only these programs (name or glob; repeatable): those your loader loads.
    #[arg(long = "program", value_name = "NAME")]
    pub programs: Vec<String>,
    #[arg(long, short, value_enum, default_value_t = VerifyFormat::Term)]
    pub format: VerifyFormat,
    /// Kernels booted at the same time (each uses one host CPU) [default: the number of
    /// CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Wall-clock limit of one boot, in seconds [default: 180 + 60 per object, + 1200 with
    /// --record-helpers].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Boot even when a result for the same kernel, objects and options is cached (the
    /// new result replaces it).
    #[arg(long)]
    pub no_cache: bool,
    /// Probe which helpers each program type may call on each kernel booted, and record
    /// the tables in the dataset's manifest (needs --dataset DIR).
    #[arg(long)]
    pub record_helpers: bool,
    /// Where kernel packages are looked for first and downloaded to [default:
    /// $XDG_CACHE_HOME/depsurf/packages; $XDG_CACHE_HOME/depsurf/build/packages is
    /// searched too].
    #[arg(long, value_name = "DIR", env = "DEPSURF_CACHE")]
    pub cache: Option<PathBuf>,
    /// An argument for the booted kernel's command line (`lsm=...,bpf`). Repeatable.
    #[arg(long = "kernel-arg", value_name = "ARG")]
    pub kernel_args: Vec<String>,
    /// A module of each kernel's package to load before the programs (with the modules it
    /// needs, from each module's .modinfo), by name (`tcp_bbr`). Repeatable.
    #[arg(long = "module", value_name = "NAME")]
    pub modules: Vec<String>,
}

/// The JSON report's version (docs/verify.md).
pub const SCHEMA: u32 = 1;

/// Everything a run found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub tool: String,
    pub dataset: String,
    /// Every image selected, in the dataset's order, with how its boot went.
    pub images: Vec<ImageRun>,
    pub objects: Vec<ObjectReport>,
    pub summary: Counts,
    /// Every prediction compared held and every bootable image was verified (and, with
    /// --record-helpers, its helper table recorded).
    pub held: bool,
}

/// How one image's verification went.
#[derive(Clone, Debug, Serialize)]
pub struct ImageRun {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    pub status: ImageStatus,
    /// Why it was skipped or not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The kernel package booted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The release the booted kernel reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// `kvm` or `tcg`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accel: Option<String>,
    /// QEMU's start to the guest's first record, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_s: Option<f64>,
    /// The whole boot, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_s: Option<f64>,
    /// The result came from the cache: nothing was booted.
    pub from_cache: bool,
    /// The console's last lines, when the boot did not complete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub console_tail: Vec<String>,
    /// With --record-helpers: the helper table was recorded (else `detail` says why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helpers_recorded: Option<bool>,
    /// With --module: each module the guest loaded (`NAME`) or could not (`NAME: why`),
    /// dependencies included, in load order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Booted (or cached) and every object tried.
    Verified,
    /// This machine cannot boot it (another architecture).
    Skipped,
    /// Its kernel package is not in the manifest, not cached and could not be downloaded.
    NoPackage,
    /// The package or QEMU could not be used.
    Failed,
    /// The boot hit its wall-clock limit.
    TimedOut,
    /// The kernel panicked.
    KernelPanic,
    /// QEMU stopped before the guest finished.
    Stopped,
}

impl ImageStatus {
    fn words(self) -> &'static str {
        match self {
            ImageStatus::Verified => "verified",
            ImageStatus::Skipped => "skipped",
            ImageStatus::NoPackage => "no kernel package",
            ImageStatus::Failed => "not booted",
            ImageStatus::TimedOut => "timed out",
            ImageStatus::KernelPanic => "kernel panic",
            ImageStatus::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ObjectReport {
    pub object: String,
    pub programs: Vec<ProgramReport>,
    /// The object as its loader loads it (every program that loads by default, or those
    /// chosen with --program), per image.
    pub verdicts: Vec<ObjectCell>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProgramReport {
    pub name: String,
    pub section: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prog_type: Option<String>,
    /// Per verified (or attempted) image.
    pub images: Vec<ProgramCell>,
}

/// One program on one image: what `check` predicted and what the kernel did.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProgramCell {
    pub image: String,
    /// `check`'s verdict: `loads`, `loads with stray reads`, `loads, misses calls`, `loads
    /// with stray reads and missed calls`, `fails`.
    pub prediction: String,
    /// `check`'s reasons for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicted_because: Vec<String>,
    pub outcome: Outcome,
    /// The load step: `ok`, `error`, `died`, `not loaded: ...`.
    pub load: String,
    /// The attach step: `ok`, `error`, `died`, `not attached: ...`.
    pub attach: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    /// How often the program ran during the guest's workload (attached programs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// What fails the object as a whole under a normal libbpf load on this kernel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_wide: Vec<String>,
    pub agreement: Agreement,
    /// What the loader said: the libbpf or verifier line that matters first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The object on one image.
#[derive(Debug, Serialize, Deserialize)]
pub struct ObjectCell {
    pub image: String,
    /// `check`'s object verdict (also `loads with alternatives`).
    pub prediction: String,
    /// For `loads with alternatives`: the programs `check` says to turn off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turn_off: Vec<String>,
    /// `loads`, `loads with alternatives`, `fails`, `no result`.
    pub outcome: String,
    /// The programs that failed, and what fails the whole object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    pub agreement: Agreement,
}

/// What happened to a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Loaded and attached, or loaded and not attached by design (it needs a target the
    /// tool chooses, or runs on demand).
    #[serde(rename = "loads")]
    Loads,
    /// The load or the attach failed (or the loader died), or the object as a whole would
    /// fail under a normal libbpf load.
    #[serde(rename = "fails")]
    Fails,
    /// Tells nothing: the attach target is set at run time.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// No result: the boot ended first, or the image was not verified.
    #[serde(rename = "no result")]
    NoResult,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Agreement {
    #[serde(rename = "agrees")]
    Agrees,
    #[serde(rename = "disagrees")]
    Disagrees,
    #[serde(rename = "n/a")]
    NotApplicable,
    #[serde(rename = "no result")]
    NoResult,
}

impl Agreement {
    /// Whether the prediction held: `None` when there was nothing to compare.
    fn held(self) -> Option<bool> {
        match self {
            Agreement::Agrees => Some(true),
            Agreement::Disagrees => Some(false),
            Agreement::NotApplicable | Agreement::NoResult => None,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub images_verified: usize,
    pub images_not_verified: usize,
    pub images_skipped: usize,
    /// Program × image cells compared.
    pub compared: usize,
    pub agree: usize,
    pub disagree: usize,
    pub not_applicable: usize,
    pub no_result: usize,
    /// Object × image verdicts compared, and how many disagree.
    pub objects_compared: usize,
    pub objects_disagree: usize,
}

/// The architecture names (as manifests spell them) whose kernels this machine boots, and
/// why others are left out.
fn bootable(arch: Option<&str>) -> Result<(), String> {
    let host = std::env::consts::ARCH;
    match (host, arch) {
        ("x86_64", Some("amd64")) => Ok(()),
        ("x86_64", Some("i386")) => Err(
            "a 32-bit x86 kernel: the guest (/init) is an x86-64 program such a kernel cannot run"
                .into(),
        ),
        (_, Some(a)) => Err(format!(
            "an {a} kernel: depsurf verify boots only x86-64 kernels on an x86-64 machine \
             (docs/verify.md says what other arches need)"
        )),
        (_, None) => Err("the manifest does not say the image's architecture".into()),
    }
}

/// The image ids named by `--image` (ids or group labels), in the dataset's order.
fn image_ids(ds: &Dataset, wants: &[String]) -> Result<Vec<String>> {
    if wants.is_empty() {
        return Ok(ds.images().iter().map(|m| m.id.clone()).collect());
    }
    let mut chosen = BTreeSet::new();
    for want in wants {
        let mut found = false;
        if ds.image(want).is_some() {
            chosen.insert(want.clone());
            found = true;
        }
        for g in &ds.manifest.groups {
            for l in g.reference.iter().chain(&g.images) {
                if &l.label == want {
                    chosen.insert(l.image.clone());
                    found = true;
                }
            }
        }
        if !found {
            let ids: Vec<&str> = ds.images().iter().map(|m| m.id.as_str()).collect();
            bail!(
                "--image {want}: no image has that id or label; images: {}",
                ids.join(", ")
            );
        }
    }
    Ok(ds
        .images()
        .iter()
        .filter(|m| chosen.contains(&m.id))
        .map(|m| m.id.clone())
        .collect())
}

/// The kernel image package the manifest records for an image: (name, version, arch).
fn image_package(meta: &ImageMeta) -> Option<(String, String, String)> {
    let release = meta.release.clone().unwrap_or_else(|| meta.id.clone());
    let names = [
        format!("linux-image-{release}-unsigned"),
        format!("linux-image-unsigned-{release}"),
        format!("linux-image-{release}"),
        format!("linux-binary-{release}"),
    ];
    let parsed: Vec<(String, String, String)> = meta
        .packages
        .iter()
        .filter_map(|p| {
            let mut it = p.split_whitespace();
            Some((
                it.next()?.to_string(),
                it.next()?.to_string(),
                it.next()?.to_string(),
            ))
        })
        .collect();
    names
        .iter()
        .find_map(|n| parsed.iter().find(|(name, _, _)| name == n).cloned())
}

/// Where kernel packages are looked for, in order; the first is where downloads go.
fn package_dirs(cache: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = vec![
        cache
            .map(Path::to_path_buf)
            .unwrap_or_else(crate::fetch::default_cache),
    ];
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(b) = base {
        dirs.push(b.join("depsurf/packages"));
        dirs.push(b.join("depsurf/build/packages"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".cache/depsurf/build/packages"));
    }
    let mut seen = BTreeSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The image's kernel package: found in a cache, else downloaded.
fn find_package(meta: &ImageMeta, dirs: &[PathBuf], quiet: bool) -> Result<PathBuf, String> {
    let Some((name, version, arch)) = image_package(meta) else {
        return Err(format!(
            "the manifest names no kernel image package for it (packages: {})",
            if meta.packages.is_empty() {
                "none".to_string()
            } else {
                meta.packages.join(", ")
            }
        ));
    };
    let file = crate::fetch::package_file_name(&name, &version, &arch);
    for d in dirs {
        let p = d.join(&file);
        if p.is_file() {
            return Ok(p);
        }
    }
    if !quiet {
        eprintln!("depsurf: {}: {file} is not cached; downloading it", meta.id);
    }
    crate::fetch::download_exact(&name, &version, &arch, &dirs[0], quiet).map_err(|e| {
        format!("{name} {version} ({arch}) is not cached and cannot be fetched: {e:#}")
    })
}

/// What one boot gave, for one image.
struct Booted {
    run: ImageRun,
    verification: Option<Verification>,
}

pub fn run(args: &VerifyArgs, quiet: bool) -> Result<ExitCode> {
    if args.files.is_empty() && !args.record_helpers {
        bail!("nothing to verify: give eBPF objects (or --record-helpers)");
    }
    if args.record_helpers && args.dataset.dataset.is_none() {
        bail!(
            "--record-helpers writes the helper tables into a dataset's manifest, and the \
             built-in dataset has no directory: give one with --dataset DIR (for the bundled \
             dataset, --dataset datasets/bundled in a source tree)"
        );
    }
    if args.jobs == Some(0) {
        bail!("--jobs 0: at least one kernel must boot at a time");
    }
    if args.timeout == Some(0) {
        bail!("--timeout 0: a boot needs some time");
    }
    let ds = args.dataset.load()?;
    let selected = image_ids(&ds, &args.images)?;

    // Objects and their bytes, as check finds them.
    let mut objects: Vec<(BpfObject, Vec<u8>)> = Vec::new();
    for f in &args.files {
        objects.extend(crate::check_cmd::objects_with_bytes(f)?);
    }

    // Which images boot here.
    let mut runs: Vec<ImageRun> = Vec::new();
    let mut to_boot: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for id in &selected {
        let meta = ds.image(id).expect("selected from the dataset");
        let mut r = ImageRun {
            image: id.clone(),
            arch: meta.arch.clone(),
            status: ImageStatus::Verified,
            detail: None,
            package: None,
            kernel: None,
            accel: None,
            boot_s: None,
            total_s: None,
            from_cache: false,
            console_tail: Vec::new(),
            helpers_recorded: None,
            modules: Vec::new(),
        };
        match bootable(meta.arch.as_deref()) {
            Ok(()) => to_boot.push(id.clone()),
            Err(why) => {
                skipped.push(format!(
                    "{id} ({})",
                    meta.arch.as_deref().unwrap_or("unknown arch")
                ));
                r.status = ImageStatus::Skipped;
                r.detail = Some(why);
            }
        }
        runs.push(r);
    }
    if !skipped.is_empty() && !quiet {
        eprintln!(
            "depsurf: skipping {} image{} this machine cannot boot ({}): {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            if std::env::consts::ARCH == "x86_64" {
                "it boots amd64 kernels only; the guest is an x86-64 program"
            } else {
                "it boots x86-64 kernels on an x86-64 machine only"
            },
            skipped.join(", ")
        );
    }
    if to_boot.is_empty() {
        bail!(
            "nothing to verify: none of the selected images can boot on this machine ({})",
            skipped.join(", ")
        );
    }
    if !depsurf_verify::qemu::qemu_installed("x86_64") {
        bail!(
            "{} is not installed (Debian: apt-get install qemu-system-x86)",
            depsurf_verify::qemu::qemu_binary("x86_64")
        );
    }

    // Predictions (check reads the helper tables the dataset records).
    let copts = depsurf_check::Options {
        images: to_boot.clone(),
        programs: args.programs.clone(),
        ..Default::default()
    };
    let mut checks: Vec<ObjectCheck> = Vec::new();
    for (o, _) in &objects {
        checks.push(depsurf_check::check(&ds, o, &copts).map_err(|e| anyhow!("{}: {e}", o.name))?);
    }
    if !args.programs.is_empty() && !checks.iter().any(|c| c.programs.iter().any(|p| p.checked)) {
        bail!(
            "--program {}: no program of the objects has that name or matches it",
            args.programs.join(", --program ")
        );
    }
    let inputs: Vec<ObjectInput> = objects
        .iter()
        .zip(&checks)
        .map(|((o, bytes), c)| ObjectInput {
            name: o.name.clone(),
            bytes: bytes.clone(),
            programs: (!args.programs.is_empty()).then(|| {
                c.programs
                    .iter()
                    .filter(|p| p.checked)
                    .map(|p| p.program.name.clone())
                    .collect()
            }),
        })
        .collect();

    // Kernel packages, before any boot (downloads show their own progress).
    let dirs = package_dirs(args.cache.as_deref());
    let mut packages: BTreeMap<String, PathBuf> = BTreeMap::new();
    for r in runs
        .iter_mut()
        .filter(|r| r.status == ImageStatus::Verified)
    {
        let meta = ds.image(&r.image).expect("from the dataset");
        match find_package(meta, &dirs, quiet) {
            Ok(p) => {
                r.package = Some(p.display().to_string());
                packages.insert(r.image.clone(), p);
            }
            Err(why) => {
                if !quiet {
                    eprintln!("depsurf: {}: {why}", r.image);
                }
                r.status = ImageStatus::NoPackage;
                r.detail = Some(why);
            }
        }
    }

    let show = progress::enabled(quiet);
    let verifier = Verifier::new(Config::default(), &|msg| {
        if !quiet {
            eprintln!("depsurf: {msg}");
        }
    })
    .map_err(|e| anyhow!("{e}"))?;
    let options = Options {
        helper_table: args.record_helpers,
        timeout: args.timeout.map(Duration::from_secs),
        extra_kernel_args: args.kernel_args.clone(),
        modules: args.modules.clone(),
        cache: if args.no_cache {
            CachePolicy::Refresh
        } else {
            CachePolicy::Use
        },
        ..Options::default()
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let booted = boot_all(&verifier, &packages, &inputs, &options, jobs, show, quiet);
    let mut verifications: BTreeMap<String, Verification> = BTreeMap::new();
    for (id, b) in booted {
        if let Some(r) = runs.iter_mut().find(|r| r.image == id) {
            *r = ImageRun {
                helpers_recorded: None,
                ..b.run
            };
        }
        if let Some(v) = b.verification {
            verifications.insert(id, v);
        }
    }

    if args.record_helpers {
        record_helpers(args, &ds, &mut runs, &verifications, quiet)?;
    }

    let mut report = compare(
        &ds,
        &runs,
        &checks,
        &verifications,
        !args.programs.is_empty(),
    );
    // A table that could not be recorded fails the run too.
    report.held &= runs.iter().all(|r| r.helpers_recorded != Some(false));
    let text = match args.format {
        VerifyFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
        VerifyFormat::Md => markdown(&report),
        VerifyFormat::Term => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            terminal(&report, color)
        }
    };
    emit(text.as_bytes())?;
    Ok(if report.held {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Boots every image that has a package, `jobs` at a time.
fn boot_all(
    verifier: &Verifier,
    packages: &BTreeMap<String, PathBuf>,
    inputs: &[ObjectInput],
    options: &Options,
    jobs: usize,
    show: bool,
    quiet: bool,
) -> Vec<(String, Booted)> {
    let queue: Mutex<VecDeque<(&String, &PathBuf)>> = Mutex::new(packages.iter().collect());
    let done: Mutex<Vec<(String, Booted)>> = Mutex::new(Vec::new());
    let running: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let total = packages.len();
    let bar = show.then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {pos}/{len} kernels: {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let show_running = |running: &[String]| {
        if let Some(b) = &bar {
            b.set_message(if running.is_empty() {
                String::new()
            } else {
                format!("booting {}", running.join(", "))
            });
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.min(total.max(1)) {
            s.spawn(|| {
                loop {
                    let Some((id, pkg)) =
                        queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                    else {
                        break;
                    };
                    {
                        let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                        r.push(id.clone());
                        show_running(&r);
                    }
                    let start = Instant::now();
                    let b = boot_one(verifier, id, pkg, inputs, options);
                    let line = format!(
                        "{id}: {}{} ({:.1} s)",
                        b.run.status.words(),
                        if b.run.from_cache {
                            ", from the cache"
                        } else {
                            ""
                        },
                        start.elapsed().as_secs_f64()
                    );
                    {
                        let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                        r.retain(|x| x != id);
                        show_running(&r);
                    }
                    match &bar {
                        Some(bar) => {
                            bar.println(line);
                            bar.inc(1);
                        }
                        None if !quiet && b.run.status != ImageStatus::Verified => {
                            eprintln!("depsurf: {line}")
                        }
                        None => {}
                    }
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id.clone(), b));
                }
            });
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    done.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn boot_one(
    verifier: &Verifier,
    id: &str,
    pkg: &Path,
    inputs: &[ObjectInput],
    options: &Options,
) -> Booted {
    let mut run = ImageRun {
        image: id.to_string(),
        arch: Some("amd64".into()),
        status: ImageStatus::Verified,
        detail: None,
        package: Some(pkg.display().to_string()),
        kernel: None,
        accel: None,
        boot_s: None,
        total_s: None,
        from_cache: false,
        console_tail: Vec::new(),
        helpers_recorded: None,
        modules: Vec::new(),
    };
    let kernel = match verifier.kernel(pkg) {
        Ok(k) => k,
        Err(e) => {
            run.status = ImageStatus::Failed;
            run.detail = Some(format!("the kernel cannot be booted: {e}"));
            return Booted {
                run,
                verification: None,
            };
        }
    };
    let v = match verifier.run(&kernel, inputs, options) {
        Ok(v) => v,
        Err(e) => {
            run.status = ImageStatus::Failed;
            run.detail = Some(e.to_string());
            return Booted {
                run,
                verification: None,
            };
        }
    };
    run.kernel = v.kernel.as_ref().map(|k| k.release.clone());
    run.modules = v
        .modules
        .iter()
        .map(|m| {
            let step = format!("load module {}", m.path);
            match v.setup_problems.iter().find(|p| p.step == step) {
                Some(p) => format!("{}: {}", m.name, p.error),
                None => m.name.clone(),
            }
        })
        .collect();
    run.accel = Some(v.accel.name().to_string());
    run.boot_s = v.timings.boot_ms.map(|ms| ms as f64 / 1000.0);
    run.total_s = Some(v.timings.total_ms as f64 / 1000.0);
    run.from_cache = v.from_cache;
    run.status = match v.outcome {
        BootOutcome::Completed => ImageStatus::Verified,
        BootOutcome::TimedOut => ImageStatus::TimedOut,
        BootOutcome::KernelPanic => ImageStatus::KernelPanic,
        BootOutcome::Stopped => ImageStatus::Stopped,
    };
    if run.status != ImageStatus::Verified {
        run.console_tail = v.console_tail.iter().rev().take(8).rev().cloned().collect();
        run.detail = Some(match v.outcome {
            BootOutcome::TimedOut => format!(
                "the boot did not finish within its limit ({:.0} s){}",
                v.timings.total_ms as f64 / 1000.0,
                last_console_line(&v)
            ),
            BootOutcome::KernelPanic => format!(
                "the kernel panicked{}",
                v.console_tail
                    .iter()
                    .find(|l| l.contains("Kernel panic"))
                    .map(|l| format!(": {}", l.trim()))
                    .unwrap_or_default()
            ),
            _ => format!(
                "QEMU stopped before the guest finished{}",
                last_console_line(&v)
            ),
        });
    }
    Booted {
        run,
        verification: Some(v),
    }
}

fn last_console_line(v: &Verification) -> String {
    v.console_tail
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!("; last console line: {}", l.trim()))
        .unwrap_or_default()
}

/// Turns the guest's helper tables into the manifest's, and records them.
fn record_helpers(
    args: &VerifyArgs,
    ds: &Dataset,
    runs: &mut [ImageRun],
    verifications: &BTreeMap<String, Verification>,
    quiet: bool,
) -> Result<()> {
    let dir = args.dataset.dataset.as_ref().expect("checked above");
    let mut tables = BTreeMap::new();
    for r in runs.iter_mut() {
        if r.status == ImageStatus::Skipped {
            continue;
        }
        let Some(v) = verifications.get(&r.image) else {
            r.helpers_recorded = Some(false);
            continue;
        };
        match helper_table(ds, &r.image, v) {
            Ok(t) => {
                tables.insert(r.image.clone(), t);
                r.helpers_recorded = Some(true);
            }
            Err(why) => {
                if !quiet {
                    eprintln!("depsurf: {}: no helper table recorded: {why}", r.image);
                }
                r.helpers_recorded = Some(false);
                let d = r.detail.take();
                r.detail = Some(match d {
                    Some(d) => format!("{d}; no helper table: {why}"),
                    None => format!("no helper table: {why}"),
                });
            }
        }
    }
    if tables.is_empty() {
        if !quiet {
            eprintln!("depsurf: no helper table could be probed; nothing was recorded");
        }
        return Ok(());
    }
    depsurf_surface::dataset::set_helper_tables(dir, &tables).map_err(|e| anyhow!("{e}"))?;
    if !quiet {
        eprintln!(
            "depsurf: recorded the helper tables of {} image{} in {}",
            tables.len(),
            if tables.len() == 1 { "" } else { "s" },
            dir.join(depsurf_surface::dataset::MANIFEST_FILE).display()
        );
    }
    Ok(())
}

/// The manifest's helper table from what the guest probed on image `id`.
fn helper_table(ds: &Dataset, id: &str, v: &Verification) -> Result<HelperTable, String> {
    if v.outcome != BootOutcome::Completed {
        return Err("the boot did not complete".into());
    }
    let Some(h) = &v.helpers else {
        return Err("the guest sent no helper table".into());
    };
    if let Some(e) = &h.error {
        return Err(e.clone());
    }
    let kernel = v
        .kernel
        .as_ref()
        .map(|k| k.release.clone())
        .unwrap_or_default();
    let want = ds
        .image(id)
        .and_then(|m| m.release.clone())
        .unwrap_or_else(|| id.to_string());
    if kernel != want {
        return Err(format!(
            "the kernel booted says it is {kernel:?}, not {want:?}: not this image's kernel"
        ));
    }
    Ok(table_from_probe(h, kernel, today_utc()))
}

/// The manifest form of a probed table.
fn table_from_probe(h: &proto::HelperTable, kernel: String, date: String) -> HelperTable {
    let mut t = HelperTable {
        tool: format!("depsurf {} verify", env!("CARGO_PKG_VERSION")),
        libbpf: h.libbpf.clone().unwrap_or_default(),
        date,
        kernel,
        max_helper_id: h.max_helper_id,
        ..HelperTable::default()
    };
    for p in &h.prog_types {
        let name = p.name.to_ascii_uppercase();
        if p.error.is_some() {
            t.unprobed.push(name);
        } else if !p.supported {
            t.unsupported.push(name);
        } else {
            t.types
                .insert(name, p.helpers.iter().copied().collect::<HelperSet>());
        }
    }
    t.unprobed.sort();
    t.unsupported.sort();
    t
}

/// Today's date, UTC, as `YYYY-MM-DD`.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01, so that leap days end each 4-year cycle.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The line of a loader's log that says why it failed: the verifier's last words before
/// its statistics, else libbpf's first specific complaint.
pub fn key_line(log: &[String]) -> Option<String> {
    let end = log
        .iter()
        .position(|l| l.starts_with("processed ") && l.contains(" insns"));
    if let Some(end) = end {
        for l in log[..end].iter().rev() {
            let t = l.trim();
            if t.is_empty()
                || t.starts_with("verification time")
                || t.starts_with("stack depth")
                || t.starts_with("-- ")
                || t.starts_with("libbpf: ")
            {
                continue;
            }
            return Some(t.to_string());
        }
    }
    const GENERIC: [&str; 6] = [
        "failed to load object",
        "failed to load: -",
        "failed to prepare load attributes",
        "PROG LOAD LOG",
        "loading again",
        "failed to load BPF skeleton",
    ];
    log.iter()
        .map(|l| l.trim())
        .filter(|l| !GENERIC.iter().any(|g| l.contains(g)))
        .find(|l| {
            [
                "failed",
                "can't",
                "cannot",
                "not found",
                "unknown",
                "invalid",
                "unsupported",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .map(|l| l.strip_prefix("libbpf: ").unwrap_or(l).to_string())
}

fn reason_words(r: Reason) -> &'static str {
    match r {
        Reason::LoadFailed => "the load failed",
        Reason::NeedsTarget => "needs a target the tool chooses",
        Reason::TargetSetAtRunTime => "its attach target is set at run time",
        Reason::RunsOnDemand => "runs on demand",
        Reason::NoAutoAttach => "libbpf has no automatic attachment for its section",
        Reason::NotReached => "not reached",
    }
}

/// A program's outcome from its record.
fn outcome_of(r: &ProgramRecord) -> ProgramOutcome {
    let mut o = ProgramOutcome {
        outcome: Outcome::NoResult,
        load: String::new(),
        attach: String::new(),
        errno: None,
        events: r.events,
        object_wide: Vec::new(),
        reasons: Vec::new(),
    };
    let said = key_line(&r.log);
    let push = |o: &mut ProgramOutcome, s: String| {
        if !o.reasons.contains(&s) {
            o.reasons.push(s);
        }
    };
    match &r.load {
        Load::Ok => o.load = "ok".into(),
        Load::Error { errno, message } => {
            o.load = "error".into();
            o.errno = *errno;
            o.outcome = Outcome::Fails;
            if let Some(l) = &said {
                push(&mut o, l.clone());
            }
            push(&mut o, format!("load: {message}"));
        }
        Load::Died(d) => {
            o.load = "died".into();
            o.outcome = Outcome::Fails;
            push(&mut o, format!("the loader died during the load: {d}"));
        }
        Load::Skipped { reason } => {
            o.load = format!("not loaded: {}", reason_words(*reason));
            o.outcome = match reason {
                Reason::NotReached => Outcome::NoResult,
                _ => Outcome::NotApplicable,
            };
        }
    }
    match &r.attach {
        Attach::Ok => {
            o.attach = "ok".into();
            if r.load == Load::Ok {
                o.outcome = Outcome::Loads;
            }
        }
        Attach::Error { errno, message } => {
            o.attach = "error".into();
            o.errno = *errno;
            o.outcome = Outcome::Fails;
            if let Some(l) = &said {
                push(&mut o, l.clone());
            }
            push(&mut o, format!("attach: {message}"));
        }
        Attach::Died(d) => {
            o.attach = "died".into();
            o.outcome = Outcome::Fails;
            push(&mut o, format!("the loader died attaching: {d}"));
        }
        Attach::NotAttached { reason } => {
            o.attach = format!("not attached: {}", reason_words(*reason));
            if r.load == Load::Ok {
                o.outcome = match reason {
                    Reason::TargetSetAtRunTime => Outcome::NotApplicable,
                    Reason::NotReached => Outcome::NoResult,
                    _ => Outcome::Loads,
                };
            }
        }
    }
    if let Some(d) = &r.workload_died {
        push(&mut o, format!("the loader died during the workload: {d}"));
    }
    for m in &r.maps_not_created {
        o.object_wide.push(format!(
            "map '{m}' cannot be created (libbpf creates every map)"
        ));
    }
    for f in &r.externs_weakened {
        o.object_wide.push(format!(
            "kernel function '{f}' is missing (libbpf resolves every extern)"
        ));
    }
    if !o.object_wide.is_empty() && o.outcome != Outcome::NoResult {
        o.outcome = Outcome::Fails;
        if o.reasons.is_empty() {
            o.reasons.push(format!(
                "loaded alone, but a libbpf load of the whole object fails: {}",
                o.object_wide.join("; ")
            ));
        }
    }
    o
}

struct ProgramOutcome {
    outcome: Outcome,
    load: String,
    attach: String,
    errno: Option<i32>,
    events: Option<u64>,
    object_wide: Vec<String>,
    reasons: Vec<String>,
}

fn agreement(prediction: &str, outcome: Outcome) -> Agreement {
    match outcome {
        Outcome::NotApplicable => Agreement::NotApplicable,
        Outcome::NoResult => Agreement::NoResult,
        _ if prediction.is_empty() || prediction == "none" => Agreement::NotApplicable,
        Outcome::Fails if prediction == "fails" => Agreement::Agrees,
        Outcome::Loads if prediction != "fails" => Agreement::Agrees,
        _ => Agreement::Disagrees,
    }
}

/// Compares the predictions with what the kernels did.
fn compare(
    ds: &Dataset,
    runs: &[ImageRun],
    checks: &[ObjectCheck],
    verifications: &BTreeMap<String, Verification>,
    chosen: bool,
) -> Report {
    let attempted: Vec<&ImageRun> = runs
        .iter()
        .filter(|r| r.status != ImageStatus::Skipped)
        .collect();
    let mut counts = Counts {
        images_verified: runs
            .iter()
            .filter(|r| r.status == ImageStatus::Verified)
            .count(),
        images_not_verified: attempted
            .iter()
            .filter(|r| r.status != ImageStatus::Verified)
            .count(),
        images_skipped: runs.len() - attempted.len(),
        ..Counts::default()
    };
    let mut objects = Vec::new();
    for (oi, c) in checks.iter().enumerate() {
        let mut programs = Vec::new();
        // Per image: each checked program's outcome, for the object's verdict.
        let mut per_image: BTreeMap<&str, Vec<(usize, Outcome)>> = BTreeMap::new();
        for (pi, pc) in c.programs.iter().enumerate() {
            if !pc.checked {
                continue;
            }
            let mut cells = Vec::new();
            for r in &attempted {
                let id = r.image.as_str();
                let predicted = pc.verdicts.iter().find(|v| v.image == id);
                let prediction =
                    predicted.map_or_else(|| "none".to_string(), |v| v.verdict.clone());
                let v = verifications.get(id);
                let result = v.and_then(|v| v.objects.get(oi));
                let rec =
                    result.and_then(|o| o.programs.iter().find(|p| p.name == pc.program.name));
                let po = match (result, rec) {
                    (_, Some(rec)) => outcome_of(rec),
                    (Some(o), None) if o.error.is_some() => {
                        let e = o.error.as_ref().expect("checked");
                        let mut reasons = Vec::new();
                        if let Some(l) = key_line(&e.log) {
                            reasons.push(l);
                        }
                        reasons.push(format!("libbpf cannot open the object: {}", e.message));
                        ProgramOutcome {
                            outcome: Outcome::Fails,
                            load: "error".into(),
                            attach: "not attached: the load failed".into(),
                            errno: e.errno,
                            events: None,
                            object_wide: vec![format!(
                                "the object cannot be opened: {}",
                                e.message
                            )],
                            reasons,
                        }
                    }
                    _ => ProgramOutcome {
                        outcome: Outcome::NoResult,
                        load: String::new(),
                        attach: String::new(),
                        errno: None,
                        events: None,
                        object_wide: Vec::new(),
                        reasons: match &r.detail {
                            Some(d) if r.status != ImageStatus::Verified => vec![d.clone()],
                            _ => vec!["the guest reported nothing for this program".into()],
                        },
                    },
                };
                let a = agreement(&prediction, po.outcome);
                match a {
                    Agreement::Agrees => {
                        counts.compared += 1;
                        counts.agree += 1;
                    }
                    Agreement::Disagrees => {
                        counts.compared += 1;
                        counts.disagree += 1;
                    }
                    Agreement::NotApplicable => counts.not_applicable += 1,
                    Agreement::NoResult => counts.no_result += 1,
                }
                per_image.entry(id).or_default().push((pi, po.outcome));
                cells.push(ProgramCell {
                    image: id.to_string(),
                    prediction,
                    predicted_because: predicted.map(|v| v.because.clone()).unwrap_or_default(),
                    outcome: po.outcome,
                    load: po.load,
                    attach: po.attach,
                    errno: po.errno,
                    events: po.events,
                    object_wide: po.object_wide,
                    agreement: a,
                    reasons: po.reasons,
                });
            }
            programs.push(ProgramReport {
                name: pc.program.name.clone(),
                section: pc.program.section.clone(),
                prog_type: pc.program.prog_type.map(str::to_string),
                images: cells,
            });
        }

        // The object as its loader loads it.
        let mut verdicts = Vec::new();
        for r in &attempted {
            let id = r.image.as_str();
            let Some(pred) = c.verdicts.iter().find(|v| v.image == id) else {
                continue;
            };
            let outcomes = per_image.get(id).cloned().unwrap_or_default();
            let loaded_by_default = |pi: usize| {
                let p = &c.programs[pi];
                p.checked && (chosen || p.program.autoload)
            };
            let mine: Vec<&(usize, Outcome)> = outcomes
                .iter()
                .filter(|(pi, _)| loaded_by_default(*pi))
                .collect();
            let whole: BTreeSet<String> = c
                .programs
                .iter()
                .enumerate()
                .filter(|(pi, _)| c.programs[*pi].checked)
                .flat_map(|(pi, _)| {
                    let v = verifications.get(id);
                    let o = v.and_then(|v| v.objects.get(oi));
                    let name = &c.programs[pi].program.name;
                    o.and_then(|o| o.programs.iter().find(|p| &p.name == name))
                        .map(|rec| outcome_of(rec).object_wide)
                        .unwrap_or_default()
                })
                .collect();
            let failing: Vec<usize> = mine
                .iter()
                .filter(|(_, o)| *o == Outcome::Fails)
                .map(|(pi, _)| *pi)
                .collect();
            let unknown = mine.iter().any(|(_, o)| *o == Outcome::NoResult);
            let loading = |pi: usize| {
                outcomes
                    .iter()
                    .any(|(q, o)| *q == pi && *o == Outcome::Loads)
            };
            let name = |pi: usize| c.programs[pi].program.name.clone();
            let covered = !failing.is_empty()
                && whole.is_empty()
                && failing.iter().all(|&pi| {
                    c.alternatives.iter().any(|g| {
                        g.contains(&name(pi))
                            && g.iter().any(|n| {
                                c.programs
                                    .iter()
                                    .position(|p| &p.program.name == n)
                                    .is_some_and(loading)
                            })
                    })
                });
            let outcome = if !whole.is_empty() || (!failing.is_empty() && !covered) {
                "fails"
            } else if unknown {
                "no result"
            } else if failing.is_empty() {
                "loads"
            } else {
                "loads with alternatives"
            };
            let predicted_kind = match pred.verdict.as_str() {
                "fails" => "fails",
                "loads with alternatives" => "loads with alternatives",
                _ => "loads",
            };
            let failed_names: BTreeSet<String> = failing.iter().map(|&pi| name(pi)).collect();
            let agreement = if outcome == "no result" {
                Agreement::NoResult
            } else if predicted_kind != outcome {
                Agreement::Disagrees
            } else if outcome == "loads with alternatives" {
                let turn_off: BTreeSet<String> = pred.turn_off.iter().cloned().collect();
                if turn_off == failed_names {
                    Agreement::Agrees
                } else {
                    Agreement::Disagrees
                }
            } else {
                Agreement::Agrees
            };
            counts.objects_compared += usize::from(agreement != Agreement::NoResult);
            counts.objects_disagree += usize::from(agreement == Agreement::Disagrees);
            let mut failed: Vec<String> = failed_names.into_iter().collect();
            failed.extend(whole);
            verdicts.push(ObjectCell {
                image: id.to_string(),
                prediction: pred.verdict.clone(),
                turn_off: pred.turn_off.clone(),
                outcome: outcome.to_string(),
                failed,
                agreement,
            });
        }
        objects.push(ObjectReport {
            object: c.object.clone(),
            programs,
            verdicts,
        });
    }
    let held = counts.disagree == 0
        && counts.no_result == 0
        && counts.objects_disagree == 0
        && counts.images_not_verified == 0;
    Report {
        schema: SCHEMA,
        tool: format!("depsurf {}", env!("CARGO_PKG_VERSION")),
        dataset: dataset_name(ds),
        images: runs.to_vec(),
        objects,
        summary: counts,
        held,
    }
}

/// The objects of a report `--format json` wrote, as `depsurf site --verified` reads them
/// back.
#[derive(Deserialize)]
struct SavedReport {
    schema: u32,
    dataset: String,
    objects: Vec<ObjectReport>,
}

/// Reads a report `depsurf verify --format json` wrote, and turns each object's results
/// into the marks of its check page, by object name. `dataset` is the dataset the site
/// shows, named as reports name it: a report of another dataset is refused.
pub fn read_booted(
    path: &Path,
    dataset: &Dataset,
) -> Result<BTreeMap<String, depsurf_site::Booted>> {
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let r: SavedReport = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{}: not a report of depsurf verify --format json: {e}",
            path.display()
        )
    })?;
    if r.schema != SCHEMA {
        bail!(
            "{}: a depsurf verify report of schema {}, this depsurf reads schema {SCHEMA}",
            path.display(),
            r.schema
        );
    }
    if r.dataset != dataset_name(dataset) {
        bail!(
            "{}: verified against dataset {:?}, not {:?}",
            path.display(),
            r.dataset,
            dataset_name(dataset)
        );
    }
    let mut out = BTreeMap::new();
    for o in r.objects {
        let mut b = depsurf_site::Booted::default();
        for p in &o.programs {
            for c in &p.images {
                let cell = depsurf_site::BootedCell {
                    outcome: serde_json::to_value(c.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    agrees: c.agreement.held(),
                    detail: program_detail(c),
                };
                b.0.insert((p.name.clone(), c.image.clone()), cell);
            }
        }
        for c in &o.verdicts {
            let mut detail = c.outcome.clone();
            if !c.failed.is_empty() {
                detail.push_str(&format!(" ({} failed)", c.failed.join(", ")));
            }
            let cell = depsurf_site::BootedCell {
                outcome: c.outcome.clone(),
                agrees: c.agreement.held(),
                detail,
            };
            b.0.insert(("object".into(), c.image.clone()), cell);
        }
        out.insert(o.object, b);
    }
    Ok(out)
}

/// What the kernel did with one program, in words.
fn program_detail(c: &ProgramCell) -> String {
    // Steps read `ok`, `error`, `died` or already say it (`not attached: ...`).
    let step = |name: &str, s: &str| {
        if s.starts_with("not ") {
            s.to_string()
        } else {
            format!("{name} {s}")
        }
    };
    let mut parts = vec![step("load", &c.load), step("attach", &c.attach)];
    if let Some(e) = c.events {
        parts.push(format!("ran {e} times in the workload"));
    }
    parts.extend(c.object_wide.iter().cloned());
    parts.extend(c.reasons.iter().take(1).cloned());
    parts.retain(|p| !p.ends_with(' '));
    parts.join("; ")
}

/// The dataset's name in reports: its manifest's name, else its directory.
fn dataset_name(ds: &Dataset) -> String {
    if ds.manifest.name.is_empty() {
        ds.dir
            .as_ref()
            .map_or_else(|| "bundled".into(), |d| d.display().to_string())
    } else {
        ds.manifest.name.clone()
    }
}

/// A verdict in one or two letters for the tables.
fn code(verdict: &str) -> &'static str {
    match verdict {
        "loads" => "L",
        "loads with stray reads" => "S",
        "loads, misses calls" => "M",
        "loads with stray reads and missed calls" => "SM",
        "loads with alternatives" => "A",
        "fails" => "F",
        _ => "?",
    }
}

fn outcome_code(o: Outcome) -> &'static str {
    match o {
        Outcome::Loads => "L",
        Outcome::Fails => "F",
        Outcome::NotApplicable => "-",
        Outcome::NoResult => "?",
    }
}

fn cell_text(c: &ProgramCell) -> String {
    let mut s = format!("{}/{}", code(&c.prediction), outcome_code(c.outcome));
    if let Some(e) = c.events {
        s.push_str(&format!(" ({e})"));
    }
    if c.agreement == Agreement::Disagrees {
        s.push('!');
    }
    s
}

fn object_cell_text(c: &ObjectCell) -> String {
    let actual = match c.outcome.as_str() {
        "no result" => "?",
        o => code(o),
    };
    let mut s = format!("{}/{actual}", code(&c.prediction));
    if c.agreement == Agreement::Disagrees {
        s.push('!');
    }
    s
}

/// Image ids without the suffix they all share (`-amd64`), for column headers.
fn short_ids(ids: &[&str]) -> (Vec<String>, String) {
    let suffix = "-amd64";
    if !ids.is_empty() && ids.iter().all(|i| i.ends_with(suffix)) {
        (
            ids.iter()
                .map(|i| i.trim_end_matches(suffix).to_string())
                .collect(),
            suffix.trim_start_matches('-').to_string(),
        )
    } else {
        (ids.iter().map(|i| i.to_string()).collect(), String::new())
    }
}

const LEGEND: &str = "cell: predicted/actual. Predicted (depsurf check): L loads, S loads with \
                      stray reads, M loads but misses calls, SM both, A loads with alternatives, F \
                      fails. Actual: L loaded and attached (or not attached by design), F failed \
                      (load, attach, or what libbpf needs for the whole object), - tells nothing \
                      (target set at run time), ? no result. (n): times the program ran in the \
                      workload. ! marks a disagreement. Stray reads and missed calls cannot be \
                      observed.";

/// The terminal report: images, then a table per object, failures and disagreements.
pub fn terminal(r: &Report, color: bool) -> String {
    let paint = |s: &str, code: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    out.push_str(&format!("depsurf verify on dataset {}\n", r.dataset));
    let idw = r.images.iter().map(|i| i.image.len()).max().unwrap_or(5);
    for i in &r.images {
        let mut line = format!("  {:idw$}  {}", i.image, i.status.words());
        if i.status == ImageStatus::Verified {
            if i.from_cache {
                line.push_str(" (cached result)");
            } else if let (Some(b), Some(t)) = (i.boot_s, i.total_s) {
                line.push_str(&format!(
                    ": boot {b:.1} s, total {t:.1} s ({})",
                    i.accel.as_deref().unwrap_or("?")
                ));
            }
            if i.helpers_recorded == Some(true) {
                line.push_str(", helper table recorded");
            }
            if !i.modules.is_empty() {
                line.push_str(&format!("; modules: {}", i.modules.join(", ")));
            }
        }
        if let Some(d) = &i.detail {
            line.push_str(&format!(": {d}"));
        }
        if !matches!(i.status, ImageStatus::Verified | ImageStatus::Skipped) {
            line = paint(&line, "1;31");
        }
        out.push_str(&line);
        out.push('\n');
    }
    let ids: Vec<&str> = r
        .images
        .iter()
        .filter(|i| i.status != ImageStatus::Skipped)
        .map(|i| i.image.as_str())
        .collect();
    let (heads, suffix) = short_ids(&ids);
    out.push('\n');
    out.push_str(&wrap(LEGEND, 100));
    for o in &r.objects {
        out.push('\n');
        out.push_str(&format!(
            "{}{}\n",
            paint(&o.object, "1"),
            if suffix.is_empty() {
                String::new()
            } else {
                format!(" ({suffix} images)")
            }
        ));
        let namew = o
            .programs
            .iter()
            .map(|p| p.name.len())
            .chain(["(object)".len()])
            .max()
            .unwrap_or(8);
        let widths: Vec<usize> = heads
            .iter()
            .enumerate()
            .map(|(k, h)| {
                o.programs
                    .iter()
                    .filter_map(|p| p.images.get(k))
                    .map(|c| cell_text(c).len())
                    .chain([h.len(), 5])
                    .max()
                    .unwrap_or(5)
            })
            .collect();
        out.push_str(&format!("  {:namew$}", ""));
        for (h, w) in heads.iter().zip(&widths) {
            out.push_str(&format!("  {h:w$}"));
        }
        out.push('\n');
        let mut rows: Vec<(String, Vec<(String, bool)>)> = Vec::new();
        for p in &o.programs {
            rows.push((
                p.name.clone(),
                p.images
                    .iter()
                    .map(|c| (cell_text(c), c.agreement == Agreement::Disagrees))
                    .collect(),
            ));
        }
        rows.push((
            "(object)".into(),
            ids.iter()
                .map(|id| {
                    o.verdicts
                        .iter()
                        .find(|v| v.image == *id)
                        .map_or(("".into(), false), |v| {
                            (object_cell_text(v), v.agreement == Agreement::Disagrees)
                        })
                })
                .collect(),
        ));
        for (name, cells) in rows {
            out.push_str(&format!("  {name:namew$}"));
            for ((t, bad), w) in cells.iter().zip(&widths) {
                let padded = format!("{t:w$}");
                out.push_str("  ");
                out.push_str(&if *bad { paint(&padded, "1;31") } else { padded });
            }
            out.push('\n');
        }
        let fails = failure_lines(o);
        if !fails.is_empty() {
            out.push_str("  why programs failed:\n");
            for l in fails {
                out.push_str(&format!("    {l}\n"));
            }
        }
        let dis = disagreement_lines(o);
        if !dis.is_empty() {
            out.push_str(&paint("  disagreements:", "1;31"));
            out.push('\n');
            for l in dis {
                out.push_str(&format!("    {l}\n"));
            }
        }
    }
    let s = &r.summary;
    out.push('\n');
    let verdict = format!(
        "{} of {} program results agree with depsurf check, {} disagree ({} tell nothing, {} \
         without result); objects: {} compared, {} disagree; images: {} verified, {} not \
         verified, {} skipped",
        s.agree,
        s.compared,
        s.disagree,
        s.not_applicable,
        s.no_result,
        s.objects_compared,
        s.objects_disagree,
        s.images_verified,
        s.images_not_verified,
        s.images_skipped
    );
    out.push_str(&if r.held {
        paint(&verdict, "32")
    } else {
        paint(&verdict, "1;31")
    });
    out.push('\n');
    out
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + w.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Per failing program, the line that matters and the images it was seen on.
fn failure_lines(o: &ObjectReport) -> Vec<String> {
    let mut out = Vec::new();
    for p in &o.programs {
        let mut by_reason: Vec<(String, Vec<&str>)> = Vec::new();
        for c in p.images.iter().filter(|c| c.outcome == Outcome::Fails) {
            let why = c
                .reasons
                .first()
                .cloned()
                .unwrap_or_else(|| "failed".into());
            match by_reason.iter_mut().find(|(r, _)| *r == why) {
                Some((_, ims)) => ims.push(&c.image),
                None => by_reason.push((why, vec![&c.image])),
            }
        }
        for (why, ims) in by_reason {
            out.push(format!("{} on {}: {why}", p.name, ims.join(", ")));
        }
    }
    out
}

fn disagreement_lines(o: &ObjectReport) -> Vec<String> {
    let mut out = Vec::new();
    for p in &o.programs {
        for c in p
            .images
            .iter()
            .filter(|c| c.agreement == Agreement::Disagrees)
        {
            let mut l = format!("{} on {}: predicted {}", p.name, c.image, c.prediction);
            if !c.predicted_because.is_empty() {
                l.push_str(&format!(" ({})", c.predicted_because.join("; ")));
            }
            l.push_str(&format!(
                ", but it {}",
                match c.outcome {
                    Outcome::Loads => format!("loaded (load {}, attach {})", c.load, c.attach),
                    Outcome::Fails => format!(
                        "failed: {}",
                        c.reasons
                            .iter()
                            .chain(&c.object_wide)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    _ => "gave no result".into(),
                }
            ));
            out.push(l);
        }
    }
    for v in o
        .verdicts
        .iter()
        .filter(|v| v.agreement == Agreement::Disagrees)
    {
        let mut l = format!("the object on {}: predicted {}", v.image, v.prediction);
        if !v.turn_off.is_empty() {
            l.push_str(&format!(" (turning off {})", v.turn_off.join(", ")));
        }
        l.push_str(&format!(", but it {}", v.outcome));
        if !v.failed.is_empty() {
            l.push_str(&format!(" (failed: {})", v.failed.join("; ")));
        }
        out.push(l);
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The Markdown report: the images, then per object a table and its lists.
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    out.push_str("| image | status | boot s | total s | detail |\n|---|---|---|---|---|\n");
    for i in &r.images {
        let f = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:.1}"));
        out.push_str(&format!(
            "| {} | {}{} | {} | {} | {} |\n",
            i.image,
            i.status.words(),
            if i.from_cache { " (cached)" } else { "" },
            f(i.boot_s),
            f(i.total_s),
            md_escape(i.detail.as_deref().unwrap_or(""))
        ));
    }
    out.push('\n');
    out.push_str(LEGEND);
    out.push('\n');
    let ids: Vec<&str> = r
        .images
        .iter()
        .filter(|i| i.status != ImageStatus::Skipped)
        .map(|i| i.image.as_str())
        .collect();
    let (heads, suffix) = short_ids(&ids);
    // One table: each object's row (its verdict as its loader loads it), then its programs'.
    out.push_str(&format!(
        "\n| object, program{} |",
        if suffix.is_empty() {
            String::new()
        } else {
            format!(" ({suffix} images)")
        }
    ));
    for h in &heads {
        out.push_str(&format!(" {h} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(heads.len()));
    out.push('\n');
    let mark = |t: String, bad: bool| {
        if bad {
            format!(" **{t}** |")
        } else {
            format!(" {t} |")
        }
    };
    for o in &r.objects {
        out.push_str(&format!("| **{}** |", md_escape(short_object(&o.object))));
        for id in &ids {
            match o.verdicts.iter().find(|v| v.image == *id) {
                Some(v) => out.push_str(&mark(
                    object_cell_text(v),
                    v.agreement == Agreement::Disagrees,
                )),
                None => out.push_str("  |"),
            }
        }
        out.push('\n');
        for p in &o.programs {
            out.push_str(&format!("| {} |", p.name));
            for c in &p.images {
                out.push_str(&mark(cell_text(c), c.agreement == Agreement::Disagrees));
            }
            out.push('\n');
        }
    }
    for (title, lines) in [
        (
            "Why programs failed",
            failure_lines as fn(&ObjectReport) -> Vec<String>,
        ),
        ("Disagreements", disagreement_lines),
    ] {
        let all: Vec<String> = r
            .objects
            .iter()
            .flat_map(|o| {
                lines(o)
                    .into_iter()
                    .map(move |l| format!("{}: {l}", short_object(&o.object)))
            })
            .collect();
        if !all.is_empty() {
            out.push_str(&format!("\n{title}:\n\n"));
            for l in all {
                out.push_str(&format!("- {}\n", md_code(&l)));
            }
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "\n{} of {} program results agree, {} disagree ({} tell nothing, {} without result); \
         objects: {} compared, {} disagree; images: {} verified, {} not verified, {} skipped.\n",
        s.agree,
        s.compared,
        s.disagree,
        s.not_applicable,
        s.no_result,
        s.objects_compared,
        s.objects_disagree,
        s.images_verified,
        s.images_not_verified,
        s.images_skipped
    ));
    out
}

/// An object's name without the directories of the file it came from.
fn short_object(name: &str) -> &str {
    let file_end = name.find([':', '@', ' ']).unwrap_or(name.len());
    match name[..file_end].rfind('/') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// A list line with libbpf's quotes and underscores kept literal.
fn md_code(l: &str) -> String {
    // `object: program on images: what the loader said`
    let split = l
        .match_indices(": ")
        .nth(1)
        .map(|(i, _)| (&l[..i], &l[i + 2..]));
    match split {
        Some((head, rest)) => format!("{}: `{}`", md_escape(head), rest.replace('`', "'")),
        None => md_escape(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_lose_their_directories() {
        assert_eq!(
            short_object("/tmp/o/core_fields.bpf.o"),
            "core_fields.bpf.o"
        );
        assert_eq!(short_object("x.bpf.o"), "x.bpf.o");
        assert_eq!(
            short_object("/p/tool_1.0_amd64.deb:usr/sbin/tool@0x1a0 [a, b]"),
            "tool_1.0_amd64.deb:usr/sbin/tool@0x1a0 [a, b]"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_574), (2026, 5, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_line_that_matters() {
        let verifier = lines(&[
            "libbpf: prog 'rstat_on_mkdir': BPF program load failed: Invalid argument",
            "-- BEGIN PROG LOAD LOG --",
            "0: R1=ctx() R10=fp0",
            "kfunc 'cgroup_rstat_updated' is referenced but wasn't resolved",
            "processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0",
            "-- END PROG LOAD LOG --",
            "libbpf: prog 'rstat_on_mkdir': failed to load: -EINVAL",
            "libbpf: failed to load object '/objects/0.bpf.o'",
        ]);
        assert_eq!(
            key_line(&verifier).as_deref(),
            Some("kfunc 'cgroup_rstat_updated' is referenced but wasn't resolved")
        );
        let libbpf = lines(&[
            "libbpf: prog 'fexit_absent': failed to find kernel BTF type ID of '__kmalloc': -ESRCH",
            "libbpf: prog 'fexit_absent': failed to prepare load attributes: -ESRCH",
            "libbpf: prog 'fexit_absent': failed to load: -ESRCH",
            "libbpf: failed to load object '/objects/1.bpf.o'",
        ]);
        assert_eq!(
            key_line(&libbpf).as_deref(),
            Some("prog 'fexit_absent': failed to find kernel BTF type ID of '__kmalloc': -ESRCH")
        );
        assert_eq!(key_line(&lines(&["libbpf: loaded fine"])), None);
    }

    fn record(load: Load, attach: Attach) -> ProgramRecord {
        ProgramRecord {
            object: 0,
            name: "p".into(),
            section: "kprobe/x".into(),
            prog_type: "kprobe".into(),
            load,
            attach,
            events: None,
            run_time_ns: None,
            workload_died: None,
            maps_resized: Vec::new(),
            maps_not_created: Vec::new(),
            externs_weakened: Vec::new(),
            log: Vec::new(),
            ms: 0,
        }
    }

    #[test]
    fn outcomes_and_agreement() {
        let ok = record(Load::Ok, Attach::Ok);
        assert_eq!(outcome_of(&ok).outcome, Outcome::Loads);
        assert_eq!(
            agreement("loads, misses calls", Outcome::Loads),
            Agreement::Agrees
        );
        assert_eq!(agreement("fails", Outcome::Loads), Agreement::Disagrees);
        let attach_failed = record(
            Load::Ok,
            Attach::Error {
                errno: Some(2),
                message: "No such file or directory".into(),
            },
        );
        assert_eq!(outcome_of(&attach_failed).outcome, Outcome::Fails);
        assert_eq!(agreement("fails", Outcome::Fails), Agreement::Agrees);
        assert_eq!(agreement("loads", Outcome::Fails), Agreement::Disagrees);
        let needs_target = record(
            Load::Ok,
            Attach::NotAttached {
                reason: Reason::NeedsTarget,
            },
        );
        assert_eq!(outcome_of(&needs_target).outcome, Outcome::Loads);
        let run_time = record(
            Load::Ok,
            Attach::NotAttached {
                reason: Reason::TargetSetAtRunTime,
            },
        );
        assert_eq!(outcome_of(&run_time).outcome, Outcome::NotApplicable);
        assert_eq!(
            agreement("fails", Outcome::NotApplicable),
            Agreement::NotApplicable
        );
        let mut weakened = record(Load::Ok, Attach::Ok);
        weakened.externs_weakened.push("bpf_task_acquire".into());
        let o = outcome_of(&weakened);
        assert_eq!(o.outcome, Outcome::Fails);
        assert!(o.reasons[0].contains("bpf_task_acquire"), "{:?}", o.reasons);
        let died = record(
            Load::Died(proto::Died {
                signal: Some(6),
                ..Default::default()
            }),
            Attach::NotAttached {
                reason: Reason::NotReached,
            },
        );
        let o = outcome_of(&died);
        assert_eq!(o.outcome, Outcome::Fails);
        assert!(o.reasons[0].contains("signal 6"), "{:?}", o.reasons);
    }

    #[test]
    fn probed_tables_become_manifest_tables() {
        let h = proto::HelperTable {
            max_helper_id: 212,
            helper_names: Vec::new(),
            prog_types: vec![
                proto::ProgTypeHelpers {
                    id: 2,
                    name: "kprobe".into(),
                    supported: true,
                    helpers: vec![1, 2, 3, 5],
                    error: None,
                },
                proto::ProgTypeHelpers {
                    id: 26,
                    name: "tracing".into(),
                    supported: true,
                    helpers: Vec::new(),
                    error: Some("libbpf cannot probe helpers for this type".into()),
                },
                proto::ProgTypeHelpers {
                    id: 16,
                    name: "lirc_mode2".into(),
                    supported: false,
                    helpers: Vec::new(),
                    error: None,
                },
            ],
            ms: 10,
            error: None,
            libbpf: Some("1.7".into()),
        };
        let t = table_from_probe(&h, "6.1.0-47-amd64".into(), "2026-05-02".into());
        assert_eq!(t.types["KPROBE"].to_string(), "1-3,5");
        assert_eq!(t.unprobed, ["TRACING"]);
        assert_eq!(t.unsupported, ["LIRC_MODE2"]);
        assert_eq!(t.libbpf, "1.7");
        assert_eq!(t.allows("kprobe", 4), Some(false));
        assert_eq!(t.allows("tracing", 4), None);
    }

    #[test]
    fn package_names() {
        let meta = |release: &str, packages: &[&str]| ImageMeta {
            id: release.into(),
            release: Some(release.into()),
            packages: packages.iter().map(|s| s.to_string()).collect(),
            ..ImageMeta::default()
        };
        let m = meta(
            "6.1.0-47-amd64",
            &[
                "linux-image-6.1.0-47-amd64-dbg 6.1.170-3 amd64",
                "linux-image-6.1.0-47-amd64-unsigned 6.1.170-3 amd64",
            ],
        );
        assert_eq!(
            image_package(&m),
            Some((
                "linux-image-6.1.0-47-amd64-unsigned".into(),
                "6.1.170-3".into(),
                "amd64".into()
            ))
        );
        let m = meta(
            "7.2.13+deb14-amd64",
            &[
                "linux-image-7.2.13+deb14-amd64-dbg 7.2.13-1 amd64",
                "linux-binary-7.2.13+deb14-amd64 7.2.13-1 amd64",
                "linux-base-7.2.13+deb14-amd64 7.2.13-1 amd64",
            ],
        );
        assert_eq!(
            image_package(&m).map(|p| p.0),
            Some("linux-binary-7.2.13+deb14-amd64".into())
        );
        let m = meta(
            "6.1.0-47-amd64",
            &["linux-image-6.1.0-47-amd64-dbg 6.1.170-3 amd64"],
        );
        assert_eq!(image_package(&m), None);
    }
}
